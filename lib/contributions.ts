/**
 * The contribution API: how features meet in the generated project without the core knowing them.
 *
 * A run holds every generator the stored config calls for (the generator the user ran composes them, see
 * `configuredGenerators`). Each registers what it needs in the project's wiring modules in the
 * `contributing` priority ({@link Contribution}: imports, lifespan resources, settings classes, routers,
 * dependencies, middleware, test plugins and settings). In the later `writing` priority the core renders its
 * wiring modules (lifespan, dependencies, settings, routes, middleware, conftest) once, from everything
 * collected, so its templates branch on contributions, never on a feature. A plugin package contributes the
 * same way (docs/contributions.md).
 */

import { CORE_NAMES, type UniqueKind, checkContribution } from './contribution-schema.js';
import { ForgeUserError } from './errors.js';
import { PLUGIN_PREFIX, pluginOfNamespace } from './plugins.js';
import { runState } from './run-state.js';

/** The wiring modules of the core that contributions reach. */
export type WiringModule =
  'lifespan' | 'dependencies' | 'settings' | 'routes' | 'middleware' | 'conftest' | 'logging';

/** An isort section: the project's own package and `tests` are sections of their own, after the others. */
export type ImportSection = 'stdlib' | 'thirdParty' | 'firstParty' | 'tests';

/**
 * `from <module> import <names>` (or `import <module>` without names). A name may be `a as b`; such a name is
 * imported in a statement of its own, as ruff's isort does. `wrap` keeps the statement one name per line
 * (a magic trailing comma) even where it would fit on one line. `<package>` in a module stands for the
 * project's Python package.
 */
export interface PyImport {
  module: string;
  names?: string[];
  section?: ImportSection;
  wrap?: boolean;
}

/** Something started in the lifespan's exit stack, and what it adds to the typed state. */
export interface LifespanResource {
  /** Where its setup runs; smaller first (the core's rate limiter is 20). */
  order: number;
  /** Where its fields sit in the State class and the yielded state; `order` when not given. */
  stateOrder?: number;
  /** `name: Type` fields of the state; each field's value is the local variable of the same name. */
  state?: { name: string; type: string }[];
  /** Python statements in the exit stack's block, unindented; may be empty (state only). */
  setup?: string;
}

export interface Router {
  order: number;
  /** The module of `<package>.routes` it is imported from. */
  module?: string;
  /** Statements that include it, unindented; protected routers get `dependencies` and `responses`. */
  include?: string;
  /** Protected routers: the expression of the router, included with the protected dependencies. */
  protectedRouter?: string;
  /** Included before the protected ones (public), or after all of them (`finally`: e.g. OpenAPI edits). */
  stage?: 'public' | 'protected' | 'finally';
  /** For the docstring: what a public router serves (", and metrics"). */
  label?: string;
}

export interface Middleware {
  /** Innermost first: the core's size limits are 10, CORS 20, the request context 30. */
  order: number;
  /** Statements in `install_middleware`, unindented. */
  code: string;
  /** Its name in the docstring's request path. */
  label: string;
}

/** A dependency provider function and the `Annotated` alias routes use. */
export interface Dependency {
  order: number;
  provider?: string;
  alias?: string;
}

/** See {@link Contribution.deployment}. */
export interface DeploymentNeeds {
  requiredSecrets?: string[];
  composeUrls?: Record<string, string>;
  secretExamples?: { name: string; value: string }[];
  /** Needs of the root service alone (its database): a workspace member's deployment does without them. */
  rootService?: boolean;
  /**
   * The schema is migrated (`alembic upgrade head`) before the app starts: compose runs a `migrate` service,
   * Kubernetes a Job, and the other targets' READMEs say how.
   */
  migrated?: boolean;
  /** Services `docker-compose.yml` runs beside the app, which waits until each is healthy. */
  composeServices?: ComposeService[];
  /** Redis holds the project's data, not only its rate limits: compose keeps it in a volume. */
  redisStore?: boolean;
}

/** A service of `docker-compose.yml` (a database, say) and its row in `deploy/README.md`. */
export interface ComposeService {
  name: string;
  /** Its keys, unindented YAML; `<package>` stands for the package name. */
  yaml: string;
  /** The volume its data lives in, declared at the end of the file. */
  volume?: string;
  /** What it is, in the README's table of services. */
  readme: string;
}

export interface Contribution {
  imports?: Partial<Record<WiringModule, PyImport[]>>;
  lifespan?: LifespanResource[];
  /** A settings class mixed into `ForgeSettings`; smaller `order` first (subclasses before their bases). */
  settings?: { className: string; module: string; order: number; wrap?: boolean }[];
  /** Methods of the settings listing what staging and production lack (`deployed_database_problems`). */
  deployedChecks?: { method: string; order: number }[];
  routers?: Router[];
  /** Statuses any protected route may answer, documented in OpenAPI. */
  protectedResponses?: { status: number; doc: string }[];
  dependencies?: Dependency[];
  /**
   * Replaces the protected routers' dependencies, what `protected`'s docstring says they do (the rest of
   * its first sentence, wrapped as it lands), and the current principal (authentication).
   */
  security?: { protectedBy: string; protectedDoc: string; principal: string };
  middleware?: Middleware[];
  /** Paths the request context does not access-log, with why. */
  quietPaths?: { expression: string; comment: string; imports?: PyImport[] }[];
  /**
   * What staging and production need that development does without: outside services (a setting the tests'
   * DEPLOYED_SERVICES give, and its variable where one must be set), the secrets of a deployed environment
   * in the preflight test, and whether a model provider's API key is required.
   */
  deployed?: {
    /** Where its services are listed; smaller first. */
    order: number;
    services?: { setting: string; value: string; env?: string; comment?: string }[];
    secrets?: { env: string; value: string }[];
    providerKey?: boolean;
  }[];
  /** A setting development cannot do without (no safe default): the tests expect the start to name it. */
  requiredInDevelopment?: {
    env: string;
    /** What it names, in test names and comments: `identity provider`. */
    what: string;
    testImport: PyImport;
    testSetting: string;
    testValue: string;
    /** Why deployed settings in the tests give their own value. */
    productionComment: string;
  }[];
  /** structlog processors every log line passes, after the context variables are merged. */
  logProcessors?: { expression: string; comment: string }[];
  /** Fields of the core settings (`CoreSettings`), for settings the core's own modules read. */
  coreSettingsFields?: string[];
  /**
   * Probes of the log-redaction test: statements run with credentials while an outside service is down,
   * unindented, appending to `statuses`; `unreachable` names what they reach in its comment.
   */
  redactionProbes?: { order: number; code: string; imports?: PyImport[]; unreachable?: string }[];
  /** Text of the README's generated section at a slot (`setup`, `make-run`, `make-data`, `sections`). */
  readme?: { slot: string; order: number; text: string }[];
  /**
   * What the deployment targets and the project's tooling need of a feature (lib/deploy.ts): the secrets the
   * app cannot start without in production, the connection URLs of the services docker-compose.yml runs
   * beside the app, and example values of secret settings in deployment templates (for a setting named
   * `name` or ending in `_<name>`, such as a service's `ORDERS_DATABASE_URL`). `<package>` in a value stands
   * for the project's Python package.
   */
  deployment?: DeploymentNeeds[];
  /**
   * A service container CI starts for the tests (`.github/workflows/ci.yml`), by `name` once however many
   * features need it, smaller `order` first: its YAML under `services:` and the variables it gives the
   * tests under `env:`, both unindented, and its name in the README (`PostgreSQL`).
   */
  ciServices?: { name: string; label: string; order: number; service: string; env: string }[];
  /**
   * What the caller's credentials carry, as the authentication kind declares it, for the tests of other
   * features: scopes (its test support then gives `scoped_auth_headers_for`) and an expiry
   * (`expiring_auth_headers`). A later contribution replaces an earlier one.
   */
  credentials?: { scopes?: boolean; expires?: boolean };
  /** Pytest plugins loaded by conftest.py, with what they provide. */
  testPlugins?: { module: string; comment: string; order: number }[];
  /** Fixtures giving each feature's settings in tests, merged in `order`. */
  testSettings?: { fixture: string; order: number }[];
  /** Python code for conftest.py's parts; see templates/api/tests/conftest.py.ejs. */
  conftest?: { part: string; code: string; order: number }[];
}

/** Who made a contribution, as a one-line error names it: a plugin by its package, else the generator. */
export const contributorName = (source: string): string => {
  const plugin = pluginOfNamespace(source);
  return plugin === undefined ? `the generator ${source}` : `the plugin ${PLUGIN_PREFIX}${plugin}`;
};

/** A defined name as the one-line error about a name defined twice says it. */
const NAMED: Record<UniqueKind, (name: string) => string> = {
  'settings class': (name) => `the settings class ${name}`,
  'router module': (name) => `the router module <package>.routes.${name}`,
  dependency: (name) => `the dependency ${name}`,
};

/** Everything one run's generators contributed. */
export class Contributions {
  private readonly made: { source: string; contribution: Contribution }[] = [];

  private composition: readonly string[] = [];

  /** Who first imports each name into the dependencies module (several may import one name). */
  private readonly importedNames = new Map<string, string>();

  /** Who defines each name the wiring modules must define once (`<kind> <name>`). */
  private readonly owners = new Map<string, string>(
    CORE_NAMES.map(({ kind, name, owner }) => [`${kind} ${name}`, owner]),
  );

  /**
   * Adds a contribution once it is checked (lib/contribution-schema.ts): one of another shape, or one defining
   * a name another defines (a settings class, a router module, a dependency's provider or alias), stops the
   * run in one line naming its contributor, before anything is written.
   */
  add(source: string, contribution: Contribution): void {
    const checked = checkContribution(contribution);
    if (checked.problem !== undefined) {
      throw new ForgeUserError(
        `${contributorName(source)} contributes ${checked.problem}; docs/contributions.md gives the shape of each part`,
      );
    }
    const owners = new Map(this.owners);
    // A name imported into the dependencies module is defined there too: a provider of that name would hide it.
    const imported = (contribution.imports?.dependencies ?? []).flatMap((item) =>
      (item.names ?? []).map((name) => name.split(' as ').at(-1) ?? name),
    );
    const importers = new Map(this.importedNames);
    for (const name of imported) if (!importers.has(name)) importers.set(name, source);
    const clash = (definer: string, name: string, importer: string): ForgeUserError =>
      new ForgeUserError(
        `${contributorName(definer)} contributes ${NAMED.dependency(name)}, but ${this.ownerName(importer)} imports it into the dependencies module: each needs a name of its own`,
      );
    for (const name of imported) {
      const definer = owners.get(`dependency ${name}`);
      if (definer !== undefined) throw clash(definer, name, source);
    }
    for (const { kind, name } of checked.defines) {
      const importer = importers.get(name);
      if (kind === 'dependency' && importer !== undefined) throw clash(source, name, importer);
      const key = `${kind} ${name}`;
      const owner = owners.get(key);
      // A router module may serve several routers of its contributor (a public and a protected one).
      if (owner !== undefined && !(kind === 'router module' && owner === source)) {
        const [offender, other] = this.comesLater(owner, source) ? [owner, source] : [source, owner];
        const also = offender === other ? 'it defines it twice' : `${this.ownerName(other)} defines it too`;
        throw new ForgeUserError(
          `${contributorName(offender)} contributes ${NAMED[kind](name)}, but ${also}: each needs a name of its own`,
        );
      }
      owners.set(key, source);
    }
    for (const [key, owner] of owners) this.owners.set(key, owner);
    for (const [name, importer] of importers) this.importedNames.set(name, importer);
    this.made.push({ source, contribution });
  }

  /**
   * Whether a clash of `a` with `b` is told from `a`'s side, whichever of the two contributed first: a plugin's
   * rather than a generator of this package, and of two plugins the one added last (composed last).
   */
  private comesLater(a: string, b: string): boolean {
    const plugin = (source: string): boolean => pluginOfNamespace(source) !== undefined;
    if (plugin(a) !== plugin(b)) return plugin(a);
    return this.rank(a) > this.rank(b);
  }

  /** Where a source is in the composition order; one outside it comes after those in it. */
  private rank(source: string): number {
    const index = this.composition.indexOf(source);
    return index < 0 ? this.composition.length : index;
  }

  /** The contributor that defines a name of a kind, if one does. */
  ownerOf(kind: UniqueKind, name: string): string | undefined {
    const owner = this.owners.get(`${kind} ${name}`);
    return owner === undefined ? undefined : this.ownerName(owner);
  }

  private ownerName(owner: string): string {
    return CORE_NAMES.some((core) => core.owner === owner) ? owner : contributorName(owner);
  }

  /**
   * The run's composition order (the generators' namespaces). Contributions are then read in that order
   * whichever generator the user ran, which contributes first: equal `order`s (a plugin's among the
   * features') land in one place in every run, so running again changes nothing.
   */
  composeInOrder(namespaces: readonly string[]): void {
    this.composition = namespaces;
  }

  /** The contributions in the composition order; a source outside it after those in it, as they came. */
  private get items(): { source: string; contribution: Contribution }[] {
    return [...this.made].sort((a, b) => this.rank(a.source) - this.rank(b.source));
  }

  /** The sources that contributed, in the composition order, else in the order they did. */
  get sources(): string[] {
    return [...new Set(this.items.map((item) => item.source))];
  }

  /** Every contribution of one kind, in the composition order, else in the order they were made. */
  all<K extends keyof Contribution>(kind: K): NonNullable<Contribution[K]> extends (infer T)[] ? T[] : never {
    return this.items.flatMap((item) => (item.contribution[kind] ?? []) as never[]) as never;
  }

  /** Every contribution of one kind with an `order`, smallest first (stable). */
  ordered<K extends keyof Contribution>(
    kind: K,
    key: (item: { order: number; stateOrder?: number }) => number = (item) => item.order,
  ): NonNullable<Contribution[K]> extends (infer T)[] ? T[] : never {
    const items = this.all(kind) as { order: number }[];
    return [...items].sort((a, b) => key(a) - key(b)) as never;
  }

  /** The last contribution of a kind that is not a list (a later one replaces an earlier one). */
  latest<K extends keyof Contribution>(kind: K): Contribution[K] | undefined {
    return this.items
      .map((item) => item.contribution[kind])
      .filter((value) => value !== undefined)
      .at(-1);
  }

  /**
   * Checks that no two settings classes composed into `ForgeSettings` declare one field: the first in the
   * class line would win silently, and code expecting the other's type would break at run time. `source`
   * gives the text of a module (`<package>.settings.x`), or undefined for one it cannot read (libs', or a
   * stub re-exporting it); its classes are not checked.
   */
  checkSettingsFields(packageName: string, source: (module: string) => string | undefined): void {
    const declared = new Map<string, { owner: string; className: string }>();
    for (const { source: owner, contribution } of this.items) {
      for (const { className, module } of contribution.settings ?? []) {
        const text = source(module.replace(/^<package>/, packageName));
        for (const field of (text === undefined ? undefined : classFields(text, className)) ?? []) {
          const other = declared.get(field);
          if (other !== undefined && other.className !== className) {
            throw new ForgeUserError(
              `${contributorName(owner)} declares the setting ${field} in ${className}, but ${this.ownerName(other.owner)} declares it in ${other.className}: each setting needs a name of its own`,
            );
          }
          declared.set(field, { owner, className });
        }
      }
    }
  }

  imports(module: WiringModule): PyImport[] {
    return this.items.flatMap((item) => item.contribution.imports?.[module] ?? []);
  }
}

/** The contributions of the run whose generators share `env`, a plugin's included (lib/run-state.ts). */
export const contributionsOf = (env: object): Contributions =>
  runState(env, 'contributions', () => new Contributions());

const SECTIONS: ImportSection[] = ['stdlib', 'thirdParty', 'firstParty', 'tests'];

const LINE_LENGTH = 100;

/** ruff's isort order of imported names: constants, then classes, then the rest, each case-insensitively. */
function nameKey(name: string): [number, string] {
  const bare = name.split(' as ')[0] ?? name;
  const kind = bare.length > 1 && bare === bare.toUpperCase() ? 0 : /^[A-Z]/.test(bare) ? 1 : 2;
  return [kind, bare.toLowerCase()];
}

function compareNames(a: string, b: string): number {
  const [ka, na] = nameKey(a);
  const [kb, nb] = nameKey(b);
  return ka - kb || (na < nb ? -1 : na > nb ? 1 : 0);
}

function sectionOf(imported: PyImport, packageName: string): ImportSection {
  if (imported.section) return imported.section;
  if (imported.module === packageName || imported.module.startsWith(`${packageName}.`)) return 'firstParty';
  if (imported.module === 'tests' || imported.module.startsWith('tests.')) return 'tests';
  return 'thirdParty';
}

/**
 * Import statements as ruff's isort writes them: by section, `import x` before `from x import y`, modules
 * and names sorted, names of one module merged (an aliased name alone in its statement), a statement longer
 * than the line one name per line.
 */
export function renderImports(imports: readonly PyImport[], packageName: string): string {
  const statements = new Map<
    string,
    {
      section: ImportSection;
      module: string;
      names: Set<string>;
      wrap: boolean;
      alias: boolean;
      plain: boolean;
    }
  >();
  for (const imported of imports) {
    const module = imported.module.replace('<package>', packageName);
    const section = sectionOf({ ...imported, module }, packageName);
    const names = imported.names ?? [];
    if (names.length === 0) {
      statements.set(`import ${module}`, {
        section,
        module,
        names: new Set(),
        wrap: false,
        alias: false,
        plain: true,
      });
      continue;
    }
    for (const name of names) {
      const alias = name.includes(' as ');
      const key = alias ? `from ${module} import ${name}` : `from ${module} import`;
      const statement = statements.get(key) ?? {
        section,
        module,
        names: new Set<string>(),
        wrap: false,
        alias,
        plain: false,
      };
      statement.names.add(name);
      statement.wrap ||= Boolean(imported.wrap);
      statements.set(key, statement);
    }
  }
  const blocks: string[] = [];
  for (const section of SECTIONS) {
    const inSection = [...statements.values()].filter((statement) => statement.section === section);
    if (inSection.length === 0) continue;
    inSection.sort(
      (a, b) =>
        Number(a.plain ? 0 : 1) - Number(b.plain ? 0 : 1) ||
        compareModules(a.module, b.module) ||
        Number(a.alias ? 0 : 1) - Number(b.alias ? 0 : 1),
    );
    blocks.push(
      inSection
        .map((statement) => {
          if (statement.plain) return `import ${statement.module}`;
          const names = [...statement.names].sort(compareNames);
          const line = `from ${statement.module} import ${names.join(', ')}`;
          if (!statement.wrap && line.length <= LINE_LENGTH) return line;
          return `from ${statement.module} import (\n${names.map((name) => `    ${name},\n`).join('')})`;
        })
        .join('\n'),
    );
  }
  return blocks.join('\n\n');
}

function compareModules(a: string, b: string): number {
  const [la, lb] = [a.toLowerCase(), b.toLowerCase()];
  return la < lb ? -1 : la > lb ? 1 : 0;
}

/** Indents every non-empty line of `code`. */
export function indent(code: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return code
    .split('\n')
    .map((line) => (line === '' ? line : `${pad}${line}`))
    .join('\n');
}

/**
 * The fields a Python class declares in its own body (`name: type` at the class's indentation, `_private` and
 * ClassVar ones left out); undefined when the text has no such class at its top level.
 */
export function classFields(text: string, className: string): string[] | undefined {
  const lines = text.split('\n');
  let line = lines.findIndex((candidate) => new RegExp(`^class ${className}\\b`).test(candidate));
  if (line === -1) return undefined;
  // The class line may be laid out on several lines, up to the one ending in its colon.
  while (line < lines.length && !/:\s*(#.*)?$/.test(lines[line] ?? '')) line++;
  const fields: string[] = [];
  let inString = false;
  for (const body of lines.slice(line + 1)) {
    if (/^\S/.test(body)) break;
    // Lines of a docstring or another triple-quoted string are text, not fields.
    const quotes = body.split('"""').length - 1;
    if (inString || quotes > 0) {
      if (quotes % 2 === 1) inString = !inString;
      continue;
    }
    const field = /^ {4}([A-Za-z]\w*)\s*:(?!=)\s*(\S+)/.exec(body);
    if (field?.[1] !== undefined && !field[2]?.startsWith('ClassVar')) fields.push(field[1]);
  }
  return fields;
}
