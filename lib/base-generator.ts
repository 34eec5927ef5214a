import path from 'node:path';
import Generator, { type BaseOptions } from 'yeoman-generator';
import {
  CHOICES,
  CONFIG_NAMESPACE,
  type ChoiceKey,
  type ForgeConfig,
  choiceSpec,
  defaultChoices,
  defaultHelpOf,
  defaultOf,
  parseChoice,
  wiredDatabase,
} from './config.js';
import { type CommitEnvironment, commitRun, printDiffs, regeneratesFiles } from './commit.js';
import { DEPLOY_GENERATORS, generatedTargets } from './deploy.js';
import { ForgeUserError, isForgeUserError } from './errors.js';
import { addEnvVars, addPyprojectDependencies, addUvOverrides, envVarsOf, requirementsOf } from './merge.js';
import { insertAtNeedle, needleMarker } from './needles.js';
import {
  SECTION_BEGIN,
  SECTION_END,
  findGeneratedSection,
  replaceGeneratedSection,
} from './generated-section.js';
import {
  CHECKSUMS_FILE,
  STRUCTURED_FILE,
  readProjectState,
  refuseMissingPackageFolders,
  requireForgeProject,
  restoreRequests,
  WRITTEN_ONCE,
  writtenOnceKey,
} from './project.js';
import {
  type EnvVar,
  destinationFor,
  listTemplates,
  readFamilyManifest,
  renderTemplate,
} from './templates.js';
import { toTitle } from './naming.js';
import { MIGRATIONS, type Migration, expandPath, migrationsBetween } from './migrations.js';
import { findBase, firstMerge, firstVersion, mergeThreeWay, storedBasePath } from './upgrade.js';
import { YAML_OUTPUT, mergeYaml } from './yaml-merge.js';
import { stringify as stringifyYaml } from 'yaml';
import { PACKAGE_VERSION } from './version.js';
import { checksumOf, withLf, withLineEndingsOf } from './line-endings.js';

/** Options every forge generator understands, on top of Yeoman's own (--force, --dry-run, --skip-install). */
export type ForgeOptions = BaseOptions & {
  yes?: boolean;
  /** Set when another forge generator composed this one. */
  forgeComposed?: boolean;
  [flag: string]: unknown;
};

/** How a generated file is kept in step with the config (see the README, "How files are written"). */
export type WriteMode = 'owned' | 'once';

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

/** Yeoman's file of paths to skip; forge records the generated files the user deleted in it. */
const YO_RESOLVE = '.yo-resolve';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The records of `.forge/` already reported unreadable in this process, so each is reported once. */
const reportedUnreadable = new Set<string>();

/**
 * Base class of every fastapi-forge generator: one typed config, prompts only for unset answers,
 * owned / write-once / structured file writes, and the source API other generators call
 * (dependencies, env vars, needles).
 */
/** A full config: `stored` answers over the spec's defaults and those of what generators record. */
export function withDefaults(stored: Partial<ForgeConfig>): ForgeConfig {
  return {
    ...defaultChoices(stored),
    description: '',
    services: [],
    agents: false,
    dbGenerated: false,
    observability: false,
    generatorVersion: PACKAGE_VERSION,
    ...stored,
  } as ForgeConfig;
}

export abstract class ForgeGenerator extends Generator<Partial<ForgeConfig>, ForgeOptions> {
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
      customPriorities: [POST_WRITING, DEPLOYMENT_WRITING],
      // The project is Python: yeoman-environment's npm install step does not apply. Only the generator the
      // user ran declares it, so composed generators do not report duplicates.
      customInstallTask: options.forgeComposed ? undefined : true,
      ...features,
    } as never);
    this.option('yes', { type: Boolean, description: 'Take the default for every unanswered question' });
    this.option('restore', {
      // Not `String`: Yeoman would join several paths into one.
      type: (value: string) => restoreRequests(value),
      description: 'Write again a generated file you deleted (recorded in .yo-resolve); repeatable',
    });
    self.generator = this;
  }

  /** Records the running version when the run regenerates files, then commits everything at once. */
  private async commitProject(): Promise<void> {
    const env = this.env as unknown as CommitEnvironment;
    const root = this.destinationRoot();
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
    const generatorOptions = {
      forgeComposed: true,
      force: Boolean(this.options.force),
      restore: restoreRequests(this.options.restore),
      upgrade: Boolean(this.options.upgrade),
    };
    await this.composeWith(`fastapi-forge:${name}`, { generatorOptions } as never);
  }

  /** Registers `--<flag>` options for config choices, e.g. `--auth`. */
  protected choiceOptions(keys: ChoiceKey[]): void {
    for (const key of keys) {
      const spec = choiceSpec(key);
      this.option(spec.flag, {
        type: String,
        description: `${spec.description}: ${spec.choices.map((c) => c.value).join('|')} (default: ${defaultHelpOf(spec)})`,
      });
    }
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
    return {
      ...config,
      db,
      users: db === 'postgres' && config.auth === 'jwt',
      // Agent runs and jobs are recorded in the SQL database when there is one.
      agentJobs: db === 'postgres' && config.agents,
      title: toTitle(config.projectName),
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
    const packageName = String(context.packageName);
    for (const template of listTemplates(family)) {
      const destination = destinationFor(template.relative, packageName);
      const content = renderTemplate(template.source, context);
      this.writeFile(destination, content, once.has(destination) ? 'once' : 'owned');
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
    const target = this.destinationPath(relative);
    if (mode === 'once') {
      // A record that forge wrote it, so that a user-owned file the user deleted is told from a new one.
      const checksums = this.readChecksums();
      const key = writtenOnceKey(relative);
      if (!this.fs.exists(target)) {
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
    const checksums = this.readChecksums();
    const deleted = checksums[relative] !== undefined && !this.fs.exists(target);
    if (deleted && this.keepsDeleted(relative)) return;
    const onDisk = this.fs.exists(target) ? this.fs.read(target) : undefined;
    const rendered = withLineEndingsOf(onDisk, content);
    if (this.options.upgrade && onDisk !== undefined && onDisk !== rendered) {
      if (checksums[relative] !== checksumOf(onDisk)) {
        if (firstMerge(relative)) this.upgradeEditedFile(relative, onDisk, content, checksums);
        return;
      }
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
        if (!this.fs.exists(this.destinationPath(from))) {
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
    const merged = mergeThreeWay(relative, onDisk, base, content);
    this.writeMerged(this.destinationPath(relative), merged.content);
    if (merged.conflict) this.log.info(`${relative}: conflicts with your edits; resolve the <<<<<<< markers`);
    this.writeMerged(this.destinationPath(storedBasePath(relative)), content);
    checksums[relative] = checksumOf(content);
    this.writeChecksums(checksums);
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
    return this.readRecord(
      CHECKSUMS_FILE,
      (stored): stored is Record<string, string> =>
        isPlainObject(stored) && Object.values(stored).every((value) => typeof value === 'string'),
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
    let stored: unknown;
    try {
      stored = JSON.parse(this.fs.read(target));
    } catch {
      stored = undefined;
    }
    if (isValid(stored)) return stored;
    if (!reportedUnreadable.has(target)) {
      reportedUnreadable.add(target);
      this.log.info(
        `warning: ${relative} is unreadable, so it is ignored: files that differ from what fastapi-forge would write are kept as yours`,
      );
    }
    return {} as T;
  }

  private writeChecksums(checksums: Record<string, string>): void {
    const sorted = Object.fromEntries(Object.entries(checksums).sort(([a], [b]) => a.localeCompare(b)));
    const target = this.destinationPath(CHECKSUMS_FILE);
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

  /** Adds env vars to `.env.example` unless the file mentions them already. */
  protected addEnvExample(vars: EnvVar[], heading?: string): void {
    if (vars.length === 0) return;
    const target = this.destinationPath('.env.example');
    const content = this.fs.exists(target) ? this.fs.read(target) : '';
    this.writeMerged(target, addEnvVars(content, vars, heading));
  }

  /** A merge keeps everything the user wrote, so its result is written without a conflict prompt. */
  protected writeMerged(target: string, merged: string): void {
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
    this.addEnvExample(manifest.env ?? [], heading);
  }

  /**
   * Merges generated YAML into a project file (three-way, see lib/yaml-merge.ts): values the user left
   * alone follow the generator, the user's own keys, edits and comments survive, and an edit the
   * generator would have changed is kept and reported (`--force` takes the generated value).
   * `owner` names the contributor, so several generators can each own part of one file.
   */
  protected mergeYamlFile(relative: string, generated: string, owner: string): void {
    const target = this.destinationPath(relative);
    const structuredPath = this.destinationPath(STRUCTURED_FILE);
    const store = this.readRecord(
      STRUCTURED_FILE,
      (stored): stored is Record<string, Record<string, unknown>> =>
        isPlainObject(stored) && Object.values(stored).every(isPlainObject),
    );
    const deleted = store[relative] !== undefined && !this.fs.exists(target);
    if (deleted && this.keepsDeleted(relative)) return;
    const result = mergeYaml(
      this.fs.exists(target) ? this.fs.read(target) : undefined,
      generated,
      store[relative]?.[owner],
      { file: relative, preferGenerated: Boolean(this.options.force) },
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
    const sorted = byKey({ ...store, [relative]: byKey({ ...store[relative], [owner]: result.generated }) });
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
    this.mergeYamlFile('docker-compose.yml', text, `service:${name}`);
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

  /**
   * Inserts a snippet at a needle of a user-owned file. When the user removed the marker, the snippet is
   * printed with a warning for them to paste; the file is never edited at a guessed place.
   */
  protected insertAtNeedle(relative: string, needle: string, snippet: string): void {
    const target = this.destinationPath(relative);
    if (!this.fs.exists(target)) {
      this.log.info(`${relative} is missing; add this yourself:\n${snippet}`);
      return;
    }
    const result = insertAtNeedle(this.fs.read(target), needle, snippet);
    if (result.status === 'inserted') this.fs.write(target, result.content);
    if (result.status === 'missing') {
      this.log.info(
        `warning: ${relative} has no "${needleMarker(needle)}" marker; add this where it belongs:\n${snippet}`,
      );
    }
  }

  /** A path as the user would type it from where they ran the command. */
  protected relativeToCwd(target: string): string {
    const relative = path.relative(process.cwd(), target);
    if (relative === '') return '.';
    return relative.startsWith('..') ? target : relative;
  }

  protected get configNamespace(): string {
    return CONFIG_NAMESPACE;
  }
}
