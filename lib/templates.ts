import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';
import { ForgeUserError } from './errors.js';
import { isRequirement } from './merge.js';
import { isProjectPath } from './project-paths.js';

/**
 * The package root: the nearest folder above this module with a `templates` folder. This module runs as
 * `dist/lib/templates.js` and, bundled into the CLI, as part of `dist/cli.cjs`.
 */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'templates')) && existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no templates folder above ${start}`);
  }
}
export const TEMPLATES_ROOT = path.join(PACKAGE_ROOT, 'templates');

export interface TemplateFile {
  /** Absolute path of the `.ejs` source. */
  source: string;
  /** Path inside the template family, e.g. `src/_package_/main.py.ejs`. */
  relative: string;
}

/**
 * A family's folder: one of this package's `templates/` (`api`, `auth/jwt`), or an absolute path (a plugin's
 * own templates, `this.templatePath()`).
 */
const familyRoot = (family: string): string => path.resolve(TEMPLATES_ROOT, family);

/** Lists every template file of a family folder (e.g. `api`, `auth/jwt`), sorted for stable output. */
export function listTemplates(family: string): TemplateFile[] {
  const root = familyRoot(family);
  if (!existsSync(root)) throw new Error(`template family not found: ${family}`);
  const files: TemplateFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ejs')) files.push({ source: full, relative: path.relative(root, full) });
    }
  };
  walk(root);
  return files.sort((a, b) => a.relative.localeCompare(b.relative));
}

/**
 * Files of a family folder that are neither templates (`.ejs`) nor its `forge.json`, relative to it: a plugin's
 * `dot-env` where `dot-env.ejs` was meant would otherwise be left out unseen.
 */
export function strayFiles(family: string): string[] {
  const root = familyRoot(family);
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.ejs') && entry.name !== 'forge.json')
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .sort();
}

/**
 * Where a template lands: `.ejs` is dropped, a `_package_` segment becomes the Python package,
 * and a `dot-` prefix becomes a leading dot (npm would drop real dotfiles such as .gitignore).
 */
export function destinationFor(relative: string, packageName: string): string {
  const destination = relative
    .replace(/\.ejs$/, '')
    .split(path.sep)
    .map((segment) => (segment === '_package_' ? packageName : segment.replace(/^dot-/, '.')))
    .join('/');
  if (!isProjectPath(destination)) {
    throw new ForgeUserError(
      `template ${relative} would be written to ${destination}, outside the project: a template's folders may not be named "dot-." or "dot-.."`,
    );
  }
  return destination;
}

export function renderTemplate(source: string, context: Record<string, unknown>): string {
  return ejs.render(readFileSync(source, 'utf8'), context, { filename: source });
}

/** Data a template family declares for structured merges (dependencies, env vars). */
export interface FamilyManifest {
  dependencies?: string[];
  devDependencies?: string[];
  /** Versions uv must resolve whatever a dependency declares, and why (`[tool.uv] override-dependencies`). */
  uvOverrides?: { requirements: string[]; reason: string };
  /** Dependencies of a dependency that are never installed, and why (`[tool.uv] exclude-dependencies`). */
  uvExclusions?: { exclusions: Record<string, string[]>; reason: string };
  env?: EnvVar[];
}

export interface EnvVar {
  name: string;
  value: string;
  comment?: string;
}

const isStringList = (value: unknown): boolean =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

const isEnvVar = (value: unknown): boolean => {
  const entry = value as Partial<EnvVar> | null;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.name === 'string' &&
    /^[A-Z_][A-Z0-9_]*$/.test(entry.name) &&
    typeof entry.value === 'string' &&
    (entry.comment === undefined || typeof entry.comment === 'string')
  );
};

const isUvOverrides = (value: unknown): boolean => {
  const overrides = value as Partial<FamilyManifest['uvOverrides']> | null;
  return (
    typeof overrides === 'object' &&
    overrides !== null &&
    isStringList(overrides.requirements) &&
    typeof overrides.reason === 'string'
  );
};

const isUvExclusions = (value: unknown): boolean => {
  const exclusions = value as Partial<FamilyManifest['uvExclusions']> | null;
  return (
    typeof exclusions === 'object' &&
    exclusions !== null &&
    typeof exclusions.exclusions === 'object' &&
    exclusions.exclusions !== null &&
    Object.values(exclusions.exclusions).every(isStringList) &&
    typeof exclusions.reason === 'string'
  );
};

/**
 * A family's `forge.json`, checked: a plugin's is written by hand, so a wrong shape is one line naming the
 * file and the key, before anything is merged.
 */
export function readFamilyManifest(family: string): FamilyManifest {
  const file = path.join(familyRoot(family), 'forge.json');
  if (!existsSync(file)) return {};
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ForgeUserError(`${file} is not JSON: ${(error as Error).message}`);
  }
  const shape =
    '{"dependencies": ["pkg>=1"], "devDependencies": [...], "env": [{"name": "NAME", "value": "...", "comment": "..."}]}';
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new ForgeUserError(`${file} must be an object such as ${shape}`);
  }
  const fields = manifest as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const valid =
      key === 'dependencies' || key === 'devDependencies'
        ? isStringList(fields[key])
        : key === 'env'
          ? Array.isArray(fields[key]) && (fields[key] as unknown[]).every(isEnvVar)
          : key === 'uvOverrides'
            ? isUvOverrides(fields[key])
            : key === 'uvExclusions' && isUvExclusions(fields[key]);
    if (!valid) throw new ForgeUserError(`${file}: "${key}" is not valid; the shape is ${shape}`);
  }
  const requirements = [
    ...['dependencies', 'devDependencies'].map((key) => ({ key, list: fields[key] as string[] | undefined })),
    { key: 'uvOverrides', list: (fields.uvOverrides as FamilyManifest['uvOverrides'])?.requirements },
  ];
  for (const { key, list } of requirements) {
    const wrong = list?.find((requirement) => !isRequirement(requirement));
    if (wrong !== undefined) {
      throw new ForgeUserError(
        `${file}: ${JSON.stringify(wrong)} in "${key}" is not a requirement of PEP 508's shape, such as "httpx>=0.28" or "pwdlib[argon2]>=0.2"`,
      );
    }
  }
  return fields as FamilyManifest;
}
