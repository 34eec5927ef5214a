import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Generator, { type BaseOptions, type Storage, type StorageOptions } from 'yeoman-generator';
import {
  CHOICES,
  CONFIG_NAMESPACE,
  type ChoiceKey,
  type ForgeConfig,
  choiceSpec,
  defaultChoices,
  defaultOf,
  hasStoredUsers,
  isSqlDatabase,
  parseChoice,
  wiredDatabase,
} from './config.js';
import { type CommitEnvironment, commitRun, printDiffs, regeneratesFiles } from './commit.js';
import {
  type CommandOption,
  type GeneratorCommand,
  DRY_RUN_OPTION,
  FORCE_OPTION,
  RESTORE_OPTION,
  YES_OPTION,
  asList,
  commandOptions,
} from './command.js';
import { DEPLOY_GENERATORS, generatedTargets } from './deploy.js';
import { configuredGenerators, configuredPlugins } from './composition.js';
import { PLUGIN_PREFIX, pluginNamespace, pluginOfNamespace, shadowsBuiltIn } from './plugins.js';
import { ForgeUserError, fileSystemError, isForgeUserError } from './errors.js';
import {
  addEnvVars,
  addPyprojectDependencies,
  addUvExclusions,
  addUvOverrides,
  envVarsOf,
  excludeForgeFromRuff,
  requirementsOf,
} from './merge.js';
import { type Contribution, type Contributions, contributionsOf, contributorName } from './contributions.js';
import {
  SECTION_BEGIN,
  SECTION_END,
  findGeneratedSection,
  replaceGeneratedSection,
} from './generated-section.js';
import {
  CHECKSUMS_FILE,
  STRUCTURED_FILE,
  COMMENT_SUFFIX,
  readProjectState,
  refuseMissingPackageFolders,
  requireForgeProject,
  restoreRequests,
  WRITTEN_ONCE,
  writtenOnceKey,
} from './project.js';
import { isProjectPath, isRecordKey } from './project-paths.js';
import {
  type EnvVar,
  destinationFor,
  listTemplates,
  readFamilyManifest,
  renderTemplate,
  strayFiles,
  TEMPLATES_ROOT,
} from './templates.js';
import { toTitle } from './naming.js';
import { resourceViews } from './resource-views.js';
import { MIGRATIONS, type Migration, expandPath, migrationsBetween } from './migrations.js';
import {
  findBase,
  firstMerge,
  firstVersion,
  keepDroppedFile,
  mergeThreeWay,
  mergeWithoutListing,
  storedBasePath,
} from './upgrade.js';
import { YAML_OUTPUT, mergeYaml } from './yaml-merge.js';
import { type FileSection, applicableSections } from './files.js';
import { stringify as stringifyYaml } from 'yaml';
import { PACKAGE_VERSION } from './version.js';
import { runState } from './run-state.js';
import { checksumOf, withLf, withLineEndingsOf } from './line-endings.js';

/** Options every forge generator understands, on top of Yeoman's own (--force, --dry-run, --skip-install). */
export type ForgeOptions = BaseOptions & {
  yes?: boolean;
  /** Set when another forge generator composed this one. */
  forgeComposed?: boolean;
  /** Set by the CLI when no terminal answers the conflicter (see mergeIntoEditedFile). */
  forgeNonInteractive?: boolean;
  [flag: string]: unknown;
};

/** How a generated file is kept in step with the config (see the README, "How files are written"). */
export type WriteMode = 'owned' | 'once';

/**
 * After configuring: the generator the user ran composes every generator the stored config calls for
 * ({@link configuredGenerators}), so a run always renders the whole project, in one direction.
 */
const COMPOSING = {
  priorityName: 'composing',
  queueName: 'fastapi-forge:composing',
  before: 'default',
};

/** Before writing: each generator registers what it needs in the core's wiring modules (lib/contributions.ts). */
const CONTRIBUTING = {
  priorityName: 'contributing',
  queueName: 'fastapi-forge:contributing',
  before: 'writing',
};

const POST_WRITING = {
  priorityName: 'postWriting',
  queueName: 'fastapi-forge:postWriting',
  before: 'transform',
};

/**
 * After postWriting: deployment files (compose, Kubernetes, Cloud Run, SAM) are merged once every generator
 * has merged its dependencies and env vars, so they see the project's final settings.
 */
const DEPLOYMENT_WRITING = {
  priorityName: 'deploymentWriting',
  queueName: 'fastapi-forge:deploymentWriting',
  before: 'transform',
};

/** The priorities a generator may contribute in: the wiring modules are rendered from the contributions in `writing`. */
const CONTRIBUTING_PRIORITIES = [
  'initializing',
  'prompting',
  'configuring',
  COMPOSING.priorityName,
  'default',
  CONTRIBUTING.priorityName,
];

/** Yeoman's file of paths to skip; forge records the generated files the user deleted in it. */
const YO_RESOLVE = '.yo-resolve';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** How a generator writes a file: rendering it from a template, or merging into it. */
type FileWrite = 'rendered' | 'merged';

/** The files in which fastapi-forge records the project: its config, the files kept deleted, and `.forge/`. */
const isProjectRecord = (relative: string): boolean =>
  relative === '.yo-rc.json' || relative === YO_RESOLVE || relative.startsWith('.forge/');

/** The records of `.forge/` already reported unreadable in this process, so each is reported once. */
const reportedUnreadable = new Set<string>();

/** A full config: `stored` answers over the spec's defaults and those of what generators record. */
export function withDefaults(stored: Partial<ForgeConfig>): ForgeConfig {
  return {
    ...defaultChoices(stored),
    description: '',
    services: [],
    agents: false,
    dbGenerated: false,
    observability: false,
    examples: false,
    generatorVersion: PACKAGE_VERSION,
    ...stored,
  } as ForgeConfig;
}

/** How Yeoman reads an option from the command line (`yo fastapi-forge:<name> --<flag> ...`). */
function yeomanOption(option: CommandOption): {
  type: typeof String | typeof Boolean | ((value: string) => unknown);
  description: string;
} {
  if (option.type === 'switch') {
    const negation = option.negation ? `; --no-${option.flag}: ${option.negation}` : '';
    return { type: Boolean, description: `${option.description}${negation}` };
  }
  // A list is not `Array`: Yeoman would join repeated values with commas, and values may hold commas.
  return { type: option.type === 'list' ? asList : String, description: option.description };
}

/**
 * Base class of every fastapi-forge generator: one typed config, prompts only for unset answers,
 * owned / write-once / structured file writes, and the source API other generators call
 * (dependencies, env vars).
 */
export abstract class ForgeGenerator extends Generator<Partial<ForgeConfig>, ForgeOptions> {
  /** The generator's declaration (generators/<name>/command.ts), which the CLI reads too. */
  static readonly command?: GeneratorCommand;

  constructor(args: string[], options: ForgeOptions, features?: Record<string, unknown>) {
    // Yeoman reads .yo-rc.json while constructing the generator: a broken file is reported first, in one line.
    const root = options.destinationRoot ?? (options.env as { cwd?: string } | undefined)?.cwd;
    if (root && !options.help && readProjectState(root).kind === 'forge') refuseMissingPackageFolders(root);
    // Yeoman freezes the features, so the commit task reaches this generator through `self`.
    const self: { generator?: ForgeGenerator } = {};
    super(args, options, {
      // The generator the user ran commits the whole run as one transaction (lib/commit.ts).
      customCommitTask: options.forgeComposed ? undefined : () => self.generator?.commitProject(),
      unique: 'namespace',
      customPriorities: [COMPOSING, CONTRIBUTING, POST_WRITING, DEPLOYMENT_WRITING],
      // The project is Python: yeoman-environment's npm install step does not apply. Only the generator the
      // user ran declares it, so composed generators do not report duplicates.
      customInstallTask: options.forgeComposed ? undefined : true,
      ...features,
    } as never);
    for (const option of [YES_OPTION, DRY_RUN_OPTION, FORCE_OPTION])
      this.option(option.flag, yeomanOption(option));
    this.option(RESTORE_OPTION.flag, {
      // Not `String`: Yeoman would join several paths into one.
      type: (value: string) => restoreRequests(value),
      description: RESTORE_OPTION.description,
    });
    const command = (new.target as typeof ForgeGenerator).command;
    if (command) this.declare(command);
    self.generator = this;
    // Queued by the base class, so that no generator composes another only to have it rendered again.
    if (!options.forgeComposed && !options.help) {
      this.on('queueOwnTasks', () => {
        this.queueTask({
          method: () => this.composeConfigured(),
          taskName: 'composeConfigured',
          queueName: COMPOSING.queueName,
        });
      });
    }
  }

  /**
   * The generator the user ran composes every generator the stored config calls for, in one fixed order,
   * once the answers of this run are stored. Each then contributes its part of the wiring, so `add auth` on a
   * project with a database and agents renders the wiring of all three; no generator composes another back.
   */
  private async composeConfigured(): Promise<void> {
    if (!this.forge.projectName || !this.rendersProject) return;
    // A project made before the example route became optional (`--examples`) keeps the one it has.
    const echo = this.destinationPath('src', this.answers.packageName, 'routes', 'echo.py');
    if (this.forge.examples === undefined && this.fs.exists(echo)) this.config.set('examples', true);
    // A plugin run on its own (`add <plugin>`, `yo fastapi-forge-<plugin>`) is recorded, so later runs compose it.
    // So are the plugins of a spec (`new --spec`), given as `forgePlugins`.
    const plugin = pluginOfNamespace(this._namespace);
    const recorded = configuredPlugins(this.forge);
    const adding = [
      ...((this.options.forgePlugins as string[] | undefined) ?? []),
      ...(plugin ? [plugin] : []),
    ];
    const plugins = [...new Set([...recorded, ...adding])];
    const env = this.env as unknown as { getGeneratorMeta(namespace: string): unknown };
    const shadowing = plugins.find((name) => env.getGeneratorMeta(`fastapi-forge:${name}`));
    if (shadowing !== undefined) throw new ForgeUserError(shadowsBuiltIn(shadowing));
    if (plugins.length > recorded.length) this.config.set('plugins', plugins);
    this.contributions.composeInOrder([
      ...configuredGenerators(this.answers).map((name) => `fastapi-forge:${name}`),
      ...configuredPlugins(this.forge).map(pluginNamespace),
    ]);
    for (const name of configuredGenerators(this.answers)) {
      // An environment holding only some of them (a test's) renders what it has.
      if (env.getGeneratorMeta(`fastapi-forge:${name}`)) await this.composeForge(name);
    }
    for (const name of configuredPlugins(this.forge)) {
      const namespace = pluginNamespace(name);
      // Without it, this run would render the project without the plugin's wiring and drop its part.
      if (!env.getGeneratorMeta(namespace)) {
        throw new ForgeUserError(
          `this project uses the plugin ${name} (plugins in .yo-rc.json), but no ${PLUGIN_PREFIX}${name} is installed where Yeoman looks; install it and run again`,
        );
      }
      await this.composeNamespace(namespace);
    }
  }

  /**
   * False for generators that only add files beside the project's code (deployment targets): run on their
   * own, they do not render the rest of the project again.
   */
  protected readonly rendersProject: boolean = true;

  /**
   * Registers this generator's part of the core's wiring modules; call it in the `contributing` priority (or
   * earlier). From `writing` on the wiring modules are rendered from what was collected, so a later call is
   * refused in one line rather than half taken.
   */
  protected contribute(contribution: Contribution): void {
    const running = this.runningState;
    const priority = Object.values(this._queues).find((queue) => queue.queueName === running?.queueName);
    if (running && priority && !CONTRIBUTING_PRIORITIES.includes(priority.priorityName)) {
      throw new ForgeUserError(
        `${contributorName(this._namespace)} contributes in ${running.methodName}(), of the ${priority.priorityName} priority, when the wiring is already rendered: contributions belong in contributing() (docs/contributions.md)`,
      );
    }
    contributionsOf(this.env).add(this._namespace, contribution);
  }

  /** A partial of the templates folder (e.g. `auth/readme/section.md.ejs`) rendered with this run's context. */
  protected renderPartial(relative: string): string {
    return renderTemplate(path.join(TEMPLATES_ROOT, relative), this.templateContext());
  }

  /** Everything this run's generators contributed; complete from the `writing` priority on. */
  protected get contributions(): Contributions {
    return contributionsOf(this.env);
  }

  /** Registers the generator's description, arguments and options with Yeoman, from its declaration. */
  private declare(command: GeneratorCommand): void {
    this.description = command.description;
    for (const arg of command.args ?? []) {
      // Optional here: each generator says what a missing argument means (a default, or a one-line error).
      this.argument(arg.name, { type: String, required: false, description: arg.description });
    }
    for (const option of commandOptions(command)) this.option(option.flag, yeomanOption(option));
  }

  /** Records the running version when the run regenerates files, then commits everything at once. */
  private async commitProject(): Promise<void> {
    const env = this.env as unknown as CommitEnvironment;
    const root = this.destinationRoot();
    if (this.options.upgrade) this.removeDroppedFiles();
    this.flushChecksums();
    if (this.options.dryRun && this.options.upgrade)
      printDiffs(env, root, (text) => process.stdout.write(text));
    if (this.forge.projectName && regeneratesFiles(env, root)) {
      this.config.set('generatorVersion', PACKAGE_VERSION);
    }
    await commitRun(env, root);
  }

  /**
   * Composes another generator of this package (a no-op when it is already part of this run). Yeoman does not
   * share `--force` with composed generators, and their merges need it, so it is passed on.
   */
  protected async composeForge(name: string): Promise<void> {
    await this.composeNamespace(`fastapi-forge:${name}`);
  }

  private async composeNamespace(namespace: string): Promise<void> {
    const generatorOptions = {
      forgeComposed: true,
      force: Boolean(this.options.force),
      restore: restoreRequests(this.options.restore),
      upgrade: Boolean(this.options.upgrade),
      forgeNonInteractive: Boolean(this.options.forgeNonInteractive),
    };
    await this.composeWith(namespace, { generatorOptions } as never);
  }

  /** The stored answers (validated on the way in). */
  protected get forge(): Partial<ForgeConfig> {
    return this.config.getAll();
  }

  /** The full config: stored answers over the spec's defaults. */
  protected get answers(): ForgeConfig {
    return withDefaults(this.forge);
  }

  /** Validates `.yo-rc.json` before anything reads it: a broken file must never be written over. */
  protected checkProject({ mustExist }: { mustExist: boolean }): void {
    const root = this.destinationRoot();
    if (mustExist) {
      requireForgeProject(root);
      return;
    }
    const state = readProjectState(root);
    if (state.kind === 'foreign') {
      throw new ForgeUserError(
        `${root} already exists and is not a fastapi-forge project (${state.reason}); choose another name or --path`,
      );
    }
  }

  /**
   * For sub-generators: the project must exist (on disk, or configured earlier in this run by `app`).
   * A broken `.yo-rc.json` is reported before anything reads it.
   */
  protected requireConfiguredProject(): void {
    readProjectState(this.destinationRoot());
    if (!this.forge.projectName) {
      requireForgeProject(this.destinationRoot());
      throw new ForgeUserError(
        `${this.relativeToCwd(this.destinationRoot())} has no project name in .yo-rc.json`,
      );
    }
  }

  /**
   * Applies `--<flag>` options to the config. A value may be set once; changing a value that is
   * already in use (other than from "none") is refused instead of half-migrating a project.
   */
  protected applyChoiceOptions(keys: ChoiceKey[]): void {
    for (const key of keys) {
      const spec = choiceSpec(key);
      const raw = this.options[spec.flag];
      if (raw === undefined || raw === null || raw === '') continue;
      const value = parseChoice(key, raw, `--${spec.flag}`);
      const stored = this.forge[key];
      if (stored !== undefined && stored !== value && stored !== 'none') {
        throw new ForgeUserError(
          `${spec.description} is already "${stored}" in .yo-rc.json; changing it to "${value}" is not supported`,
        );
      }
      this.config.set(key, value as never);
    }
  }

  /** Asks the spec's clarifications that are still unanswered; with --yes, takes their defaults. */
  protected async askMissing(keys: ChoiceKey[]): Promise<void> {
    const missing = CHOICES.filter((spec) => keys.includes(spec.key) && this.forge[spec.key] === undefined);
    if (missing.length === 0) return;
    if (this.options.yes) {
      // In order: a default that depends on an earlier answer (the tier) sees it.
      for (const spec of missing) this.config.set(spec.key, defaultOf(spec, this.forge) as never);
      return;
    }
    const ordered = [...missing.filter((spec) => spec.required), ...missing.filter((spec) => !spec.required)];
    const answers = await this.prompt(
      ordered.map((spec) => ({
        type: 'select' as const,
        name: spec.key,
        message: spec.question,
        // A default that depends on an earlier answer (the tier) is given the answers so far.
        default: spec.defaultFor
          ? (answers: Partial<ForgeConfig>) => defaultOf(spec, { ...this.forge, ...answers })
          : spec.default,
        choices: spec.choices.map((choice) => ({ name: choice.label, value: choice.value })),
      })),
    );
    for (const spec of ordered)
      this.config.set(spec.key, (answers[spec.key] ?? defaultOf(spec, this.forge)) as never);
  }

  /**
   * `add db` or `add auth` run by the user on a project whose answer is "none": that was an answer, so
   * {@link askMissing} would ask nothing and the run would do nothing. The question is asked again in a
   * terminal, without "none"; with --yes or without a terminal the flag to pass is named.
   */
  protected async askInsteadOfNone(key: ChoiceKey): Promise<void> {
    const spec = choiceSpec(key);
    const given = this.options[spec.flag];
    if (this.options.forgeComposed || this.forge[key] !== 'none' || (given !== undefined && given !== ''))
      return;
    const choices = spec.choices.filter((choice) => choice.value !== 'none');
    const missing = `this project has no ${spec.description}; name the one to add with --${spec.flag} ${choices.map((choice) => choice.value).join('|')}`;
    if (this.options.yes) throw new ForgeUserError(missing);
    let answers: Record<string, unknown>;
    try {
      answers = await this.prompt([
        {
          type: 'select' as const,
          name: key,
          message: spec.question,
          choices: choices.map((choice) => ({ name: choice.label, value: choice.value })),
        },
      ]);
    } catch (error) {
      if (isForgeUserError(error)) throw new ForgeUserError(`${missing} (there is no terminal to ask)`);
      throw error;
    }
    this.config.set(key, parseChoice(key, answers[key], `answer to "${spec.question}"`) as never);
  }

  /** The values templates are rendered with. */
  protected templateContext(): Record<string, unknown> {
    const config = this.answers;
    // `db` is the database the code is wired to, so wiring never imports a module not generated yet.
    const db = wiredDatabase(config);
    const sql = isSqlDatabase(db);
    return {
      ...config,
      db,
      users: hasStoredUsers(config.auth, db),
      // Agent runs and jobs are recorded in the SQL database when there is one.
      agentJobs: sql && config.agents,
      // Resources from `add resource` in the project's own package, with the names and types their
      // templates use (a workspace service's are in its member context).
      resources: sql ? resourceViews(config.resources ?? []) : [],
      title: toTitle(config.projectName),
      // A workspace's root renders the core as the shared package does, so its modules re-export libs'.
      sharedCore: config.services.length > 0,
      // The marker lines around the generated section of a README (see lib/generated-section.ts).
      sectionBegin: `${SECTION_BEGIN}: regenerated as the project grows; write your own text above or below it -->`,
      sectionEnd: SECTION_END,
    };
  }

  /**
   * Renders a template family (e.g. `api`, `auth/jwt`) into the project. Files listed in `once`
   * (destination paths) are user-owned: written when missing, never rewritten. Every other file is owned.
   */
  protected renderFamily(
    family: string,
    once: ReadonlySet<string> = new Set(),
    context: Record<string, unknown> = this.templateContext(),
  ): void {
    // A plugin's templates folder holds templates and its forge.json only (docs/contributions.md).
    const stray = pluginOfNamespace(this._namespace) === undefined ? undefined : strayFiles(family)[0];
    if (stray !== undefined) {
      throw new ForgeUserError(
        `${this._namespace}: ${path.join(family, stray)} is no template, so it would not be written: a template's name ends in .ejs`,
      );
    }
    this.writeSections([{ families: [family], once: [...once] }], context);
  }

  /** Renders the sections of a generator's files (its `files.ts`, lib/files.ts) that apply in `context`. */
  protected writeSections(
    sections: readonly FileSection[],
    context: Record<string, unknown> = this.templateContext(),
  ): void {
    for (const section of applicableSections(sections, context)) {
      if (!section.render) continue;
      const packageName = String(section.context.packageName);
      for (const family of section.families) {
        for (const template of listTemplates(family).filter((t) => section.renders(t.relative))) {
          const destination = destinationFor(section.named(template.relative), packageName);
          const content = renderTemplate(template.source, section.context);
          const mode = section.once.has(destination) ? 'once' : 'owned';
          this.writeFile(path.posix.join(section.into, destination), content, mode);
        }
      }
    }
  }

  /** Merges the forge.json of each section that applies and names its heading (dependencies, env vars). */
  protected mergeSectionManifests(
    sections: readonly FileSection[],
    context: Record<string, unknown> = this.templateContext(),
  ): void {
    for (const section of applicableSections(sections, context)) {
      const heading = section.manifest;
      if (heading === undefined) continue;
      for (const family of section.families) this.mergeFamilyManifest(family, heading);
    }
  }

  /**
   * Writes one file.
   * - `once`: user-owned, written only when it does not exist yet. A generated section in it (a README's)
   *   is rendered again at every run, see {@link writeGeneratedSection}.
   * - `owned`: rendered from the config at every run. If the file on disk is exactly what forge wrote last
   *   time, an update replaces it without asking; if the user edited it, the conflicter asks (or, without a
   *   terminal, keeps the user's file and reports it); `--force` overwrites.
   */
  protected writeFile(relative: string, content: string, mode: WriteMode): void {
    this.claimFile(relative, 'rendered');
    const target = this.destinationPath(relative);
    if (mode === 'once') {
      // A record that forge wrote it, so that a user-owned file the user deleted is told from a new one.
      const checksums = this.readChecksums();
      const key = writtenOnceKey(relative);
      if (!this.existsInProject(target)) {
        const deleted = checksums[key] !== undefined;
        if (deleted && this.keepsDeleted(relative)) return;
        this.fs.write(target, content);
        // Restored: written although .yo-resolve on disk still lists it (this run removes the line).
        if (deleted) this.markForced(target);
      } else if (this.options.upgrade && firstMerge(relative)) this.upgradeWriteOnceFile(relative, content);
      if (checksums[key] === undefined) {
        checksums[key] = WRITTEN_ONCE;
        this.writeChecksums(checksums);
      }
      const section = findGeneratedSection(content);
      if (section) this.writeGeneratedSection(relative, section.text);
      return;
    }
    this.renderedFiles().set(relative, this._namespace);
    const checksums = this.readChecksums();
    const deleted = checksums[relative] !== undefined && !this.existsInProject(target);
    if (deleted && this.keepsDeleted(relative)) return;
    const onDisk = this.fs.exists(target) ? this.fs.read(target) : undefined;
    const rendered = withLineEndingsOf(onDisk, content);
    // `upgrade`, and `apply` (a spec's change reaches the files the user edited), merge three ways.
    if (
      (this.options.upgrade || this.options.forgeMergeEdits) &&
      onDisk !== undefined &&
      onDisk !== rendered
    ) {
      if (checksums[relative] !== checksumOf(onDisk)) {
        if (firstMerge(relative)) this.upgradeEditedFile(relative, onDisk, content, checksums);
        return;
      }
    }
    if (
      onDisk !== undefined &&
      onDisk !== rendered &&
      this.changesEditedFile(relative, onDisk, content, checksums)
    ) {
      if (firstMerge(relative)) this.mergeIntoEditedFile(relative, onDisk, content, checksums);
      return;
    }
    this.fs.write(target, rendered);
    // A restored file is written even though .yo-resolve on disk still lists it (this run removes the line).
    if (
      deleted ||
      (onDisk !== undefined && onDisk !== rendered && checksums[relative] === checksumOf(onDisk))
    ) {
      this.markForced(target);
    }
    checksums[relative] = checksumOf(content);
    this.writeChecksums(checksums);
  }

  /** The owned files this run has rendered so far, each with the generator that rendered it. */
  private renderedFiles(): Map<string, string> {
    return runState(this.env, 'rendered-files', () => new Map<string, string>());
  }

  /**
   * Records that this generator writes a file of the project, rendering it from a template or merging into
   * it. Generators of this package may share one, and every generator merges into the shared structured
   * files (pyproject.toml, .env.example). A plugin rendering a file that another generator writes would
   * replace it, or be replaced, unseen, and one rendering the project's records (.yo-rc.json, .yo-resolve,
   * .forge/) would corrupt them: the run stops in one line instead, before anything is written.
   */
  private claimFile(relative: string, how: FileWrite): void {
    const renders = (namespace: string, writes: FileWrite): boolean =>
      writes === 'rendered' && pluginOfNamespace(namespace) !== undefined;
    if (renders(this._namespace, how) && isProjectRecord(relative)) {
      throw new ForgeUserError(
        `${this._namespace} writes ${relative}, a record fastapi-forge keeps of the project: a plugin's files need paths of their own`,
      );
    }
    const register = runState(this.env, 'written-files', () => new Map<string, Map<string, FileWrite>>());
    const writers = register.get(relative) ?? new Map<string, FileWrite>();
    for (const [namespace, writes] of writers) {
      if (namespace === this._namespace) continue;
      const plugin = renders(this._namespace, how)
        ? this._namespace
        : renders(namespace, writes)
          ? namespace
          : undefined;
      if (plugin === undefined) continue;
      const other = plugin === this._namespace ? namespace : this._namespace;
      throw new ForgeUserError(
        `${plugin} writes ${relative}, which ${other} writes too: a plugin's files need paths of their own`,
      );
    }
    if (writers.get(this._namespace) !== 'rendered') writers.set(this._namespace, how);
    register.set(relative, writers);
  }

  /**
   * `upgrade`, once every file is rendered: a file the last version generated (it has a checksum in
   * .forge/) that this version no longer renders is removed while it is what forge wrote, as `copier
   * update` does, so no stale module or test is left behind. One the user edited is kept, becomes theirs
   * (its record goes) and is listed at the end of the run. One the user deleted keeps its record.
   */
  private removeDroppedFiles(): void {
    const checksums = this.readChecksums();
    const rendered = this.renderedFiles();
    const dropped = Object.keys(checksums).filter(
      (key) =>
        !key.endsWith('#once') && !rendered.has(key) && this.existsInProject(this.destinationPath(key)),
    );
    if (dropped.length === 0) return;
    this.writeChecksums(
      Object.fromEntries(Object.entries(checksums).filter(([key]) => !dropped.includes(key))),
    );
    for (const relative of dropped) {
      const target = this.destinationPath(relative);
      const base = this.destinationPath(storedBasePath(relative));
      if (this.fs.exists(base)) this.fs.delete(base);
      if (checksumOf(this.fs.read(target)) !== checksums[relative]) {
        keepDroppedFile(relative);
        continue;
      }
      this.fs.delete(target);
      // Unedited: removed without asking, as an unedited file is replaced.
      this.markForced(target);
      this.log.info(`removed ${relative}: fastapi-forge ${PACKAGE_VERSION} no longer generates it`);
    }
  }

  /**
   * True when the project has `target`, as this run sees it. mem-fs takes a file it cannot read (no read
   * permission, a directory in its place) for a missing one, which would be recorded as deleted by the
   * user: such a file stops the run in one line naming it, before anything is written.
   */
  private existsInProject(target: string): boolean {
    if (this.fs.exists(target)) return true;
    // Created or deleted by this run: mem-fs knows. Otherwise it read the disk, and found nothing readable.
    if ((this.fs.store.get(target) as { state?: string }).state !== undefined) return false;
    if (!existsSync(target)) return false;
    try {
      readFileSync(target);
    } catch (error) {
      throw fileSystemError(
        error,
        path.relative(this.destinationRoot(), target),
        'nothing was changed',
        'read',
      );
    }
    return false;
  }

  /**
   * A file forge generated before (it has a record in .forge/) that is no longer there was deleted by the
   * user: it stays deleted, recorded in .yo-resolve as `<path> skip`, and is reported once, when first
   * recorded. `--restore <path>` brings it back and removes the record. Returns true when it stays deleted.
   */
  private keepsDeleted(relative: string): boolean {
    const target = this.destinationPath(YO_RESOLVE);
    const lines = this.fs.exists(target) ? this.fs.read(target).split(/\r?\n/) : [];
    const recordsIt = (line: string): boolean =>
      line
        .split('#')[0]
        ?.trim()
        .split(/[\s+=]/)[0] === relative;
    if (restoreRequests(this.options.restore).includes(relative)) {
      if (lines.some(recordsIt)) {
        const rest = lines.filter((line) => !recordsIt(line));
        if (rest.some((line) => line.trim() !== '')) this.writeMerged(target, rest.join('\n'));
        else this.fs.delete(target);
      }
      this.log.info(`restored ${relative}`);
      return false;
    }
    // Every run merges into pyproject.toml, and the project cannot be installed without it.
    if (relative === 'pyproject.toml') {
      throw new ForgeUserError(
        `${relative} is missing (deleted, or a broken symlink) and the project needs it: run again with --restore ${relative} to get it back, or restore it yourself; nothing was changed`,
      );
    }
    if (lines.some(recordsIt)) return true;
    const kept = `${relative} skip # deleted by you; \`--restore ${relative}\` brings it back`;
    const text = lines.join('\n');
    this.writeMerged(target, text === '' ? `${kept}\n` : `${text.replace(/\n*$/, '\n')}${kept}\n`);
    this.log.info(
      `kept deleted: ${relative} (recorded in ${YO_RESOLVE}; run again with --restore ${relative} to get it back)`,
    );
    return true;
  }

  /** `upgrade`: a write-once module takes what the new version changed in it, three ways, with the user's edits. */
  private upgradeWriteOnceFile(relative: string, content: string): void {
    // Structured files take what the new rendering adds, key by key; the README follows its generated section.
    if (relative === 'README.md') return;
    if (relative === '.env.example') {
      this.addEnvExample(envVarsOf(content));
      return;
    }
    if (relative === 'pyproject.toml') {
      for (const { group, requirements } of requirementsOf(content))
        this.addPythonDependencies(requirements, group);
      const target = this.destinationPath(relative);
      this.writeMerged(target, excludeForgeFromRuff(this.fs.read(target)));
      return;
    }
    const base = firstVersion(this.destinationRoot(), relative);
    if (base === undefined || base === content) return;
    const target = this.destinationPath(relative);
    const merged = mergeThreeWay(relative, this.fs.read(target), base, content);
    this.writeMerged(target, merged.content);
    if (merged.conflict) this.log.info(`${relative}: conflicts with your edits; resolve the <<<<<<< markers`);
  }

  /**
   * `upgrade`: applies the migration steps of the versions since the project's own (lib/migrations.ts) in
   * memory, before the project is rendered again. A renamed file keeps the user's edits and its checksum; a
   * removed one goes only while it is what forge wrote (an edited one is kept and reported).
   */
  protected applyMigrations(migrations: readonly Migration[] = MIGRATIONS): void {
    let checksums = this.readChecksums();
    const before = JSON.stringify(checksums);
    const without = (key: string): Record<string, string> =>
      Object.fromEntries(Object.entries(checksums).filter(([file]) => file !== key));
    const packageName = this.answers.packageName;
    for (const migration of migrationsBetween(this.forge.generatorVersion, PACKAGE_VERSION, migrations)) {
      for (const [fromTemplate, toTemplate] of migration.renames ?? []) {
        const [from, to] = [expandPath(fromTemplate, packageName), expandPath(toTemplate, packageName)];
        if (this.fs.exists(this.destinationPath(to))) continue;
        if (!this.existsInProject(this.destinationPath(from))) {
          // Deleted by the user: the record follows the rename, so the file stays deleted under its new name.
          const checksum = checksums[from];
          if (checksum === undefined) continue;
          checksums = without(from);
          checksums[to] = checksum;
          continue;
        }
        this.fs.move(this.destinationPath(from), this.destinationPath(to));
        const checksum = checksums[from];
        checksums = without(from);
        if (checksum) checksums[to] = checksum;
        this.log.info(`${migration.version}: moved ${from} to ${to} (${migration.description})`);
      }
      for (const template of migration.removals ?? []) {
        const file = expandPath(template, packageName);
        const target = this.destinationPath(file);
        if (!this.fs.exists(target)) continue;
        if (checksums[file] !== checksumOf(this.fs.read(target))) {
          this.log.info(`${migration.version}: kept ${file}, which you edited (${migration.description})`);
          continue;
        }
        this.fs.delete(target);
        checksums = without(file);
        this.log.info(`${migration.version}: removed ${file} (${migration.description})`);
      }
    }
    if (JSON.stringify(checksums) !== before) this.writeChecksums(checksums);
  }

  /** `upgrade`: the new rendering of a file the user edited is merged into it three ways. */
  private upgradeEditedFile(
    relative: string,
    onDisk: string,
    content: string,
    checksums: Record<string, string>,
  ): void {
    const base = findBase(this.destinationRoot(), relative, checksums[relative], onDisk);
    const merged = mergeThreeWay(relative, onDisk, base, content, this.options.upgrade ? 'upgrade' : 'apply');
    this.writeMerged(this.destinationPath(relative), merged.content);
    if (merged.conflict) this.log.info(`${relative}: conflicts with your edits; resolve the <<<<<<< markers`);
    this.writeMerged(this.destinationPath(storedBasePath(relative)), content);
    checksums[relative] = checksumOf(content);
    this.writeChecksums(checksums);
  }

  /**
   * True when the user edited a file forge wrote (its record says what) and this run renders it otherwise:
   * keeping the user's version whole would leave the project half wired (a route importing a dependency
   * that the kept module does not define).
   */
  private changesEditedFile(
    relative: string,
    onDisk: string,
    content: string,
    checksums: Record<string, string>,
  ): boolean {
    const recorded = checksums[relative];
    return recorded !== undefined && recorded !== checksumOf(onDisk) && recorded !== checksumOf(content);
  }

  /**
   * A run that changes a file the user edited merges the change into the user's version three ways, as
   * `upgrade` does. When it cannot (no base to merge from, or the change overlaps the user's lines), a run
   * without a terminal stops before anything is written; with one, the conflicter asks, and `--force`
   * replaces the file.
   */
  private mergeIntoEditedFile(
    relative: string,
    onDisk: string,
    content: string,
    checksums: Record<string, string>,
  ): void {
    const target = this.destinationPath(relative);
    const base = findBase(this.destinationRoot(), relative, checksums[relative], onDisk);
    const merged =
      base === undefined ? undefined : mergeWithoutListing(relative, onDisk, base, content, 'apply');
    if (merged !== undefined && !merged.conflict) {
      this.writeMerged(target, merged.content);
      this.writeMerged(this.destinationPath(storedBasePath(relative)), content);
      this.log.info(`${relative}: this run's changes are merged with your edits`);
      checksums[relative] = checksumOf(content);
      this.writeChecksums(checksums);
      return;
    }
    if (this.options.force || !this.options.forgeNonInteractive) {
      this.fs.write(target, withLineEndingsOf(onDisk, content));
      checksums[relative] = checksumOf(content);
      this.writeChecksums(checksums);
      return;
    }
    const why =
      merged === undefined
        ? 'what fastapi-forge wrote there last is not in .forge/base or git history'
        : 'the change overlaps lines you changed';
    throw new ForgeUserError(
      `${relative}: you edited it and this run changes it, but ${why}; nothing was written. Set your edits aside (e.g. \`git stash\`), run again and put them back, or replace your version with --force`,
    );
  }

  /**
   * Keeps the generated section of a user-owned file in step with the config, like an owned file: replaced
   * silently while it is what forge wrote last, kept and reported once the user edited it (`--force` replaces
   * it). The text around it is never touched; a file whose markers the user removed is left alone.
   */
  private writeGeneratedSection(relative: string, section: string): void {
    const target = this.destinationPath(relative);
    const key = `${relative}#generated`;
    const checksums = this.readChecksums();
    const onDisk = this.fs.read(target);
    const current = findGeneratedSection(onDisk);
    if (!current) {
      this.log.info(`${relative}: its generated section markers are gone, so it is left as it is`);
      return;
    }
    if (withLf(current.text) !== section) {
      const edited = checksums[key] !== checksumOf(current.text);
      if (edited && !this.options.force) {
        this.log.info(
          `${relative}: kept your edits of its generated section; run with --force to replace them`,
        );
        return;
      }
      if (edited) this.log.info(`${relative}: --force replaced your edits of its generated section`);
      this.writeMerged(target, replaceGeneratedSection(onDisk, current, section));
    }
    if (checksums[key] !== checksumOf(section)) {
      checksums[key] = checksumOf(section);
      this.writeChecksums(checksums);
    }
  }

  private readChecksums(): Record<string, string> {
    const pending = this.pendingChecksums().get(this.destinationPath(CHECKSUMS_FILE));
    if (pending) return { ...pending };
    return this.readRecord(
      CHECKSUMS_FILE,
      (stored): stored is Record<string, string> =>
        isPlainObject(stored) &&
        Object.entries(stored).every(([key, value]) => typeof value === 'string' && isRecordKey(key)),
    );
  }

  /**
   * A JSON record of `.forge/`, or an empty one when it is missing. One that is not JSON or not of its shape
   * (cut short, edited by hand) is treated as missing, with one warning: every file then counts as the
   * user's where it differs from the rendering, so no edit is lost, and this run writes the record again.
   */
  private readRecord<T extends object>(relative: string, isValid: (stored: unknown) => stored is T): T {
    const target = this.destinationPath(relative);
    if (!this.fs.exists(target)) return {} as T;
    const text = this.fs.read(target);
    // Every file written reads and writes the checksums again: the last text read is parsed once.
    const parsed = runState(this.env, 'parsed-records', () => new Map<string, { text: string; value: T }>());
    const last = parsed.get(target);
    if (last?.text === text) return { ...last.value };
    let stored: unknown;
    try {
      stored = JSON.parse(text);
    } catch {
      stored = undefined;
    }
    if (isValid(stored)) {
      // Only flat records: a copy of one with nested values would share them with the next reader.
      if (Object.values(stored).every((value) => typeof value === 'string'))
        parsed.set(target, { text, value: { ...stored } });
      return stored;
    }
    if (!reportedUnreadable.has(target)) {
      reportedUnreadable.add(target);
      this.log.info(
        `warning: ${relative} is unreadable, so it is ignored: files that differ from what fastapi-forge would write are kept as yours`,
      );
    }
    return {} as T;
  }

  /**
   * Every file written changes the checksums: they are kept in memory and written once, when the run commits
   * (writing the record at each file made a run's cost grow with the square of its files). The first write
   * goes to the file at once, so the record keeps its place among the run's files.
   */
  private writeChecksums(checksums: Record<string, string>): void {
    const target = this.destinationPath(CHECKSUMS_FILE);
    const pending = this.pendingChecksums();
    if (!pending.has(target)) this.storeChecksums(target, checksums);
    pending.set(target, { ...checksums });
  }

  /** Checksums written during the run and not yet in their file, by the file's path. */
  private pendingChecksums(): Map<string, Record<string, string>> {
    return runState(this.env, 'pending-checksums', () => new Map<string, Record<string, string>>());
  }

  private flushChecksums(): void {
    const pending = this.pendingChecksums();
    for (const [target, checksums] of pending) this.storeChecksums(target, checksums);
    pending.clear();
  }

  private storeChecksums(target: string, checksums: Record<string, string>): void {
    const sorted = Object.fromEntries(Object.entries(checksums).sort(([a], [b]) => a.localeCompare(b)));
    this.fs.writeJSON(target, sorted);
    this.markForced(target);
  }

  // ---- Source API: what one generator asks of the project's shared files. ----

  /** Adds requirements to pyproject.toml (or a dependency group), keeping the user's pins and comments. */
  protected addPythonDependencies(requirements: string[], group?: string): void {
    if (requirements.length === 0) return;
    const target = this.destinationPath('pyproject.toml');
    const content = this.fs.read(target);
    this.writeMerged(target, addPyprojectDependencies(content, requirements, group));
  }

  /** Makes uv resolve these versions whatever a dependency declares (`[tool.uv] override-dependencies`). */
  protected addUvOverrides(requirements: string[], reason: string): void {
    if (requirements.length === 0) return;
    const target = this.destinationPath('pyproject.toml');
    this.writeMerged(target, addUvOverrides(this.fs.read(target), requirements, reason));
  }

  /** Leaves dependencies of a dependency uninstalled (`[tool.uv] exclude-dependencies`). */
  protected addUvExclusions(exclusions: Record<string, string[]>, reason: string): void {
    const target = this.destinationPath('pyproject.toml');
    this.writeMerged(target, addUvExclusions(this.fs.read(target), exclusions, reason));
  }

  /** Adds env vars to `.env.example` unless the file mentions them already. */
  protected addEnvExample(vars: EnvVar[], heading?: string): void {
    if (vars.length === 0) return;
    const target = this.destinationPath('.env.example');
    // Kept deleted (this run said so when it rendered the file): not created again with only these lines.
    if (!this.fs.exists(target) && this.readChecksums()[writtenOnceKey('.env.example')] !== undefined) return;
    const content = this.fs.exists(target) ? this.fs.read(target) : '';
    this.writeMerged(target, addEnvVars(content, vars, heading));
  }

  /** A merge keeps everything the user wrote, so its result is written without a conflict prompt. */
  protected writeMerged(target: string, merged: string): void {
    this.claimFile(path.relative(this.destinationRoot(), target).split(path.sep).join('/'), 'merged');
    const existing = this.fs.exists(target) ? this.fs.read(target) : undefined;
    // Merges insert lines ending in \n: a file the user keeps with CRLF endings keeps them throughout.
    const content = withLineEndingsOf(existing, merged);
    if (existing === content) return;
    this.fs.write(target, content);
    this.markForced(target);
  }

  private markForced(target: string): void {
    (this.fs.store.get(target) as { conflicter?: string }).conflicter = 'force';
  }

  /** Merges a template family's `forge.json` (dependencies and env vars) into the project. */
  protected mergeFamilyManifest(family: string, heading: string): void {
    const manifest = readFamilyManifest(family);
    this.addPythonDependencies(manifest.dependencies ?? []);
    this.addPythonDependencies(manifest.devDependencies ?? [], 'dev');
    if (manifest.uvOverrides)
      this.addUvOverrides(manifest.uvOverrides.requirements, manifest.uvOverrides.reason);
    if (manifest.uvExclusions)
      this.addUvExclusions(manifest.uvExclusions.exclusions, manifest.uvExclusions.reason);
    this.claimEnvironment(manifest.env ?? []);
    this.addEnvExample(manifest.env ?? [], heading);
  }

  /**
   * Records the environment variables this generator declares. Features may share one (`REDIS_URL`), but a
   * plugin declaring one of another generator's would be read by both for different things: refused.
   */
  protected claimEnvironment(variables: readonly EnvVar[]): void {
    const declared = runState(this.env, 'environment', () => new Map<string, string>());
    for (const { name } of variables) {
      this.claim(declared, name, (plugin, other) => {
        return `${plugin} declares the environment variable ${name}, which ${other} declares too: a plugin's settings need names of their own`;
      });
    }
  }

  /**
   * Records that this generator owns `key` in a run's register (files, variables). Built-in generators may
   * share one; a plugin sharing one with another generator stops the run in one line (`message`, given
   * the plugin first), whichever of the two came first.
   */
  private claim(
    register: Map<string, string>,
    key: string,
    message: (plugin: string, other: string) => string,
  ): void {
    const earlier = register.get(key);
    if (earlier === undefined) {
      register.set(key, this._namespace);
      return;
    }
    if (earlier === this._namespace) return;
    const plugin = [this._namespace, earlier].find((namespace) => pluginOfNamespace(namespace));
    if (plugin !== undefined) {
      throw new ForgeUserError(message(plugin, plugin === earlier ? this._namespace : earlier));
    }
  }

  /**
   * Merges generated YAML into a project file (three-way, see lib/yaml-merge.ts): values the user left
   * alone follow the generator, the user's own keys, edits and comments survive, and an edit the
   * generator would have changed is kept and reported (`--force` takes the generated value).
   * `owner` names the contributor, so several generators can each own part of one file.
   */
  protected mergeYamlFile(
    relative: string,
    generated: string,
    owner: string,
    keysBefore: Record<string, string[]> = {},
  ): void {
    this.claimFile(relative, 'merged');
    const target = this.destinationPath(relative);
    const structuredPath = this.destinationPath(STRUCTURED_FILE);
    const store = this.readRecord(
      STRUCTURED_FILE,
      (stored): stored is Record<string, Record<string, unknown>> =>
        isPlainObject(stored) &&
        Object.entries(stored).every(([key, value]) => isPlainObject(value) && isProjectPath(key)),
    );
    const deleted = store[relative] !== undefined && !this.existsInProject(target);
    if (deleted && this.keepsDeleted(relative)) return;
    const commentKey = `${owner}${COMMENT_SUFFIX}`;
    const baseComment = store[relative]?.[commentKey];
    const result = mergeYaml(
      this.fs.exists(target) ? this.fs.read(target) : undefined,
      generated,
      store[relative]?.[owner],
      {
        file: relative,
        preferGenerated: Boolean(this.options.force),
        baseComment: typeof baseComment === 'string' ? baseComment : undefined,
        keysBefore,
      },
    );
    for (const where of result.kept) {
      this.log.info(`${relative}: kept your ${where}; run with --force to take the generated value`);
    }
    for (const where of result.overwritten) this.log.info(`${relative}: --force replaced your ${where}`);
    if (!this.fs.exists(target)) this.fs.write(target, result.content);
    else this.writeMerged(target, result.content);
    if (deleted) this.markForced(target);
    // Sorted by file and by contributor, so the store does not depend on the order things were added in.
    const byKey = <T>(entries: Record<string, T>): Record<string, T> =>
      Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)));
    const sorted = byKey({
      ...store,
      [relative]: byKey({ ...store[relative], [owner]: result.generated, [commentKey]: result.comment }),
    });
    if (JSON.stringify(sorted) !== JSON.stringify(store)) {
      this.fs.writeJSON(structuredPath, sorted);
      this.markForced(structuredPath);
    }
  }

  /** Renders a family of YAML templates and merges each into the project; a template rendering empty is skipped. */
  protected renderYamlFamily(family: string, owner: string): void {
    const context = this.templateContext();
    for (const template of listTemplates(family)) {
      const content = renderTemplate(template.source, context);
      if (content.trim() === '') continue;
      this.mergeYamlFile(destinationFor(template.relative, String(context.packageName)), content, owner);
    }
  }

  /**
   * Registers a service in docker-compose.yml (creating the file if needed), with its named volumes.
   * Call it in postWriting or later. The service is merged like every structured file: the user's edits
   * to it survive, and each service has its own base, so registering one never disturbs the others.
   */
  protected addComposeService(
    name: string,
    service: Record<string, unknown>,
    volumes: Record<string, Record<string, unknown> | null> = {},
  ): void {
    const document = {
      services: { [name]: service },
      ...(Object.keys(volumes).length > 0 ? { volumes } : {}),
    };
    // YAML 1.1 quoting: values such as "yes" or "0755" stay strings for every compose implementation.
    const text = stringifyYaml(document, { ...YAML_OUTPUT, version: '1.1' });
    // Every run registers every service, in the same order: a service added later goes where a fresh run puts it.
    const registered = runState(this.env, 'compose-services', () => [] as string[]);
    this.mergeYamlFile('docker-compose.yml', text, `service:${name}`, { services: [...registered] });
    if (!registered.includes(name)) registered.push(name);
  }

  /**
   * Composes the generators of the deployment targets whose files exist (plus `extra`), so deployment files
   * follow the config: `api` calls it, so a feature added later (a database, agents) reaches compose and k8s.
   */
  protected async composeDeployment(extra: string[] = []): Promise<void> {
    const targets = new Set([...generatedTargets(this.forge), ...extra]);
    // Every target builds docker's image and runs locally with its compose file: docker comes first, so
    // docker-compose.yml lists its services in the same order whatever the target.
    if (targets.size > 0) targets.add('compose');
    for (const [target, generator] of Object.entries(DEPLOY_GENERATORS)) {
      if (targets.has(target)) await this.composeForge(generator);
    }
  }

  /** A path as the user would type it from where they ran the command. */
  protected relativeToCwd(target: string): string {
    const relative = path.relative(process.cwd(), target);
    if (relative === '') return '.';
    return relative.startsWith('..') ? target : relative;
  }

  /**
   * Every generator, a plugin package's too, keeps the project's one config in `.yo-rc.json`: Yeoman would give
   * each package a section of its own, named after the package.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Yeoman's own signature
  override _getStorage<StoredType extends Record<any, any> = Record<any, any>>(
    rootName: string | StorageOptions = CONFIG_NAMESPACE,
    options: StorageOptions = {},
  ): Storage<StoredType> {
    return typeof rootName === 'string'
      ? super._getStorage(rootName, options)
      : super._getStorage(CONFIG_NAMESPACE, rootName);
  }
}
