import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { FEATURE_MIGRATIONS, type FeatureMigration } from './choices.js';
import { ForgeUserError } from './errors.js';
import { TEMPLATES_ROOT } from './templates.js';

/**
 * Resources described on the command line (`add resource Order --field total:decimal --belongs-to customer`):
 * their specs as `.yo-rc.json` stores them, how a `--field` is parsed and checked, and the names and types
 * the templates render them with.
 */

export const FIELD_TYPES = [
  'str',
  'text',
  'int',
  'decimal',
  'bool',
  'datetime',
  'date',
  'uuid',
  'enum',
  'json',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface ResourceField {
  name: string;
  type: FieldType;
  /** str: the maximum length. */
  length?: number;
  /** enum: the allowed values. */
  values?: string[];
  optional: boolean;
  unique: boolean;
  /**
   * What the rows already in the table take when the field is added to (or becomes required in) a resource
   * that has some: the migration's backfill. A spec-file value of the field's type.
   */
  default?: string | number | boolean;
}

/**
 * A resource made from an existing table (`add resource --from-database`): the table as it was found, which
 * the baseline revision records, and what its own revision changes to make it a resource.
 */
export interface AdoptedTable {
  /** The baseline revision that records the tables of one `--from-database` run, and its parent. */
  baseline: string;
  baselineDown: string;
  /** The principal the existing rows are given to. */
  owner: string;
  /** Every column, its type as a migration spells it and its server default as PostgreSQL reads it. */
  columns: { name: string; type: string; nullable: boolean; default?: string }[];
  primaryKey: string;
  uniques: { name: string; column: string }[];
  foreignKey?: { name: string; column: string; table: string; ondelete?: string };
  /** The index on the foreign key column, if it had one. */
  parentIndex?: string;
  /** created_at and updated_at, when the table already had them. */
  timestamps: { name: string; nullable: boolean }[];
  /**
   * An integer primary key, kept as the table has it (a resource's is a UUID otherwise), and where its
   * values come from: a sequence (serial), an identity column, or nowhere yet (its revision makes it one).
   */
  key?: { type: IntegerKey; generated: 'sequence' | 'identity' | 'none'; always?: true };
}

/** The integer types a resource's key may have besides a UUID: PostgreSQL's INTEGER and BIGINT. */
export type IntegerKey = 'int' | 'bigint';
export type KeyType = 'uuid' | IntegerKey;

/** The type of a resource's `id` (and so of its children's column of it). */
export const keyType = (spec: Pick<ResourceSpec, 'adopted'>): KeyType => spec.adopted?.key?.type ?? 'uuid';

/** One resource as `.yo-rc.json` stores it under `resources`. */
export interface ResourceSpec {
  /** PascalCase, e.g. `OrderItem`. */
  name: string;
  fields: ResourceField[];
  /** The parent resource's name (many-to-one). */
  belongsTo?: string;
  /** The relation may be empty: a relation added to a resource whose rows have no parent yet. */
  optionalParent?: boolean;
  /** Its shape when its table was created, kept once it has changed: its first migration renders from it. */
  created?: { fields: ResourceField[]; belongsTo?: string; optionalParent?: boolean };
  /** Made from an existing table: its revision adopts the table rather than creating it. */
  adopted?: AdoptedTable;
  /**
   * The workspace service it lives in (services/<service>), with that service's database and migrations;
   * none at tier 1. Its relations are to resources of the same service.
   */
  service?: string;
  /** Its Alembic revision, and the revision it follows (the head when it was added). */
  revision: string;
  downRevision: string;
}

export const DEFAULT_STR_LENGTH = 255;
/** PostgreSQL cuts identifiers (tables, constraints, indexes) at 63 bytes. */
const MAX_IDENTIFIER = 63;
/**
 * Bounds of resource, field and enum value names: generated lines spell them several times over, and
 * every line must fit the 100 columns ruff enforces.
 */
const MAX_RESOURCE_NAME = 24;
const MAX_FIELD_NAME = 24;
const IDENTIFIER = /^[a-z][a-z0-9_]*$/;

/** Words the generated Python or SQL cannot take as a name. */
const PYTHON_KEYWORDS = new Set(
  (
    'False None True and as assert async await break case class continue def del elif else except ' +
    'finally for from global if import in is lambda match nonlocal not or pass raise return try type ' +
    'while with yield'
  )
    .split(' ')
    .map((word) => word.toLowerCase()),
);
const SQL_KEYWORDS = new Set(
  (
    'all analyse analyze and any array as asc asymmetric authorization between binary both case cast ' +
    'check collate column constraint create cross current_date current_role current_time ' +
    'current_timestamp current_user default deferrable delete desc distinct do drop else end except ' +
    'exists false fetch for foreign freeze from full grant group having ilike in initially inner ' +
    'insert intersect into is isnull join lateral leading left like limit localtime localtimestamp ' +
    'natural not notnull null offset on only or order outer overlaps placing primary references ' +
    'returning right select session_user similar some symmetric table tablesample then to trailing ' +
    'true union unique update user using values variadic verbose when where window with'
  ).split(' '),
);

/** Names every resource has, and the list route's own query parameters. */
const RESERVED_FIELDS = new Set([
  'id',
  'owner',
  'created_at',
  'updated_at',
  'limit',
  'cursor',
  'sort',
  'metadata',
  'registry',
]);

/**
 * BaseModel's public methods (Pydantic 2, its v1-style ones included): a field of that name would shadow
 * one in the schemas, which Pydantic warns about and mypy refuses. `model_*` is Pydantic's whole namespace.
 */
const BASE_MODEL_ATTRIBUTES = new Set(
  'construct copy dict from_orm json parse_file parse_obj parse_raw schema schema_json update_forward_refs validate'.split(
    ' ',
  ),
);

/**
 * Names a field cannot take because the class it is declared in already uses them, a field of that name
 * would shadow: the members of PartialUpdate (models/resource_schemas.py, the base of every Update schema),
 * the type names the class bodies annotate with (`total: Decimal` cannot follow a field named `decimal`
 * no more than `str` can follow one named `str`), and the callables they call (`mapped_column`).
 * The one list the CLI's `--field` and the spec's fields are both checked against.
 */
export const SHADOWING_FIELDS = new Set([
  // PartialUpdate's members.
  'not_null',
  'refuse_null',
  'changes',
  // Types of the annotations in the schemas and the row class (and the modules of Decimal and UUID).
  'str',
  'int',
  'float',
  'bool',
  'dict',
  'list',
  'decimal',
  'datetime',
  'date',
  'uuid',
  // What the row class calls in its body.
  'mapped_column',
  'relationship',
]);

/** Modules and tables the project already has: a resource of that name would replace them. */
const RESERVED_RESOURCES = new Set([
  'agent',
  'agent_job',
  'alembic_version',
  'base',
  'cache',
  'database',
  'echo',
  'health',
  'keyset',
  'metric',
  'note',
  'principal',
  'resource',
  'schema',
  'ticket',
  'user',
  // The files every resource shares (templates/resource/shared).
  'column_type',
  'resource_schema',
  'unit_of_work',
  // Names the resources' own modules import or define: a module of that name would shadow them.
  'annotated',
  'any',
  'base_model',
  'config',
  'config_dict',
  'cursor',
  'depend',
  'error',
  'field',
  'limit',
  'literal',
  'main',
  'query',
  'response',
  'setting',
  'sort',
  'token',
]);

/** The paths FastAPI serves in every project: its documentation. */
const DOCUMENTATION_PATHS = ['docs', 'redoc'];

/** Where a resource goes: the project's own package (tier 1), or a workspace service. */
type Place = 'project' | 'service';

/**
 * The families of templates whose files are beside a resource's, by where it goes: a tier-1 project's
 * every family but the workspace's (services, their shared package, the gateway); a service's own files.
 */
const beside = (family: string, place: Place): boolean =>
  place === 'service'
    ? /^(microservice\/(service|member)|events\/service|observability\/events)$/.test(family)
    : !/^(microservice|events|gateway|resource)\/|^observability\/(members|events)$/.test(family);

interface Taken {
  modules: Set<string>;
  paths: Set<string>;
}

/**
 * What the project's own code takes where a resource goes, read from the templates of the other
 * generators: the modules of the kinds a resource writes (`tests/test_migrations`, `routes/items`...)
 * and the first segment of every path it routes (`/events`). Read once.
 */
const taken = new Map<Place, Taken>();

function takenBy(place: Place): Taken {
  const known = taken.get(place);
  if (known) return known;
  const found: Taken = { modules: new Set(), paths: new Set(DOCUMENTATION_PATHS) };
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(file);
        continue;
      }
      const relative = path.relative(TEMPLATES_ROOT, file).split(path.sep).join('/');
      if (!entry.name.endsWith('.py.ejs') || !beside(relative.split('/').slice(0, 2).join('/'), place))
        continue;
      // A service's resources have a package of their own: only their tests are beside the service's.
      const kinds = place === 'service' ? 'tests' : 'tests|routes|models|repositories|services';
      const module = new RegExp(`/((?:${kinds})/\\w+)\\.py\\.ejs$`).exec(relative);
      if (module?.[1]) found.modules.add(module[1]);
      // Routes of the project, not of the apps its tests make up.
      if (relative.includes('/tests/')) continue;
      const text = readFileSync(file, 'utf8');
      // The routes of a router with a prefix are under it.
      const route = /prefix="\/([\w-]+)/.test(text)
        ? /prefix="\/([\w-]+)/g
        : /@\w+\.(?:get|post|put|patch|delete|websocket|api_route)\("\/([\w-]+)/g;
      for (const [, first] of text.matchAll(route)) found.paths.add(first ?? '');
    }
  };
  walk(TEMPLATES_ROOT);
  taken.set(place, found);
  return found;
}

/**
 * Refuses a resource whose modules or routes the project's own code has where it goes: `Migration` would
 * write tests/test_migrations.py over the project's migration tests, `Doc` serve /docs in place of the
 * API's documentation, `Item` in a service its example routes.
 */
function refuseTaken(name: string, place: Place, what: string): void {
  const snake = toSnake(name);
  const { modules, paths } = takenBy(place);
  const module = resourceModuleFiles(snake).find((candidate) => modules.has(candidate));
  const owner = place === 'service' ? "the service's own code" : 'the project';
  if (module)
    throw new ForgeUserError(`${what} would write ${module}.py, which ${owner} has; choose another`);
  const route = resourcePath(snake);
  if (paths.has(route.slice(1))) {
    throw new ForgeUserError(`${what} would serve ${route}, which ${owner} serves; choose another`);
  }
}

/** The modules a resource writes, by kind, as {@link takenByProject} lists them. */
export const resourceModuleFiles = (snake: string): string[] => {
  const table = pluralize(snake);
  return [
    `models/${snake}`,
    `models/${snake}_row`,
    `repositories/${table}`,
    `routes/${table}`,
    `services/${snake}_service`,
    `tests/test_${table}`,
  ];
};

/** The path a resource's routes are under: its table, hyphenated. */
export const resourcePath = (name: string): string => `/${tableName(name).replaceAll('_', '-')}`;

/** `OrderItem` or `order_item` -> `order_item`. */
export const toSnake = (name: string): string =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-\s]+/g, '_')
    .toLowerCase();

/** `order_item` -> `OrderItem`. */
export const toPascal = (snake: string): string =>
  snake
    .split('_')
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/** English plurals of identifiers: `category` -> `categories`, `box` -> `boxes`. */
export function pluralize(snake: string): string {
  if (/[^aeiou]y$/.test(snake)) return `${snake.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(snake)) return `${snake}es`;
  return `${snake}s`;
}

function checkWord(word: string, what: string): void {
  if (PYTHON_KEYWORDS.has(word)) throw new ForgeUserError(`${what} is a Python keyword`);
  if (SQL_KEYWORDS.has(word)) throw new ForgeUserError(`${what} is an SQL keyword`);
}

/** Checks a resource name (`Order`, `order_item`) and returns it in PascalCase. */
export function parseResourceName(raw: string | undefined): string {
  if (!raw) throw new ForgeUserError('a resource name is required, e.g. `fastapi-forge add resource Order`');
  const what = `resource name ${JSON.stringify(raw)}`;
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(raw)) {
    throw new ForgeUserError(`invalid ${what}: use letters, digits and "_", starting with a letter`);
  }
  const snake = toSnake(raw);
  if (!IDENTIFIER.test(snake) || snake.includes('__') || snake.endsWith('_')) {
    throw new ForgeUserError(`invalid ${what}: use words such as Order or OrderItem`);
  }
  if (snake.length > MAX_RESOURCE_NAME) {
    throw new ForgeUserError(`${what} is longer than ${MAX_RESOURCE_NAME} characters`);
  }
  // The name is a Python module; the table, its plural, is SQL's.
  if (PYTHON_KEYWORDS.has(snake)) throw new ForgeUserError(`${what} is a Python keyword`);
  checkWord(pluralize(snake), `${what} (its table ${pluralize(snake)})`);
  if (RESERVED_RESOURCES.has(snake) || RESERVED_RESOURCES.has(snake.replace(/s$/, ''))) {
    throw new ForgeUserError(`${what} is taken by the project's own code; choose another`);
  }
  refuseTaken(snake, 'project', what);
  // Each resource writes models/<name>_row.py and services/<name>_service.py beside models/<name>.py.
  if (/_(row|service)s?$/.test(snake)) {
    throw new ForgeUserError(`${what} ends in a word the modules of every resource end in; choose another`);
  }
  return toPascal(snake);
}

/** Parses `name:type[?][!]`, e.g. `title:str:120`, `status:enum(new,paid)?`, `sku:str!`. */
export function parseField(raw: string): ResourceField {
  const what = `--field ${JSON.stringify(raw)}`;
  const match = /^([^:]+):(.+?)([?!]*)$/.exec(raw);
  if (!match) throw new ForgeUserError(`invalid ${what}: write name:type, e.g. title:str:120 or paid:bool?`);
  const [, name = '', typeText = '', marks = ''] = match;
  if (!IDENTIFIER.test(name) || name.length > MAX_FIELD_NAME) {
    throw new ForgeUserError(
      `invalid ${what}: a field name is lowercase letters, digits and "_", starting with a letter, at most ${MAX_FIELD_NAME} characters`,
    );
  }
  checkWord(name, `${what}: the name ${JSON.stringify(name)}`);
  if (RESERVED_FIELDS.has(name)) {
    throw new ForgeUserError(`${what}: the name ${JSON.stringify(name)} is taken by every resource`);
  }
  if (BASE_MODEL_ATTRIBUTES.has(name) || name.startsWith('model_')) {
    throw new ForgeUserError(
      `${what}: the name ${JSON.stringify(name)} would shadow an attribute of Pydantic's BaseModel`,
    );
  }
  if (SHADOWING_FIELDS.has(name)) {
    throw new ForgeUserError(
      `${what}: the name ${JSON.stringify(name)} would shadow what the generated classes use (a type or a member of their base); choose another`,
    );
  }
  if (marks.length !== new Set(marks).size) throw new ForgeUserError(`invalid ${what}: repeated ? or !`);
  const field: ResourceField = {
    name,
    ...parseType(typeText, what),
    optional: marks.includes('?'),
    unique: marks.includes('!'),
  };
  if (field.unique && (field.type === 'json' || field.type === 'text' || field.type === 'bool')) {
    throw new ForgeUserError(`${what}: a ${field.type} field cannot be unique`);
  }
  return field;
}

function parseType(text: string, what: string): Pick<ResourceField, 'type' | 'length' | 'values'> {
  const str = /^str(?::(\d+))?$/.exec(text);
  if (str) {
    const length = str[1] === undefined ? DEFAULT_STR_LENGTH : Number(str[1]);
    if (length < 1 || length > 10_000) throw new ForgeUserError(`${what}: a str length is 1 to 10000`);
    return { type: 'str', length };
  }
  const enumMatch = /^enum\((.*)\)$/.exec(text);
  if (enumMatch) {
    const values = (enumMatch[1] ?? '').split(',').map((value) => value.trim());
    if (
      values.length < 2 ||
      values.some((value) => !IDENTIFIER.test(value) || value.length > MAX_FIELD_NAME)
    ) {
      throw new ForgeUserError(
        `${what}: an enum lists two or more values of lowercase letters, digits and "_" (at most ${MAX_FIELD_NAME} characters), e.g. enum(new,paid)`,
      );
    }
    if (new Set(values).size !== values.length)
      throw new ForgeUserError(`${what}: an enum value is repeated`);
    for (const value of values) checkWord(value, `${what}: the enum value ${JSON.stringify(value)}`);
    return { type: 'enum', values };
  }
  if ((FIELD_TYPES as readonly string[]).includes(text) && text !== 'enum')
    return { type: text as FieldType };
  throw new ForgeUserError(
    `${what}: unknown type ${JSON.stringify(text)}; expected one of str, str:<length>, text, int, decimal, bool, datetime, date, uuid, enum(a,b,...), json`,
  );
}

/**
 * The spec of a resource from the command line, checked against the project's other resources: a repeated
 * field, a parent that does not exist or a name too long for PostgreSQL is an error.
 */
export function buildResourceSpec(
  rawName: string | undefined,
  rawFields: string[],
  rawParent: string | undefined,
  existing: readonly ResourceSpec[],
  revisions: { revision: string; downRevision: string },
): ResourceSpec {
  const name = parseResourceName(rawName);
  // Category and Categorie are two resources with one table.
  const sameTable = existing.find(
    (other) => other.name !== name && tableName(other.name) === tableName(name),
  );
  if (sameTable) {
    throw new ForgeUserError(`resource ${name}: its table ${tableName(name)} is that of ${sameTable.name}`);
  }
  if (rawFields.length === 0) {
    throw new ForgeUserError(`resource ${name} needs at least one --field name:type`);
  }
  const fields = rawFields.map(parseField);
  const seen = new Set<string>();
  for (const field of fields) {
    if (seen.has(field.name)) throw new ForgeUserError(`resource ${name}: field "${field.name}" is repeated`);
    seen.add(field.name);
  }
  let belongsTo: string | undefined;
  if (rawParent) {
    const parent = existing.find((resource) => toSnake(resource.name) === toSnake(rawParent));
    if (!parent) {
      const known = existing.map((resource) => resource.name).join(', ') || 'none yet';
      throw new ForgeUserError(
        `--belongs-to ${rawParent}: no such resource in this project (its resources: ${known}); add it first`,
      );
    }
    if (parent.name === name)
      throw new ForgeUserError(`--belongs-to ${rawParent}: a resource cannot belong to itself`);
    const parentSnake = toSnake(parent.name);
    for (const taken of [parentSnake, `${parentSnake}_id`]) {
      if (seen.has(taken))
        throw new ForgeUserError(`resource ${name}: field "${taken}" is taken by its parent ${parent.name}`);
    }
    belongsTo = parent.name;
  }
  const spec: ResourceSpec = { name, fields, ...(belongsTo ? { belongsTo } : {}), ...revisions };
  checkIdentifierLengths(spec, existing);
  return spec;
}

/** Every constraint and index name of a resource must fit PostgreSQL's 63 bytes. */
function checkIdentifierLengths(spec: ResourceSpec, existing: readonly ResourceSpec[]): void {
  for (const identifier of constraintNames(spec, existing)) {
    if (identifier.length > MAX_IDENTIFIER) {
      throw new ForgeUserError(
        `resource ${spec.name}: the database name ${identifier} is longer than PostgreSQL's ${MAX_IDENTIFIER} characters; shorten the resource or field name`,
      );
    }
  }
}

function constraintNames(spec: ResourceSpec, existing: readonly ResourceSpec[]): string[] {
  const names = databaseNames(tableName(spec.name));
  const parent = existing.find((other) => other.name === spec.belongsTo);
  const column = parent ? `${toSnake(parent.name)}_id` : '';
  return [
    names.listIndex,
    ...spec.fields.filter((field) => field.unique).map((field) => names.unique(field.name)),
    ...(parent ? [names.foreignKey(column, tableName(parent.name)), names.index(column)] : []),
  ];
}

/** Two specs are the same resource when everything but its revisions is equal (as `--field` spells it). */
export function sameResource(a: ResourceSpec, b: ResourceSpec): boolean {
  const shape = ({ name, fields, belongsTo, optionalParent, service }: ResourceSpec) =>
    JSON.stringify([
      name,
      fields.map(fieldText),
      belongsTo ?? null,
      optionalParent === true,
      service ?? null,
    ]);
  return shape(a) === shape(b);
}

// ---- Migrations: resources chain after the revisions already in the project. ----

/** The entry of a resource in the config's migration order. */
export const migrationEntry = (spec: Pick<ResourceSpec, 'name'>): `resource:${string}` =>
  `resource:${tableName(spec.name)}`;

/** The entry of a change to a resource (see lib/resource-changes.ts): its revision. */
export const changeEntry = (change: { revision: string }): `change:${string}` => `change:${change.revision}`;

/** What the migration order's resource and change entries need to know: their revisions. */
interface Revisioned {
  revision: string;
  downRevision: string;
}

/** Revisions of the feature migrations; the initial one (notes) is 0001. Resources number from 0005. */
const FEATURE_REVISIONS: Record<FeatureMigration, string> = {
  users: '0002',
  agent_jobs: '0003',
  agent_job_owners: '0004',
};
const FIRST_RESOURCE_REVISION = 5;

/** The revision of an entry of the migration order: a feature's, or a resource's stored one. */
export function revisionOf(
  entry: string,
  resources: readonly ResourceSpec[],
  changes: readonly Revisioned[] = [],
): string {
  const feature = FEATURE_REVISIONS[entry as FeatureMigration];
  if (feature) return feature;
  const stored = storedEntry(entry, resources, changes);
  if (!stored) throw new Error(`no migration for ${entry}`);
  return stored.revision;
}

function storedEntry(
  entry: string,
  resources: readonly ResourceSpec[],
  changes: readonly Revisioned[],
): Revisioned | undefined {
  return (
    resources.find((candidate) => migrationEntry(candidate) === entry) ??
    changes.find((change) => changeEntry(change) === entry)
  );
}

/** The revision each entry of the migration order follows. */
export function migrationParents(
  order: readonly string[],
  resources: readonly ResourceSpec[],
  changes: readonly Revisioned[] = [],
): Record<string, string> {
  return Object.fromEntries(
    order.map((entry, index) => {
      const stored = storedEntry(entry, resources, changes);
      if (stored) return [entry, stored.downRevision];
      const previous = order[index - 1];
      return [entry, previous ? revisionOf(previous, resources, changes) : '0001'];
    }),
  );
}

/** The `revision` and `down_revision` of an Alembic script, read from its text. */
export function readRevision(script: string): { revision: string; parents: string[] } | undefined {
  // With or without annotations (`revision: str = "..."` as the project writes, `revision = '...'` as
  // older Alembic templates and people do).
  const revision = /^revision\s*(?::[^=]*)?=\s*["']([^"']+)["']/m.exec(script)?.[1];
  if (!revision) return undefined;
  const down = /^down_revision\s*(?::[^=]*)?=(.*)$/m.exec(script)?.[1] ?? '';
  return { revision, parents: [...down.matchAll(/["']([^"']+)["']/g)].map((match) => match[1] ?? '') };
}

/**
 * Where a new resource's migration goes: after the single head of the scripts in the project (the user's
 * own revisions included), numbered after every numbered revision there and every feature's.
 */
export function nextRevision(scripts: readonly string[]): { revision: string; downRevision: string } {
  const parsed = scripts.map(readRevision).filter((script) => script !== undefined);
  const parents = new Set(parsed.flatMap((script) => script.parents));
  const heads = parsed.map((script) => script.revision).filter((revision) => !parents.has(revision));
  if (heads.length !== 1) {
    throw new ForgeUserError(
      heads.length === 0
        ? 'the project has no Alembic revisions to follow'
        : `the project's migrations have ${heads.length} heads (${heads.join(', ')}); merge them first with \`uv run alembic merge heads\``,
    );
  }
  const numbers = parsed
    .map((script) => Number(script.revision))
    .filter((number) => Number.isInteger(number));
  const next = Math.max(FIRST_RESOURCE_REVISION, ...numbers.map((number) => number + 1));
  return { revision: String(next).padStart(4, '0'), downRevision: heads[0] ?? '' };
}

/**
 * The revision that brings tier 3 to a workspace service: the outbox, the processed events and the example
 * read model (the events generator's), and the read models of the resources the service had already
 * (`readModels`; those added later create theirs in their own first revision). A service that starts at
 * tier 3, or reaches it with only its first revision, has it second; one that reaches it with revisions
 * after its first (its resources') has it chained after them, since a database may have applied them.
 * `.yo-rc.json` stores the latter, by service, under `eventsRevisions`.
 */
export interface EventsRevision extends Revisioned {
  readModels: string[];
}

const SECOND_REVISION: EventsRevision = { revision: '0002', downRevision: '0001', readModels: [] };

/** A service's {@link EventsRevision}, from the stored ones. */
export const eventsRevisionOf = (
  stored: Readonly<Record<string, EventsRevision>> | undefined,
  service: string,
): EventsRevision => stored?.[service] ?? SECOND_REVISION;

/**
 * The {@link EventsRevision} of a service growing to tier 3 whose Alembic scripts are `scripts` and whose
 * resources are `resources`: after its head. Undefined when that is the default (its head is its first).
 */
export function grownEventsRevision(
  scripts: readonly string[],
  resources: readonly string[],
): EventsRevision | undefined {
  if (scripts.length === 0) return undefined;
  const next = nextRevision(scripts);
  if (next.downRevision === SECOND_REVISION.downRevision) return undefined;
  return { ...next, readModels: [...resources] };
}

/** Checks the `eventsRevisions` of `.yo-rc.json`: revisions by service, each with its resources' names. */
export function validateEventsRevisions(stored: unknown, file: string): void {
  if (stored === undefined) return;
  const text = (value: unknown) => typeof value === 'string' && /^\w+$/.test(value);
  const valid =
    typeof stored === 'object' &&
    stored !== null &&
    !Array.isArray(stored) &&
    Object.values(stored).every(
      (entry: Partial<EventsRevision> | null) =>
        typeof entry === 'object' &&
        entry !== null &&
        text(entry.revision) &&
        text(entry.downRevision) &&
        Array.isArray(entry.readModels) &&
        entry.readModels.every(text),
    );
  if (!valid) {
    throw new ForgeUserError(
      `${file}: eventsRevisions must map each service to { revision, downRevision, readModels: [resource names] }`,
    );
  }
}

/** Checks the `resources` of `.yo-rc.json`, and that the migration order names only known entries. */
export function validateStoredResources(
  resources: unknown,
  migrations: unknown,
  file: string,
  changes: unknown = undefined,
): void {
  if (resources !== undefined) {
    if (!Array.isArray(resources)) throw new ForgeUserError(`${file}: resources must be a list`);
    const checked: ResourceSpec[] = [];
    for (const stored of resources as ResourceSpec[]) {
      try {
        const spec = buildResourceSpec(
          stored?.name,
          (stored?.fields ?? []).map(fieldText),
          stored?.belongsTo,
          // A relation added by `apply` may name a resource stored after it; only one of the same service.
          [
            ...checked,
            ...(resources as ResourceSpec[]).filter((other) => other !== stored && !checked.includes(other)),
          ].filter((other) => sameService(other, stored)),
          { revision: String(stored?.revision), downRevision: String(stored?.downRevision) },
        );
        if (stored.optionalParent === true) spec.optionalParent = true;
        if (typeof stored.service === 'string') spec.service = stored.service;
        const key = stored.adopted?.key;
        if (
          key !== undefined &&
          !(
            ['int', 'bigint'].includes(key?.type) && ['sequence', 'identity', 'none'].includes(key?.generated)
          )
        ) {
          throw new ForgeUserError(
            'its adopted key must be {type: int|bigint, generated: sequence|identity|none}',
          );
        }
        if (!sameResource(spec, stored)) throw new ForgeUserError('it does not read back the same');
        if (checked.some((other) => other.name === spec.name)) throw new ForgeUserError('it is repeated');
        checked.push(spec);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new ForgeUserError(`${file}: resource ${JSON.stringify(stored?.name)} is not valid: ${reason}`);
      }
    }
  }
  if (changes !== undefined && !Array.isArray(changes)) {
    throw new ForgeUserError(`${file}: resourceChanges must be a list`);
  }
  if (migrations === undefined) return;
  const known = new Set<string>([
    ...FEATURE_MIGRATIONS,
    ...((resources as ResourceSpec[] | undefined) ?? []).map(migrationEntry),
    ...((changes as Revisioned[] | undefined) ?? []).map(changeEntry),
  ]);
  if (
    !Array.isArray(migrations) ||
    !migrations.every((entry) => known.has(entry as string)) ||
    new Set(migrations).size !== migrations.length
  ) {
    throw new ForgeUserError(`${file}: migrations must list each of ${[...known].join(', ')} at most once`);
  }
}

/** Whether two resources live in the same place: one service, or the project's own package (tier 1). */
export const sameService = (a: Pick<ResourceSpec, 'service'>, b: Pick<ResourceSpec, 'service'>): boolean =>
  (a?.service ?? null) === (b?.service ?? null);

/** A field as `--field` spells it, the inverse of {@link parseField}. */
export function fieldText(field: ResourceField): string {
  const type =
    field.type === 'str'
      ? `str:${field.length ?? DEFAULT_STR_LENGTH}`
      : field.type === 'enum'
        ? `enum(${(field.values ?? []).join(',')})`
        : field.type;
  return `${field.name}:${type}${field.optional ? '?' : ''}${field.unique ? '!' : ''}`;
}

export const tableName = (name: string): string => pluralize(toSnake(name));

/** The database names of a resource's indexes and constraints: the templates and the length check share them. */
export const databaseNames = (table: string) => ({
  /** Serves the default list: an owner's rows, newest first. */
  listIndex: `ix_${table}_owner_created_at_id`,
  unique: (field: string) => `uq_${table}_owner_${field}`,
  foreignKey: (column: string, parentTable: string) => `fk_${table}_${column}_${parentTable}`,
  index: (column: string) => `ix_${table}_${column}`,
});

/**
 * What every service has already (templates/microservice, templates/events): its tables, and the prefixes of
 * its routes. A resource of the same table or path would replace them.
 */
const SERVICE_TABLES = new Set([
  'items',
  'received_events',
  'outbox',
  'processed_events',
  'item_views',
  'item_counts',
]);
const SERVICE_PATHS = new Set(['items', 'events', 'views']);

/** Refuses a resource of a service whose table or path the service's own code has. */
export function refuseServiceClash(name: string): void {
  refuseTaken(name, 'service', `resource name ${JSON.stringify(name)}`);
  const table = tableName(name);
  // `read_<table>` is the read model of each resource at tier 3.
  if (SERVICE_TABLES.has(table) || SERVICE_PATHS.has(table) || table.startsWith('read_')) {
    throw new ForgeUserError(
      `resource name ${JSON.stringify(name)} is taken by the service's own code (its table or routes ${table}); choose another`,
    );
  }
  if (toSnake(name) === 'read') throw new ForgeUserError(`resource name "${name}" is taken; choose another`);
}
