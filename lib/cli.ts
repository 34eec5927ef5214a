import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { QueuedAdapter, TerminalAdapter } from '@yeoman/adapter';
import { createEnv } from 'yeoman-environment';
import { CHOICES, type ChoiceKey, choiceSpec, defaultHelpOf, parseChoice } from './config.js';
import { DEPLOYMENT_FLAGS, type DeploymentFlag } from './deploy.js';
import { ForgeUserError, fileSystemError, isForgeUserError } from './errors.js';
import { GENERATOR_CLASSES } from './generator-classes.js';
import { GENERATORS, type GeneratorInfo } from './generators.js';
import { validateProjectName } from './naming.js';
import { DEFAULT_TIER2_SERVICES } from './workspace.js';
import {
  YO_RC,
  findProjectRoot,
  readProjectState,
  recordedFiles,
  requireForgeProject,
  restoreRequests,
  structuredFiles,
} from './project.js';
import { lockProject } from './lock.js';
import { lockDependencies } from './progress.js';
import { filesWithConflictMarkers, refuseDirtyTree, upgradeConflicts } from './upgrade.js';
import {
  JOURNAL_FILE,
  interruptedCommitCreates,
  recoverInterruptedCommit,
  removeIfEmpty,
} from './transaction.js';
import { PACKAGE_ROOT } from './templates.js';
import { PACKAGE_VERSION } from './version.js';

type PromptQuestion = { name?: string; type?: string; message?: unknown; default?: unknown };

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
        : 'it as a flag';
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

/** Reads `--<flag>` values of config choices from commander's parsed options, validating each one. */
function choiceFlags(keys: ChoiceKey[], flags: CommonFlags): Record<string, string | number> {
  const options: Record<string, string | number> = {};
  for (const key of keys) {
    const spec = choiceSpec(key);
    const raw = flags[flagKey(spec.flag)];
    if (raw !== undefined) options[spec.flag] = parseChoice(key, raw, `--${spec.flag}`);
  }
  return options;
}

function addChoiceOptions(command: Command, keys: ChoiceKey[]): void {
  for (const key of keys) {
    const spec = choiceSpec(key);
    const values = spec.choices.map((choice) => choice.value).join('|');
    command.addOption(
      new Option(
        `--${spec.flag} <${spec.type === 'number' ? 'n' : 'value'}>`,
        `${spec.description}: ${values} (default: ${defaultHelpOf(spec)})`,
      ),
    );
  }
}

/** `--python`, `--namespace`, ...: passed to the generator, which validates and stores them. */
function addDeploymentOptions(command: Command, flags: DeploymentFlag[]): void {
  for (const flag of flags)
    command.addOption(new Option(`--${flag} <value>`, DEPLOYMENT_FLAGS[flag].description));
}

function deploymentFlags(flags: DeploymentFlag[], parsed: CommonFlags): Record<string, unknown> {
  return Object.fromEntries(
    flags.filter((flag) => parsed[flagKey(flag)] !== undefined).map((flag) => [flag, parsed[flagKey(flag)]]),
  );
}

function addRunOptions(command: Command, pathHelp: string): void {
  command
    .option('--path <dir>', pathHelp)
    .option(
      '-y, --yes',
      'take the default for every unanswered question; never wait for input (default: false)',
    )
    .option('--skip-install', 'do not run `uv sync` afterwards (default: false)')
    .option('--dry-run', 'show what would change, write nothing (default: false)')
    .option('--force', 'overwrite files you have edited, without asking (default: false)');
}

/** `--restore <path>`, repeatable: generated files the user deleted, to write again. */
function addRestoreOption(command: Command): void {
  command.option(
    '--restore <path>',
    'write again a generated file you deleted (kept deleted otherwise, recorded in .yo-resolve); repeatable',
    (value: string, previous: string[] = []) => [...previous, value],
  );
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
  if (outcome === 'rolled back')
    process.stderr.write('Rolled back a run that was cut off before it wrote anything.\n');
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
  } finally {
    unlock();
  }
}

/** A run cut off mid-commit leaves a journal: it is dealt with before the project's state is judged. */
async function finishInterruptedRun(projectDir: string, flags: CommonFlags): Promise<void> {
  if (existsSync(path.join(projectDir, JOURNAL_FILE))) await underLock(projectDir, flags, async () => {});
}

/** Runs one generator of this package in `projectDir` through yeoman-environment. */
async function runGenerator(
  name: string,
  args: string[],
  options: Record<string, unknown>,
  projectDir: string,
  flags: CommonFlags,
): Promise<void> {
  const interactive = !flags.yes && Boolean(process.stdin.isTTY);
  const terminal = interactive ? new TerminalAdapter() : new NonInteractiveAdapter();
  const adapter = new QueuedAdapter({ adapter: terminal });
  silenceTaskFailureBanner(adapter.log);
  const env = createEnv({ cwd: projectDir, adapter });
  for (const info of GENERATORS.filter((candidate) => candidate.available)) {
    const generatorClass = GENERATOR_CLASSES[info.name];
    if (!generatorClass) throw new Error(`generator ${info.name} has no class in lib/generator-classes.ts`);
    env.register(generatorClass as never, {
      namespace: `fastapi-forge:${info.name}`,
      resolved: path.join(PACKAGE_ROOT, 'dist', 'generators', info.name, 'index.js'),
      packagePath: PACKAGE_ROOT,
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
  };
  await underLock(projectDir, flags, async () => {
    await env.run([`fastapi-forge:${name}`, ...args], runOptions);
    // `new` locks (or installs) in its own install step; a sub-generator may have changed dependencies.
    if (name !== 'app' && !runOptions.dryRun) {
      await lockDependencies(projectDir, (line) => process.stdout.write(`${line}\n`));
    }
  });
  if (terminal instanceof NonInteractiveAdapter && terminal.keptFiles.length > 0) {
    process.stderr.write(
      `Kept your edited version of: ${terminal.keptFiles.join(', ')}. Run again with --force to overwrite them.\n`,
    );
  }
}

async function newProject(name: string, flags: CommonFlags): Promise<void> {
  validateProjectName(name);
  const options = choiceFlags(['appType', 'tier', 'db', 'auth', 'agentSdk', 'deploy'], flags);
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
  // `new` creates; rendering an existing project again is `upgrade`'s job, and growing it is `add`'s.
  if (state.kind === 'forge' && !finishesFirstRun) {
    throw new ForgeUserError(
      `${where} is already a fastapi-forge project; grow it with \`fastapi-forge add <generator> --path ${where}\`, or render it again with \`fastapi-forge upgrade --path ${where}\``,
    );
  }
  const created = !existsSync(projectDir);
  if (created) mkdirSync(projectDir, { recursive: true });
  try {
    // --observability / --no-observability: true or false; unset leaves it to the tier.
    const observability =
      typeof flags.observability === 'boolean' ? { observability: flags.observability } : {};
    await runGenerator(
      'app',
      [name],
      { ...options, ...observability, services: flags.services, description: flags.description },
      projectDir,
      flags,
    );
  } finally {
    // A dry run, or a run that failed before writing, leaves no empty directory behind.
    if (created && existsSync(projectDir)) {
      removeIfEmpty(path.join(projectDir, '.forge'));
      if (readdirSync(projectDir).length === 0) rmdirSync(projectDir);
    }
  }
}

async function addToProject(info: GeneratorInfo, args: string[], flags: CommonFlags): Promise<void> {
  if (!info.available) {
    throw new ForgeUserError(
      `the ${info.name} generator is not in fastapi-forge ${PACKAGE_VERSION} yet; run \`fastapi-forge list\` to see what is`,
    );
  }
  // Run from a subdirectory, `add` works on the project around it, as git does.
  const projectDir = flags.path ? path.resolve(flags.path) : findProjectRoot(process.cwd());
  await finishInterruptedRun(projectDir, flags);
  requireForgeProject(projectDir);
  checkRestoreRequests(projectDir, flags);
  const options = { ...choiceFlags(info.options, flags), ...deploymentFlags(info.flags ?? [], flags) };
  await runGenerator(info.name, args, options, projectDir, flags);
}

/**
 * `upgrade`: renders the project again with this version from its stored answers; each file the user edited
 * is merged three ways. Exits with status 1 while conflicts remain, listing them.
 */
async function upgradeProject(flags: CommonFlags & { allowDirty?: boolean }): Promise<number> {
  const projectDir = flags.path ? path.resolve(flags.path) : findProjectRoot(process.cwd());
  await finishInterruptedRun(projectDir, flags);
  const config = requireForgeProject(projectDir);
  checkRestoreRequests(projectDir, flags);
  refuseDirtyTree(projectDir, Boolean(flags.allowDirty));
  await runGenerator('app', [], { upgrade: true }, projectDir, { ...flags, yes: true });
  const from = config.generatorVersion ?? 'an unknown version';
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

export function buildProgram(): Command {
  const program = new Command('fastapi-forge')
    .description('Scaffold production-ready FastAPI services, then grow them with sub-generators.')
    .addHelpText(
      'after',
      '\nEvery run writes its files all at once, under a lock on the project (.forge/lock); a run that was\ncut off is finished or rolled back by the next one. See "How files are written" in the README.',
    )
    .version(PACKAGE_VERSION)
    .showSuggestionAfterError();

  const create = program
    .command('new')
    .description('create a project in <dir>/<name>')
    .argument('<name>', 'project name; the Python package is derived from it (my-app -> my_app)')
    .option('--description <text>', 'one-line project description');
  addChoiceOptions(create, ['appType', 'tier', 'db', 'auth', 'agentSdk', 'deploy']);
  create
    .option('--observability', 'Prometheus metrics and OpenTelemetry tracing (default: on at tier 3 only)')
    .option('--no-observability', 'no metrics or tracing, even at tier 3')
    .option(
      '--services <names>',
      `services of a tier-2 or tier-3 project beside its own, comma-separated (default: ${DEFAULT_TIER2_SERVICES.join(',')})`,
    );
  addRunOptions(create, 'directory to create the project in (default: the current directory)');
  create.action(async (name: string, flags: CommonFlags) => newProject(name, flags));

  const add = program.command('add').description('run one sub-generator on an existing project');
  for (const info of GENERATORS.filter((candidate) => candidate.name !== 'app')) {
    const sub = add
      .command(info.name)
      .description(info.available ? info.description : `${info.description} (not in this version)`);
    for (const arg of info.args) sub.argument(`<${arg.name}>`, arg.description);
    addChoiceOptions(sub, info.options);
    addDeploymentOptions(sub, info.flags ?? []);
    addRunOptions(sub, 'the project directory (default: the project the current directory is in)');
    addRestoreOption(sub);
    sub.action(async (...params: unknown[]) => {
      const args = params.slice(0, info.args.length) as string[];
      const flags = params[info.args.length] as CommonFlags;
      await addToProject(info, args, flags);
    });
  }

  const upgrade = program
    .command('upgrade')
    .description(
      'render the project again with this version, merging it three ways into the files you edited',
    )
    .option('--allow-dirty', 'upgrade a git work tree with uncommitted changes (default: false)');
  addRunOptions(upgrade, 'the project directory (default: the project the current directory is in)');
  addRestoreOption(upgrade);
  upgrade.action(async (flags: CommonFlags & { allowDirty?: boolean }) => {
    process.exitCode = await upgradeProject(flags);
  });

  program
    .command('list')
    .description('list the generators and whether this version ships them')
    .action(() => {
      for (const info of GENERATORS) {
        const status = info.available ? '' : ' (not in this version)';
        process.stdout.write(`${info.name.padEnd(14)}${info.description}${status}\n`);
      }
    });
  return program;
}

/** Entry point of the `fastapi-forge` bin. Returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  // A reader that stops early (`fastapi-forge list | head -1`) closes the pipe: the rest of the output
  // has nowhere to go, and the run goes on without it rather than dying with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
  const program = buildProgram();
  program.exitOverride();
  try {
    process.exitCode = undefined;
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its own one-line message (or the help / version).
      return error.exitCode === 0 ? 0 : 2;
    }
    // A file-system error met outside a commit (reading the project, taking its lock) is reported alike.
    const reported = fileSystemError(error, 'the project');
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
