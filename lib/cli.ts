import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { QueuedAdapter, TerminalAdapter } from '@yeoman/adapter';
import { createEnv } from 'yeoman-environment';
import {
  type CommandOption,
  type GeneratorCommand,
  DRY_RUN_OPTION,
  FORCE_OPTION,
  RESTORE_OPTION,
  YES_OPTION,
  commandOptions,
} from './command.js';
import { CHOICES, choiceSpec, parseChoice } from './config.js';
import { ForgeUserError, isForgeUserError, runError } from './errors.js';
import { findExecutable } from './exec.js';
import { validateProjectName } from './naming.js';
import {
  YO_RC,
  findProjectRoot,
  readProjectState,
  recordedFiles,
  requireForgeProject,
  restoreRequests,
  structuredFiles,
} from './project.js';
import { LOCK_FILE, lockProject } from './lock.js';
import { lockDependencies, lockIsMissing } from './progress.js';
import { droppedFilesKept, filesWithConflictMarkers, refuseDirtyTree, upgradeConflicts } from './upgrade.js';
import {
  JOURNAL_FILE,
  interruptedCommitCreates,
  recoverInterruptedCommit,
  removeIfEmpty,
} from './transaction.js';
import { PACKAGE_ROOT } from './templates.js';
import {
  type InstalledPlugin,
  PLUGIN_PREFIX,
  installedPlugins,
  shadowsBuiltIn,
  pluginNamespace,
  requirePlugin,
} from './plugins.js';
import { configuredPlugins } from './composition.js';
import { projectScripts } from './resource-changes.js';
import {
  type PluginCheck,
  SPEC_FILE,
  checkApply,
  exportSpec,
  readNewSpec,
  readSpecText,
} from './spec-file.js';
import type { ForgeConfig } from './config.js';
import { PACKAGE_VERSION } from './version.js';

/** `flag`: what answers the question on the command line, when it is not one of CHOICES. */
type PromptQuestion = { name?: string; type?: string; message?: unknown; default?: unknown; flag?: string };

/**
 * The adapter used with `--yes` or without a terminal. Unanswered questions are a user error (nothing
 * waits for input), and a file the user edited is kept: the conflict is reported, never overwritten.
 */
export class NonInteractiveAdapter extends TerminalAdapter {
  readonly keptFiles: string[] = [];

  override async prompt<A>(questions: unknown): Promise<A> {
    const list = (Array.isArray(questions) ? questions : [questions]) as PromptQuestion[];
    const answers: Record<string, unknown> = {};
    for (const question of list) {
      if (question.name === 'action' && question.type === 'expand') {
        const match = /^Overwrite (.+)\?$/.exec(String(question.message));
        this.keptFiles.push(match?.[1] ?? String(question.message));
        answers.action = 'skip';
        continue;
      }
      const spec = CHOICES.find((choice) => choice.key === question.name);
      const flag = spec
        ? `--${spec.flag} ${spec.choices.map((choice) => choice.value).join('|')}`
        : (question.flag ?? 'it as a flag');
      throw new ForgeUserError(
        `"${String(question.message)}" needs an answer, but there is no terminal to ask: pass ${flag} or use --yes`,
      );
    }
    return answers as A;
  }
}

interface CommonFlags {
  path?: string;
  yes?: boolean;
  skipInstall?: boolean;
  dryRun?: boolean;
  force?: boolean;
  restore?: string[];
  description?: string;
  [flag: string]: unknown;
}

const flagKey = (flag: string): string =>
  flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/**
 * A generator of this package as the CLI registers it: its class, which carries its declaration
 * (generators/<name>/command.ts). The CLI entry passes the list of them.
 */
export interface DeclaredGenerator {
  readonly command: GeneratorCommand;
}

/** The CLI's generators: a list in the order `list` shows them, `app` first. */
export type GeneratorRegistry = readonly DeclaredGenerator[];

/** Adds one declared option to a command: `--<flag> <value>`, repeatable or a switch (with `--no-<flag>`). */
function addOption(command: Command, option: CommandOption): void {
  const flag = `--${option.flag}`;
  if (option.type === 'switch') {
    command.option(flag, option.description);
    if (option.negation) command.option(`--no-${option.flag}`, option.negation);
  } else if (option.type === 'list') {
    command.option(`${flag} <${option.placeholder ?? 'value'}>`, option.description, collect);
  } else command.option(`${flag} <${option.placeholder ?? 'value'}>`, option.description);
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** A generator's declared arguments and options, as `new` and `add <name>` take them. */
function addDeclaration(command: Command, declaration: GeneratorCommand): void {
  for (const arg of declaration.args ?? []) {
    command.argument(arg.optional ? `[${arg.name}]` : `<${arg.name}>`, arg.description);
  }
  for (const option of commandOptions(declaration)) addOption(command, option);
}

/**
 * The declared options given on the command line, by their flag, as the generator reads them; config
 * choices are validated here, so a bad value is one line before anything runs.
 */
function declaredFlags(declaration: GeneratorCommand, parsed: CommonFlags): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const option of commandOptions(declaration)) {
    const value = parsed[flagKey(option.flag)];
    if (value !== undefined) options[option.flag] = value;
  }
  for (const key of declaration.choices ?? []) {
    const flag = choiceSpec(key).flag;
    if (options[flag] !== undefined) options[flag] = parseChoice(key, options[flag], `--${flag}`);
  }
  return options;
}

function addRunOptions(command: Command, pathHelp: string): void {
  command
    .option('--path <dir>', pathHelp)
    .option(`-y, --${YES_OPTION.flag}`, YES_OPTION.description)
    .option('--skip-install', 'do not run `uv sync` afterwards (default: false)')
    .option(`--${DRY_RUN_OPTION.flag}`, DRY_RUN_OPTION.description)
    .option(`--${FORCE_OPTION.flag}`, FORCE_OPTION.description);
}

/** Each path given to `--restore` must be a file forge generated in the project and that is gone. */
function checkRestoreRequests(projectDir: string, flags: CommonFlags): void {
  const generated = new Set([...recordedFiles(projectDir), ...structuredFiles(projectDir)]);
  for (const request of restoreRequests(flags.restore)) {
    if (existsSync(path.join(projectDir, request))) {
      throw new ForgeUserError(`--restore ${request}: the file is there; there is nothing to restore`);
    }
    if (!generated.has(request)) {
      throw new ForgeUserError(
        `--restore ${request}: fastapi-forge generated no file of that path in this project (paths are relative to its root)`,
      );
    }
  }
}

/**
 * yeoman-generator logs "An error occured while running <task>" before rethrowing; the CLI prints the
 * error itself in one line, so that banner is dropped.
 */
function silenceTaskFailureBanner(log: { error: (...args: unknown[]) => unknown }): void {
  const error = log.error.bind(log);
  log.error = (message: unknown, ...rest: unknown[]) =>
    typeof message === 'string' && message.startsWith('An error occured while running')
      ? log
      : error(message, ...rest);
}

function reportRecovery(outcome: ReturnType<typeof recoverInterruptedCommit>): void {
  if (outcome === 'finished') process.stderr.write('Finished writing the files of a run that was cut off.\n');
  if (typeof outcome === 'object' && 'kept' in outcome) {
    process.stderr.write(
      `Finished writing the files of a run that was cut off, except ${outcome.kept.join(', ')}, changed since it was cut off: kept as it is now.\n`,
    );
  }
  if (outcome === 'rolled back')
    process.stderr.write('Rolled back a run that was cut off before it wrote anything.\n');
  if (typeof outcome === 'object' && 'unreadable' in outcome) {
    process.stderr.write(
      `warning: ${JOURNAL_FILE} of a run that was cut off could not be read (was it edited?): removed it and ${outcome.unreadable} temporary file(s) of that run; files it had already written are kept and not recorded as generated\n`,
    );
  }
}

/**
 * Runs `work` holding the project's lock, once a run that was cut off has been finished or rolled back.
 * A dry run writes nothing, so it neither waits on nor blocks another run.
 */
async function underLock<T>(projectDir: string, flags: CommonFlags, work: () => Promise<T>): Promise<T> {
  if (flags.dryRun) return work();
  const unlock = lockProject(projectDir);
  try {
    reportRecovery(recoverInterruptedCommit(projectDir));
    return await work();
  } catch (error) {
    // A file-system error met outside a commit (Yeoman reading its global config): the message names its path.
    throw runError(error, projectDir);
  } finally {
    unlock();
  }
}

/**
 * Takes over and releases the lock of a run that was killed after its last write (its journal gone), which
 * `new` refuses to run again; a live run's lock is left to it.
 */
function releaseStaleLock(projectDir: string): void {
  if (!existsSync(path.join(projectDir, LOCK_FILE))) return;
  try {
    lockProject(projectDir)();
  } catch (error) {
    if (!isForgeUserError(error)) throw error;
  }
}

/** A run cut off mid-commit leaves a journal: it is dealt with before the project's state is judged. */
async function finishInterruptedRun(projectDir: string, flags: CommonFlags): Promise<void> {
  if (existsSync(path.join(projectDir, JOURNAL_FILE))) await underLock(projectDir, flags, async () => {});
}

/** The Yeoman namespace of a generator of this package. */
const builtIn = (name: string): string => `fastapi-forge:${name}`;

/** A plugin package's generator as the CLI loads it: its declaration, class and where it was found. */
interface LoadedPlugin {
  readonly command: GeneratorCommand;
  readonly generator: unknown;
  readonly installed: InstalledPlugin;
}

/** Imports a plugin's generator; one that does not load stops the run in one line. */
async function loadPlugin(installed: InstalledPlugin): Promise<LoadedPlugin> {
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(installed.generatorPath).href)) as typeof loaded;
  } catch (error) {
    const detail = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw new ForgeUserError(
      `the plugin ${installed.name} (${installed.generatorPath}) does not load: ${detail}`,
    );
  }
  const generator = loaded.default;
  if (typeof generator !== 'function') {
    throw new ForgeUserError(
      `the plugin ${installed.name} (${installed.generatorPath}) exports no generator class as its default`,
    );
  }
  const declared = (generator as { command?: GeneratorCommand }).command;
  if (declared !== undefined && declared.name !== installed.name) {
    throw new ForgeUserError(
      `the plugin ${installed.name} declares itself as ${declared.name}; its command's name must be ${installed.name}`,
    );
  }
  const command = declared ?? {
    name: installed.name,
    description: `a plugin that declares no description`,
  };
  return { command, generator, installed };
}

/** The plugins `projectDir` records in .yo-rc.json, each installed and loaded, or a one-line error. */
async function recordedPlugins(projectDir: string): Promise<LoadedPlugin[]> {
  const state = readProjectState(projectDir);
  if (state.kind !== 'forge') return [];
  return Promise.all(
    configuredPlugins(state.config).map((name) =>
      loadPlugin(
        requirePlugin(
          name,
          projectDir,
          PACKAGE_ROOT,
          `this project uses the plugin ${name} (plugins in .yo-rc.json), but`,
        ),
      ),
    ),
  );
}

/** Runs one generator (of this package, or a plugin's) in `projectDir` through yeoman-environment. */
async function runGenerator(
  generators: GeneratorRegistry,
  namespace: string,
  args: string[],
  options: Record<string, unknown>,
  projectDir: string,
  flags: CommonFlags,
  adding: readonly LoadedPlugin[] = [],
): Promise<void> {
  const interactive = !flags.yes && Boolean(process.stdin.isTTY);
  const terminal = interactive ? new TerminalAdapter() : new NonInteractiveAdapter();
  const adapter = new QueuedAdapter({ adapter: terminal });
  silenceTaskFailureBanner(adapter.log);
  const env = createEnv({ cwd: projectDir, adapter });
  for (const generator of generators) {
    const { name: registered } = generator.command;
    env.register(generator as never, {
      namespace: `fastapi-forge:${registered}`,
      resolved: path.join(PACKAGE_ROOT, 'dist', 'generators', registered, 'index.js'),
      packagePath: PACKAGE_ROOT,
    });
  }
  // Every run composes the project's plugins (lib/composition.ts): each must be installed and load.
  const recorded = await recordedPlugins(projectDir);
  const plugins = [
    ...recorded,
    ...adding.filter((plugin) => !recorded.some((other) => other.command.name === plugin.command.name)),
  ];
  for (const plugin of plugins) {
    env.register(plugin.generator as never, {
      namespace: pluginNamespace(plugin.installed.name),
      resolved: plugin.installed.generatorPath,
      packagePath: plugin.installed.packagePath,
    });
  }
  const runOptions: Record<string, unknown> = {
    ...options,
    destinationRoot: projectDir,
    yes: flags.yes ?? false,
    skipInstall: flags.skipInstall ?? false,
    dryRun: flags.dryRun ?? false,
    force: flags.force ?? false,
    restore: flags.restore ?? [],
    // Nobody to ask about a conflict: a run that cannot merge into an edited file stops instead.
    forgeNonInteractive: terminal instanceof NonInteractiveAdapter,
  };
  await underLock(projectDir, flags, async () => {
    await env.run([namespace, ...args], runOptions);
    // `new` locks (or installs) in its own install step; a sub-generator may have changed dependencies.
    if (namespace !== builtIn('app') && !runOptions.dryRun) {
      await lockDependencies(projectDir, (line) => process.stdout.write(`${line}\n`));
    }
  });
  if (terminal instanceof NonInteractiveAdapter && terminal.keptFiles.length > 0) {
    process.stderr.write(
      `Kept your edited version of: ${terminal.keptFiles.join(', ')}. Run again with --force to overwrite them.\n`,
    );
  }
}

async function newProject(
  generators: GeneratorRegistry,
  app: GeneratorCommand,
  name: string,
  flags: CommonFlags,
  plugins: readonly LoadedPlugin[] = [],
): Promise<void> {
  validateProjectName(name);
  const options = {
    ...declaredFlags(app, flags),
    // A spec's plugins: recorded by the first run, composed by it and every later one.
    ...(plugins.length > 0 ? { forgePlugins: plugins.map((plugin) => plugin.installed.name) } : {}),
  };
  const projectDir = path.resolve(flags.path ?? process.cwd(), name);
  // A first run cut off after its commit point has written .yo-rc.json, or is about to: running `new` again
  // finishes it, so the project is then what `new` makes, and is not one that existed before.
  const finishesFirstRun = interruptedCommitCreates(projectDir, path.join(projectDir, YO_RC));
  await finishInterruptedRun(projectDir, flags);
  const state = readProjectState(projectDir);
  const where = path.relative(process.cwd(), projectDir) || '.';
  if (state.kind === 'foreign') {
    throw new ForgeUserError(`${where} already exists and is not a fastapi-forge project (${state.reason})`);
  }
  // A first run killed while locking left its files but no lock: this run finishes that step (without uv,
  // the first run could not lock either, and said so).
  const existing = state.kind === 'forge' && !finishesFirstRun;
  if (existing && !flags.dryRun && lockIsMissing(projectDir) && findExecutable('uv') !== undefined) {
    process.stdout.write(
      `${where} has no complete uv.lock (a run was cut off while locking): locking again.\n`,
    );
    await underLock(projectDir, flags, () => {
      // uv cannot read a lock cut short, and only uv writes that file: nothing of the user's is lost.
      rmSync(path.join(projectDir, 'uv.lock'), { force: true });
      return lockDependencies(projectDir, (line) => process.stdout.write(`${line}\n`));
    });
    return;
  }
  // `new` creates; rendering an existing project again is `upgrade`'s job, and growing it is `add`'s.
  if (existing) {
    if (!flags.dryRun) releaseStaleLock(projectDir);
    throw new ForgeUserError(
      `${where} is already a fastapi-forge project; grow it with \`fastapi-forge add <generator> --path ${where}\`, or render it again with \`fastapi-forge upgrade --path ${where}\``,
    );
  }
  const created = !existsSync(projectDir);
  if (created) mkdirSync(projectDir, { recursive: true });
  try {
    // --observability / --no-observability: true or false; unset leaves it to the tier.
    await runGenerator(generators, builtIn(app.name), [name], options, projectDir, flags, plugins);
  } finally {
    // A dry run, or a run that failed before writing, leaves no empty directory behind.
    if (created && existsSync(projectDir)) {
      removeIfEmpty(path.join(projectDir, '.forge'));
      if (readdirSync(projectDir).length === 0) rmdirSync(projectDir);
    }
  }
}

async function addToProject(
  generators: GeneratorRegistry,
  declaration: GeneratorCommand,
  args: string[],
  flags: CommonFlags,
  plugin?: LoadedPlugin,
): Promise<void> {
  // Run from a subdirectory, `add` works on the project around it, as git does.
  const projectDir = flags.path ? path.resolve(flags.path) : findProjectRoot(process.cwd());
  await finishInterruptedRun(projectDir, flags);
  requireForgeProject(projectDir);
  checkRestoreRequests(projectDir, flags);
  await runGenerator(
    generators,
    plugin ? pluginNamespace(plugin.installed.name) : builtIn(declaration.name),
    args,
    declaredFlags(declaration, flags),
    projectDir,
    flags,
    plugin ? [plugin] : [],
  );
}

/**
 * `upgrade`: renders the project again with this version from its stored answers; each file the user edited
 * is merged three ways. Exits with status 1 while conflicts remain, listing them.
 */
async function upgradeProject(
  generators: GeneratorRegistry,
  flags: CommonFlags & { allowDirty?: boolean },
): Promise<number> {
  const projectDir = flags.path ? path.resolve(flags.path) : findProjectRoot(process.cwd());
  await finishInterruptedRun(projectDir, flags);
  const config = requireForgeProject(projectDir);
  checkRestoreRequests(projectDir, flags);
  refuseDirtyTree(projectDir, Boolean(flags.allowDirty));
  await runGenerator(generators, builtIn('app'), [], { upgrade: true }, projectDir, {
    ...flags,
    yes: true,
  });
  const from = config.generatorVersion ?? 'an unknown version';
  const kept = droppedFilesKept();
  if (kept.length > 0) {
    process.stderr.write(
      `fastapi-forge: ${PACKAGE_VERSION} no longer generates ${kept.length} file(s) you edited; they are kept as yours (delete them if you no longer need them): ${kept.join(', ')}\n`,
    );
  }
  const conflicts = [...new Set([...upgradeConflicts(), ...filesWithConflictMarkers(projectDir)])];
  if (conflicts.length > 0) {
    process.stderr.write(
      `fastapi-forge: upgrade from ${from} to ${PACKAGE_VERSION} left conflicts in ${conflicts.length} file(s), marked with <<<<<<< and >>>>>>>: ${conflicts.join(', ')}\n`,
    );
    return 1;
  }
  if (!flags.dryRun) process.stderr.write(`Upgraded from ${from} to ${PACKAGE_VERSION}.\n`);
  return 0;
}

export function buildProgram(generators: GeneratorRegistry, plugins: readonly LoadedPlugin[] = []): Command {
  const declarations = generators.map((generator) => generator.command);
  const app = declarations.find((declaration) => declaration.name === 'app');
  if (!app) throw new Error('the CLI needs the app generator, which `new` and `upgrade` run');
  const program = new Command('fastapi-forge')
    .description('Scaffold production-ready FastAPI services, then grow them with sub-generators.')
    .addHelpText(
      'after',
      '\nEvery run writes its files all at once, under a lock on the project (.forge/lock); a run that was\ncut off is finished or rolled back by the next one. See "How files are written" in the README.',
    )
    .version(PACKAGE_VERSION)
    .showSuggestionAfterError();

  // `new` runs the app generator: its arguments and options are the app generator's, plus a spec file.
  const create = program.command('new').description(app.description);
  addDeclaration(create, app);
  create.option('--spec <file>', `a system spec (${SPEC_FILE}): the project, its options and its resources`);
  addRunOptions(create, 'directory to create the project in (default: the current directory)');
  create.action(async (name: string | undefined, flags: CommonFlags) =>
    typeof flags.spec === 'string'
      ? newFromSpec(generators, app, name, flags.spec, flags)
      : newProject(generators, app, name ?? '', flags),
  );
  addSpecCommands(generators, program);

  const add = program
    .command('add')
    .description(
      `run one sub-generator, or an installed plugin (${PLUGIN_PREFIX}<name>), on an existing project`,
    );
  const subGenerators: { declaration: GeneratorCommand; plugin?: LoadedPlugin }[] = [
    ...declarations.filter((candidate) => candidate !== app).map((declaration) => ({ declaration })),
    ...plugins.map((plugin) => ({ declaration: plugin.command, plugin })),
  ];
  for (const { declaration, plugin } of subGenerators) {
    const sub = add.command(declaration.name).description(declaration.description);
    addDeclaration(sub, declaration);
    addRunOptions(sub, 'the project directory (default: the project the current directory is in)');
    addOption(sub, RESTORE_OPTION);
    sub.action(async (...params: unknown[]) => {
      const count = declaration.args?.length ?? 0;
      // An optional argument left out is not passed on (Yeoman would read it as "undefined").
      const args = (params.slice(0, count) as (string | undefined)[]).filter((arg) => arg !== undefined);
      const flags = params[count] as CommonFlags;
      await addToProject(generators, declaration, args, flags, plugin);
    });
  }

  const upgrade = program
    .command('upgrade')
    .description(
      'render the project again with this version, merging it three ways into the files you edited',
    )
    .option('--allow-dirty', 'upgrade a git work tree with uncommitted changes (default: false)');
  addRunOptions(upgrade, 'the project directory (default: the project the current directory is in)');
  addOption(upgrade, RESTORE_OPTION);
  upgrade.action(async (flags: CommonFlags & { allowDirty?: boolean }) => {
    process.exitCode = await upgradeProject(generators, flags);
  });

  program
    .command('list')
    .description(
      `list the generators, then the plugins (${PLUGIN_PREFIX}<name>) installed where \`add\` looks`,
    )
    .option('--path <dir>', 'the directory plugins are looked for from (default: the current directory)')
    .action(async (flags: { path?: string }) => {
      const line = (name: string, description: string) => `${name.padEnd(14)}${description}\n`;
      // The app generator is what `new` runs.
      for (const declaration of declarations)
        process.stdout.write(line(declaration === app ? 'new' : declaration.name, declaration.description));
      // Every plugin that works is listed; each that does not is one line on stderr, and the status says so.
      const builtInNames = new Set(declarations.map((declaration) => declaration.name));
      const problems: string[] = [];
      const found = installedPlugins(path.resolve(flags.path ?? process.cwd()), PACKAGE_ROOT);
      for (const installed of found) {
        if (builtInNames.has(installed.name)) {
          problems.push(shadowsBuiltIn(installed.name));
          continue;
        }
        try {
          const { name, description } = (await loadPlugin(installed)).command;
          process.stdout.write(line(name, `${description} (plugin: ${PLUGIN_PREFIX}${name})`));
        } catch (error) {
          if (!(error instanceof ForgeUserError)) throw error;
          problems.push(error.message);
        }
      }
      for (const problem of problems) process.stderr.write(`fastapi-forge: ${problem}\n`);
      if (problems.length > 0) process.exitCode = 2;
    });
  return program;
}

// ---- The system spec: `new --spec`, `apply`, `export` (lib/spec-file.ts). ----

/** The resource generator run on a spec's resources (`new --spec`, `apply`). */
const runSpecResources = (
  generators: GeneratorRegistry,
  resources: unknown[],
  projectDir: string,
  flags: CommonFlags,
  options: Record<string, unknown> = {},
): Promise<void> =>
  runGenerator(
    generators,
    builtIn('resource'),
    [],
    { forgeSpecResources: resources, ...options },
    projectDir,
    flags,
  );

/** `new --spec forge.yaml`: the project with the spec's options, then its resources; the spec checked first. */
async function newFromSpec(
  generators: GeneratorRegistry,
  app: GeneratorCommand,
  name: string | undefined,
  file: string,
  flags: CommonFlags,
): Promise<void> {
  const text = readSpecText(file);
  const parent = path.resolve(flags.path ?? process.cwd());
  const spec = readNewSpec(text, file, pluginCheck(parent));
  if (name !== undefined && name !== spec.project.name) {
    throw new ForgeUserError(`${file}: the spec is of project ${spec.project.name}, not ${name}`);
  }
  const { project } = spec;
  const options: CommonFlags = {
    ...flags,
    ...Object.fromEntries(
      (['appType', 'tier', 'db', 'auth', 'agentSdk', 'deploy'] as const)
        .filter((key) => project[key] !== undefined)
        .map((key) => [key, String(project[key])]),
    ),
    ...(project.description === undefined ? {} : { description: project.description }),
    ...(project.observability === undefined ? {} : { observability: project.observability }),
    ...(spec.services.length > 0 ? { services: spec.services.join(',') } : {}),
  };
  const plugins = await Promise.all(
    spec.plugins.map((plugin) => loadPlugin(requirePlugin(plugin, parent, PACKAGE_ROOT))),
  );
  await newProject(generators, app, project.name, options, plugins);
  if (flags.dryRun) return;
  const projectDir = path.resolve(flags.path ?? process.cwd(), project.name);
  if (spec.resources.length > 0) await runSpecResources(generators, spec.resources, projectDir, flags);
  // The spec goes with the project, as written (its comments too): `apply` there reads it by default.
  writeFileSync(path.join(projectDir, SPEC_FILE), text);
}

/** A spec's plugin is one installed where `add` would look for it from `dir`. */
const pluginCheck =
  (dir: string): PluginCheck =>
  (name) => {
    requirePlugin(name, dir, PACKAGE_ROOT);
  };

function addSpecCommands(generators: GeneratorRegistry, program: Command): void {
  const apply = program
    .command('apply')
    .description(
      `bring the project to its system spec (${SPEC_FILE}): new resources, changed fields and their migrations`,
    )
    .option('--spec <file>', `the spec (default: ${SPEC_FILE} in the project)`);
  addRunOptions(apply, 'the project directory (default: the project the current directory is in)');
  apply.action(async (flags: CommonFlags) => {
    const projectDir = flags.path ? path.resolve(flags.path) : findProjectRoot(process.cwd());
    await finishInterruptedRun(projectDir, flags);
    const config = requireForgeProject(projectDir);
    const file = typeof flags.spec === 'string' ? flags.spec : path.join(projectDir, SPEC_FILE);
    // Checked in full before the run: a bad spec writes nothing.
    const { spec, plan } = checkApply(
      readSpecText(file),
      path.relative(process.cwd(), file) || file,
      config as Partial<ForgeConfig> & { migrations?: string[] },
      projectScripts(projectDir, String(config.packageName)),
      pluginCheck(projectDir),
    );
    // A project without resources, in a spec without any, has nothing for the resource generator to do (and
    // may have no database for it).
    if (spec.resources.length > 0 || (config.resources ?? []).length > 0) {
      // A file the user edited takes the change too, merged three ways as `upgrade` merges.
      await runSpecResources(generators, spec.resources, projectDir, flags, { forgeMergeEdits: true });
    }
    const done = [
      ...plan.added.map((name) => `${name} added`),
      ...plan.changed.map((name) => `${name} changed`),
    ];
    // A merge that conflicts leaves the file with both versions: the project is not at its spec until the
    // user resolves them, so this run and the next say so.
    const conflicts = [...new Set([...upgradeConflicts(), ...filesWithConflictMarkers(projectDir)])];
    if (conflicts.length > 0) {
      process.stderr.write(
        `fastapi-forge: the change conflicts with your edits in ${conflicts.length} file(s), marked with <<<<<<< and >>>>>>>: ${conflicts.join(', ')}; resolve them, then run apply again\n`,
      );
      process.exitCode = 1;
      return;
    }
    process.stdout.write(
      done.length > 0 ? `Applied: ${done.join(', ')}.\n` : 'The project matches the spec.\n',
    );
  });

  program
    .command('export')
    .description(
      `write the project's system spec (${SPEC_FILE}), which \`apply\` turns back into the same project`,
    )
    .option('--path <dir>', 'the project directory (default: the project the current directory is in)')
    .option(
      '--output <file>',
      `where to write it, - for standard output (default: ${SPEC_FILE} in the project)`,
    )
    .option('--force', 'overwrite a spec file that differs (default: false)')
    .action((flags: CommonFlags & { output?: string }) => {
      const projectDir = flags.path ? path.resolve(flags.path) : findProjectRoot(process.cwd());
      const config = requireForgeProject(projectDir) as ForgeConfig;
      const text = exportSpec(config);
      if (flags.output === '-') {
        process.stdout.write(text);
        return;
      }
      const file = flags.output ?? path.join(projectDir, SPEC_FILE);
      const directory = path.dirname(path.resolve(file));
      if (!existsSync(directory) || !statSync(directory).isDirectory()) {
        throw new ForgeUserError(`${file}: no directory ${path.dirname(file)} to write it in`);
      }
      if (existsSync(file) && statSync(file).isDirectory()) {
        throw new ForgeUserError(`${file}: a directory; --output names the spec file to write`);
      }
      if (existsSync(file) && readFileSync(file, 'utf8') !== text && !flags.force) {
        throw new ForgeUserError(
          `${file} exists and differs from the project's spec: pass --force to overwrite it`,
        );
      }
      writeFileSync(file, text);
      process.stdout.write(`Wrote ${path.relative(process.cwd(), file) || file}.\n`);
      // Their tables are in the database they were read from: a spec records only that they were adopted.
      const adopted = (config.resources ?? []).filter((resource) => resource.adopted);
      if (adopted.length > 0) {
        process.stdout.write(
          `${adopted.map((resource) => resource.name).join(', ')}: adopted from a database; \`apply\` keeps them, \`new --spec\` refuses them (a new project adopts the tables again with \`add resource --from-database\`).\n`,
        );
      }
    });
}

/** Exit status of a run the user interrupted with Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED = 130;

/**
 * Ctrl-C or the end of input (Ctrl-D, a closed terminal) at a question: inquirer rejects the prompt with
 * an ExitPromptError. Returns the exit status for it, or undefined for any other error.
 */
function cancelledPromptStatus(error: unknown): number | undefined {
  if (!(error instanceof Error) || error.name !== 'ExitPromptError') return undefined;
  return error.message.includes('SIGINT') ? INTERRUPTED : 1;
}

/**
 * `add <name>` where no generator of this package has that name: the installed plugin of that name, looked for
 * from the project's directory (`--path`, else the working directory), or a one-line error.
 */
async function pluginsToAdd(args: string[], generators: GeneratorRegistry): Promise<LoadedPlugin[]> {
  const [command, name] = args;
  if (command !== 'add' || name === undefined || name.startsWith('-') || name === 'help') return [];
  if (generators.some((generator) => generator.command.name === name)) return [];
  const at = args.findIndex((arg) => arg === '--path' || arg.startsWith('--path='));
  const given = at < 0 ? undefined : args[at]?.startsWith('--path=') ? args[at]?.slice(7) : args[at + 1];
  const projectDir = given ? path.resolve(given) : findProjectRoot(process.cwd());
  const installed = requirePlugin(
    name,
    projectDir,
    PACKAGE_ROOT,
    `add ${name}: fastapi-forge has no generator ${name} (see \`fastapi-forge list\`) and`,
  );
  return [await loadPlugin(installed)];
}

/** A switch given both ways (`--observability --no-observability`): the last would silently win. */
function refuseContradictions(args: readonly string[]): void {
  const given = new Set(args.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0] ?? arg));
  for (const flag of given) {
    if (flag.startsWith('--no-') && given.has(`--${flag.slice('--no-'.length)}`)) {
      throw new ForgeUserError(`--${flag.slice('--no-'.length)} and ${flag} contradict each other: give one`);
    }
  }
}

/** Entry point of the `fastapi-forge` bin. Returns the exit status. */
export async function main(argv: string[], generators: GeneratorRegistry): Promise<number> {
  // A reader that stops early (`fastapi-forge list | head -1`) closes the pipe: the rest of the output
  // has nowhere to go, and the run goes on without it rather than dying with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
  try {
    refuseContradictions(argv.slice(2));
    const program = buildProgram(generators, await pluginsToAdd(argv.slice(2), generators));
    program.exitOverride();
    process.exitCode = undefined;
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its own one-line message (or the help / version).
      return error.exitCode === 0 ? 0 : 2;
    }
    // The run stops before its commit, so nothing was written (`new` removes the directory it made).
    const cancelled = cancelledPromptStatus(error);
    if (cancelled !== undefined) {
      process.stderr.write('\nfastapi-forge: cancelled; nothing was written\n');
      return cancelled;
    }
    // A file-system error met outside a commit (reading the project, taking its lock) is reported alike.
    const reported = runError(error, process.cwd());
    if (isForgeUserError(reported)) {
      process.stderr.write(`fastapi-forge: ${reported.message}\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (/aborted/i.test(message)) {
      process.stderr.write(`fastapi-forge: ${message}\n`);
      return 1;
    }
    throw error;
  }
}
