import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ForgeUserError } from './errors.js';

/**
 * Plugins: npm packages named `generator-fastapi-forge-<name>` that add a feature through the public
 * contribution API (docs/contributions.md). Each is a Yeoman generator package of its own, so `yo
 * fastapi-forge-<name>` runs it as Yeoman finds it; `fastapi-forge add <name>` finds it with
 * {@link findPlugin}. A project records the plugins it uses in `.yo-rc.json` (`plugins`), and every later
 * run composes them after the generators of this package.
 */

export const PLUGIN_PREFIX = 'generator-fastapi-forge-';

/** The folders, inside a package, where Yeoman looks for its generators; a plugin's is `<folder>/app`. */
const GENERATOR_FOLDERS = ['generators', 'dist/generators', 'lib/generators', '.'];

/** A plugin's name is the rest of its package name: lowercase words joined by hyphens. */
const PLUGIN_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export const isPluginName = (name: string): boolean => PLUGIN_NAME.test(name);

/** The Yeoman namespace of a plugin's generator (its package's `app` generator). */
export const pluginNamespace = (name: string): string => `fastapi-forge-${name}:app`;

/** The plugin a Yeoman namespace belongs to, or undefined for a generator of this package or another. */
export function pluginOfNamespace(namespace: string): string | undefined {
  const match = /^fastapi-forge-([a-z0-9-]+):app$/.exec(namespace);
  return match?.[1];
}

/** Checks the `plugins` of a stored config: a list of distinct plugin names. */
export function validateStoredPlugins(plugins: unknown, file: string): void {
  if (plugins === undefined) return;
  if (
    !Array.isArray(plugins) ||
    plugins.some((name) => typeof name !== 'string' || !PLUGIN_NAME.test(name))
  ) {
    throw new ForgeUserError(
      `${file}: plugins must be a list of plugin names, such as ["billing"] for ${PLUGIN_PREFIX}billing`,
    );
  }
  const repeated = plugins.find((name, index) => plugins.indexOf(name) !== index);
  if (repeated !== undefined) throw new ForgeUserError(`${file}: plugins lists ${String(repeated)} twice`);
}

/** An installed plugin: where its package is and the module of its generator. */
export interface InstalledPlugin {
  name: string;
  packagePath: string;
  generatorPath: string;
}

/**
 * The node_modules folders a plugin is looked for in, first found first: the project's and those above it
 * (a plugin installed as a dev dependency of the repository the project is in), then the one this package
 * is installed in (`npm install -g`, `npx -p`: plugins sit next to it), then this package's own.
 */
export function pluginFolders(projectDir: string, packageRoot: string): string[] {
  const folders: string[] = [];
  for (let dir = path.resolve(projectDir); ; dir = path.dirname(dir)) {
    folders.push(path.join(dir, 'node_modules'));
    if (path.dirname(dir) === dir) break;
  }
  if (path.basename(path.dirname(packageRoot)) === 'node_modules') folders.push(path.dirname(packageRoot));
  folders.push(path.join(packageRoot, 'node_modules'));
  return [...new Set(folders)];
}

/** The installed plugin of that name, or undefined when none of {@link pluginFolders} holds its package. */
export function findPlugin(
  name: string,
  projectDir: string,
  packageRoot: string,
): InstalledPlugin | undefined {
  if (!PLUGIN_NAME.test(name)) return undefined;
  for (const folder of pluginFolders(projectDir, packageRoot)) {
    const packagePath = path.join(folder, `${PLUGIN_PREFIX}${name}`);
    if (!existsSync(path.join(packagePath, 'package.json'))) continue;
    for (const generators of GENERATOR_FOLDERS) {
      for (const index of ['index.js', 'index.mjs']) {
        const generatorPath = path.join(packagePath, generators, 'app', index);
        if (existsSync(generatorPath)) return { name, packagePath, generatorPath };
      }
    }
    throw new ForgeUserError(
      `${packagePath} has no generator: a plugin's is generators/app/index.js (or dist/generators/app/index.js)`,
    );
  }
  return undefined;
}

/**
 * Every plugin installed where {@link findPlugin} looks, by name, each where it is found first: what `list`
 * shows. A package of that prefix without a generator is refused as {@link findPlugin} refuses it.
 */
export function installedPlugins(projectDir: string, packageRoot: string): InstalledPlugin[] {
  const names = new Set<string>();
  for (const folder of pluginFolders(projectDir, packageRoot)) {
    let entries: string[];
    try {
      entries = readdirSync(folder);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const name = entry.slice(PLUGIN_PREFIX.length);
      if (entry.startsWith(PLUGIN_PREFIX) && PLUGIN_NAME.test(name)) names.add(name);
    }
  }
  return [...names].sort().flatMap((name) => findPlugin(name, projectDir, packageRoot) ?? []);
}

/**
 * The installed plugin of that name; one that cannot be found stops the run in one line that says where it
 * was looked for. `lead` begins the sentence, ending in its conjunction ("this project uses it, but").
 */
export function requirePlugin(
  name: string,
  projectDir: string,
  packageRoot: string,
  lead = '',
): InstalledPlugin {
  const found = findPlugin(name, projectDir, packageRoot);
  if (found) return found;
  const beside =
    path.basename(path.dirname(packageRoot)) === 'node_modules'
      ? path.dirname(packageRoot)
      : path.join(packageRoot, 'node_modules');
  throw new ForgeUserError(
    `${lead ? `${lead} ` : ''}no plugin package ${PLUGIN_PREFIX}${name} is installed in ${path.join(path.resolve(projectDir), 'node_modules')} or above it, nor next to fastapi-forge in ${beside}`,
  );
}

/** A plugin whose name is a generator of this package's would mean two things by one name: it is refused. */
export const shadowsBuiltIn = (name: string): string =>
  `the plugin ${PLUGIN_PREFIX}${name} has the name of the built-in generator ${name}; a plugin needs a name of its own`;
