import { spawnSync } from 'node:child_process';
import { ForgeUserError } from '../../lib/errors.js';
import { fieldView, keyView } from '../../lib/resource-views.js';
import {
  type AdoptedTable,
  type KeyType,
  type ResourceField,
  type ResourceSpec,
  parseField,
  keyType,
  parseResourceName,
  readRevision,
  tableName,
  toPascal,
  toSnake,
} from '../../lib/resources.js';

/**
 * `add resource --from-database postgresql://...`: the tables of an existing database as resources.
 *
 * The catalog is read by the project's own Python: SQLAlchemy's inspector over asyncpg, both already
 * dependencies of every project with PostgreSQL. It is the inspector Alembic's autogenerate compares the
 * models with, so the types read here are the ones autogenerate will see, and the generator needs no
 * PostgreSQL client of its own.
 *
 * A table becomes a resource as it is: the project's first revision after it is a baseline that records the
 * tables (creating them only on a database that lacks them), and each resource's own revision then adds
 * what every resource has: an owner (the existing rows get `--owner`), created_at and updated_at, the
 * list index, and uniqueness per owner.
 */

/** A column as the catalog script reports it. */
export interface CatalogColumn {
  name: string;
  /** PostgreSQL's spelling, e.g. `VARCHAR(120)`, `NUMERIC(18, 2)`, `TIMESTAMP WITH TIME ZONE`. */
  type: string;
  nullable: boolean;
  default: string | null;
  identity: boolean;
  /** An identity column GENERATED ALWAYS (not BY DEFAULT). */
  identityAlways?: boolean;
}

export interface CatalogTable {
  name: string;
  columns: CatalogColumn[];
  primaryKey: { name: string | null; columns: string[] };
  uniques: { name: string | null; columns: string[] }[];
  foreignKeys: {
    name: string | null;
    columns: string[];
    table: string;
    schema: string | null;
    referred: string[];
    ondelete: string | null;
  }[];
  indexes: { name: string; columns: string[] }[];
  checks: { name: string | null }[];
}

/** The Python that reads the catalog; the URL comes in the environment, never on a command line. */
const CATALOG_SCRIPT = String.raw`
import asyncio, importlib, json, os, re, sys
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

def read(sync):
    found = inspect(sync)
    tables = []
    for name in sorted(found.get_table_names()):
        if name.startswith("alembic_version"):
            continue
        pk = found.get_pk_constraint(name)
        tables.append({
            "name": name,
            "columns": [
                {
                    "name": c["name"],
                    "type": c["type"].compile(dialect=sync.dialect),
                    "nullable": bool(c["nullable"]),
                    "default": c.get("default"),
                    "identity": bool(c.get("identity")),
                    "identityAlways": bool((c.get("identity") or {}).get("always")),
                }
                for c in found.get_columns(name)
            ],
            "primaryKey": {"name": pk.get("name"), "columns": pk.get("constrained_columns", [])},
            "uniques": [
                {"name": u.get("name"), "columns": u["column_names"]}
                for u in found.get_unique_constraints(name)
            ],
            "foreignKeys": [
                {
                    "name": f.get("name"),
                    "columns": f["constrained_columns"],
                    "table": f["referred_table"],
                    "schema": f.get("referred_schema"),
                    "referred": f["referred_columns"],
                    "ondelete": (f.get("options") or {}).get("ondelete"),
                }
                for f in found.get_foreign_keys(name)
            ],
            "indexes": [
                {"name": i["name"], "columns": i["column_names"]}
                for i in found.get_indexes(name)
                if not i.get("duplicates_constraint")
            ],
            "checks": [{"name": c.get("name")} for c in found.get_check_constraints(name)],
        })
    return tables

def project_tables():
    tables = set()
    for module in os.environ["FORGE_MODULES"].split(","):
        try:
            tables.update(importlib.import_module(module).Base.metadata.tables)
        except ImportError:
            continue
    return sorted(tables)

def revisions(sync):
    found = []
    for name in inspect(sync).get_table_names():
        if name.startswith("alembic_version"):
            found += [row[0] for row in sync.exec_driver_sql(f'SELECT version_num FROM "{name}"')]
    return found

async def main():
    engine = create_async_engine(os.environ["FORGE_CATALOG_URL"], connect_args={"timeout": 10})
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(read)
            versions = await connection.run_sync(revisions)
    finally:
        await engine.dispose()
    return {"tables": tables, "projectTables": project_tables(), "revisions": versions}

def reason(error):
    # The driver's own message (SQLAlchemy wraps it in its class name and a link to its docs).
    text = str(getattr(error, "orig", None) or error).strip()
    text = re.sub(r"^(<class '[^']+'>: |\([\w.]+\) )", "", text)
    lines = [line for line in text.splitlines() if line and not line.startswith("(Background")]
    return lines[0] if lines else type(error).__name__

try:
    print(json.dumps(asyncio.run(main())))
except Exception as error:
    print(reason(error), file=sys.stderr)
    sys.exit(1)
`;

export interface Catalog {
  tables: CatalogTable[];
  /** The tables of the project's models. */
  projectTables: string[];
  /** The revisions its Alembic version tables hold, if Alembic has migrated it. */
  revisions: string[];
}

/**
 * The tables of the database that the project creates itself (its models' and its revisions'), and
 * whether they are the project's: they are when the database is at one of the project's revisions.
 */
export function ownTables(
  catalog: Catalog,
  scripts: readonly string[],
): { own: Set<string>; migrated: boolean } {
  const created = scripts.flatMap((script) =>
    [...script.matchAll(/op\.create_table\(\s*"(\w+)"/g)].map((match) => match[1] ?? ''),
  );
  const own = new Set([...catalog.projectTables, ...created]);
  const revisions = new Set(scripts.map((script) => readRevision(script)?.revision));
  return { own, migrated: catalog.revisions.some((revision) => revisions.has(revision)) };
}

/** The URL the generated app and this reader use: asyncpg's driver, whatever PostgreSQL scheme was given. */
export function asyncpgUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ForgeUserError(
      '--from-database: not a URL; write postgresql://user:password@host:5432/database',
    );
  }
  if (!/^postgres(ql)?(\+asyncpg)?:$/.test(url.protocol)) {
    throw new ForgeUserError(
      `--from-database: ${url.protocol.replace(/:$/, '')} is not PostgreSQL; write postgresql://user:password@host:5432/database`,
    );
  }
  if (url.pathname.replace(/^\//, '') === '') {
    throw new ForgeUserError(
      `--from-database ${masked(url)}: name the database, e.g. postgresql://host/shop`,
    );
  }
  const converted = new URL(`postgresql+asyncpg:${raw.slice(raw.indexOf('//'))}`);
  converted.search = '';
  // libpq's sslmode is asyncpg's ssl (with the same modes); asyncpg takes no other parameter of libpq's.
  for (const [name, value] of url.searchParams) {
    if (!['sslmode', 'ssl'].includes(name)) {
      throw new ForgeUserError(
        `--from-database ${masked(url)}: the parameter ${name} is not one this reader takes (only sslmode=${SSL_MODES.join('|')})`,
      );
    }
    if (!SSL_MODES.includes(value)) {
      throw new ForgeUserError(
        `--from-database ${masked(url)}: ${name}=${value} is not an SSL mode; write one of ${SSL_MODES.join(', ')}`,
      );
    }
    converted.searchParams.set('ssl', value);
  }
  return converted;
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** The URL as messages show it: the password replaced. */
export function masked(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = '***';
  return copy.href;
}

/** The modules whose `Base.metadata` holds the tables of the project's own package. */
export const modelModules = (packageName: string): string[] => [
  `${packageName}.models.resources`,
  `${packageName}.models.database`,
];

/**
 * Every table of the database's default schema, read with the Python of `projectDir` (the project, or a
 * workspace service), and the tables the models of `modules` have (a database it has migrated holds
 * them too).
 */
export function readCatalog(
  projectDir: string,
  modules: readonly string[],
  uv: string,
  raw: string,
): Catalog {
  const url = asyncpgUrl(raw);
  const result = spawnSync(uv, ['run', '--quiet', 'python', '-c', CATALOG_SCRIPT], {
    cwd: projectDir,
    encoding: 'utf8',
    env: { ...process.env, FORGE_CATALOG_URL: url.href, FORGE_MODULES: modules.join(',') },
    maxBuffer: 64 * 1024 * 1024,
  });
  const hide = (text: string) =>
    url.password ? text.replaceAll(decodeURIComponent(url.password), '***') : text;
  if (result.error) throw new ForgeUserError(`cannot run the project's Python: ${result.error.message}`);
  if (result.status !== 0) {
    const reason = hide(result.stderr.trim().split('\n').pop() ?? '') || `exit status ${result.status}`;
    throw new ForgeUserError(`cannot read the database ${masked(url)}: ${reason}`);
  }
  const catalog = JSON.parse(result.stdout) as Catalog;
  if (catalog.tables.length === 0) throw new ForgeUserError(`the database ${masked(url)} has no tables`);
  return catalog;
}

/** A table's field type as `--field` spells it, or why it has none. */
export function fieldType(sqlType: string): { type: string } | { reason: string } {
  const type = sqlType.toUpperCase();
  const varchar = /^(?:VARCHAR|CHARACTER VARYING)\((\d+)\)$/.exec(type);
  if (varchar) return { type: `str:${varchar[1]}` };
  const exact: Record<string, string> = {
    TEXT: 'text',
    INTEGER: 'int',
    'NUMERIC(18, 2)': 'decimal',
    BOOLEAN: 'bool',
    'TIMESTAMP WITH TIME ZONE': 'datetime',
    DATE: 'date',
    UUID: 'uuid',
    JSONB: 'json',
  };
  const known = exact[type];
  if (known) return { type: known };
  const hints: [RegExp, string][] = [
    [/^(VARCHAR|CHARACTER VARYING)$/, 'a string without a maximum length (write text or varchar(n))'],
    [/^(BIGINT|SMALLINT)$/, `${type}: resources hold 32-bit integers`],
    [/^NUMERIC/, `${type}: resources hold decimals as NUMERIC(18, 2)`],
    [/^TIMESTAMP/, `${type}: resources hold times with their time zone (timestamptz)`],
    [/^JSON$/, 'JSON: resources hold JSONB'],
  ];
  const hint = hints.find(([pattern]) => pattern.test(type));
  return { reason: hint ? hint[1] : `the type ${sqlType} has no field type` };
}

/** The resource names a table's name can be the plural of (`categories` -> `category`). */
function singulars(table: string): string[] {
  const candidates = [table.replace(/ies$/, 'y'), table.replace(/es$/, ''), table.replace(/s$/, '')];
  return [...new Set(candidates)].filter((candidate) => candidate !== table);
}

/** The resource a table's name makes, whose table is that table; a reason when there is none. */
function resourceNameOf(table: string): { name: string } | { reason: string } {
  let lastReason = `its name is not the plural of a resource name (resources' tables are, e.g. orders)`;
  for (const singular of singulars(table)) {
    try {
      const name = parseResourceName(toPascal(singular));
      if (tableName(name) === table) return { name };
    } catch (error) {
      lastReason = error instanceof Error ? error.message : String(error);
    }
  }
  return { reason: lastReason };
}

const TIMESTAMPS = ['created_at', 'updated_at'];

/** The key type of an `id` (or of a column referring to one) of this PostgreSQL type, if it can be one. */
const KEY_SQL: Record<KeyType, string> = { uuid: 'UUID', int: 'INTEGER', bigint: 'BIGINT' };
function keyTypeOf(sqlType: string | undefined): KeyType | undefined {
  const found = Object.entries(KEY_SQL).find(([, sql]) => sql === sqlType?.toUpperCase());
  return found?.[0] as KeyType | undefined;
}

/** What checkTable finds: the resource a table makes, its key and the table of its parent. */
interface Shape {
  name: string;
  key: NonNullable<AdoptedTable['key']> | { type: 'uuid' };
  parentTable?: string;
}

export interface Mapped {
  spec: ResourceSpec & { adopted: AdoptedTable };
  table: string;
}

export interface Mapping {
  mapped: Mapped[];
  /** Tables that cannot be resources, and why. */
  skipped: { table: string; reason: string }[];
}

/**
 * The tables as resources, parents before their children. A table maps when its primary key is one
 * column `id`, a UUID or an integer (serial, identity or plain), every other column has a field type and
 * a name a field may take, it has no CHECK constraint or index of its own, and its one foreign key, if
 * any, is `<parent>_id` of the parent's key type to a table that maps too (or to a resource's table).
 */
export function mapTables(
  tables: readonly CatalogTable[],
  existing: readonly ResourceSpec[],
  options: { owner: string; baseline: string; baselineDown: string; uuidKeysOnly?: boolean },
): Mapping {
  const skipped: Mapping['skipped'] = [];
  // A parent may be a resource of the project already, adopted by an earlier run.
  const resourceOf = (table: string) => existing.find((resource) => tableName(resource.name) === table);
  const shapes = new Map<string, Shape & { table: CatalogTable }>();
  for (const table of tables) {
    const checked = checkTable(table, existing, options.uuidKeysOnly === true);
    if ('reason' in checked) skipped.push({ table: table.name, reason: checked.reason });
    else shapes.set(table.name, { ...checked, table });
  }
  // A child whose parent does not map cannot either; repeat until nothing more drops out.
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, shape] of shapes) {
      const parentTable = shape.parentTable;
      if (!parentTable) continue;
      const parent = shapes.get(parentTable);
      const adoptedParent = resourceOf(parentTable);
      const parentKey = parent ? parent.key.type : adoptedParent ? keyType(adoptedParent) : undefined;
      const column = shape.table.foreignKeys[0]?.columns[0] ?? '';
      const columnType = shape.table.columns.find((candidate) => candidate.name === column)?.type ?? '';
      const reason =
        parentKey === undefined
          ? `its parent table ${parentTable} cannot be a resource`
          : keyTypeOf(columnType) !== parentKey
            ? `its foreign key column ${column} is ${columnType}, and the id of ${parentTable} is ${KEY_SQL[parentKey]}`
            : undefined;
      if (reason) {
        shapes.delete(name);
        skipped.push({ table: name, reason });
        changed = true;
      }
    }
  }
  const ordered: string[] = [];
  const visit = (name: string) => {
    if (ordered.includes(name)) return;
    const parent = shapes.get(name)?.parentTable;
    if (parent && parent !== name && shapes.has(parent)) visit(parent);
    ordered.push(name);
  };
  for (const name of shapes.keys()) visit(name);
  const revision = (offset: number) => String(Number(options.baseline) + offset).padStart(4, '0');
  const mapped = ordered.map((name, index): Mapped => {
    const shape = shapes.get(name) as Shape & { table: CatalogTable };
    const parentName = shape.parentTable
      ? (shapes.get(shape.parentTable)?.name ?? resourceOf(shape.parentTable)?.name)
      : undefined;
    return {
      table: name,
      spec: adoptedSpec(shape.table, shape, parentName, {
        ...options,
        revision: revision(index + 1),
        downRevision: revision(index),
      }),
    };
  });
  return { mapped, skipped };
}

function checkTable(
  table: CatalogTable,
  existing: readonly ResourceSpec[],
  uuidKeysOnly: boolean,
): Shape | { reason: string } {
  const named = resourceNameOf(table.name);
  if ('reason' in named) return named;
  if (existing.some((resource) => resource.name === named.name)) {
    return { reason: `the project has a resource ${named.name} already` };
  }
  const key = table.primaryKey.columns;
  if (key.length !== 1) {
    return {
      reason: key.length === 0 ? 'it has no primary key' : `its primary key is composite (${key.join(', ')})`,
    };
  }
  const id = table.columns.find((column) => column.name === 'id');
  const idType = key[0] === 'id' ? keyTypeOf(id?.type) : undefined;
  if (!id || !idType) {
    return {
      reason:
        'its primary key is not a column named id of type UUID, INTEGER or BIGINT (serial, bigserial and identity columns are)',
    };
  }
  if (idType !== 'uuid' && uuidKeysOnly) {
    return { reason: `its key id is ${id.type}; at tier 3 the read models of resources are keyed by UUID` };
  }
  const shapeKey = idType === 'uuid' ? { type: idType } : integerKey(id, idType);
  if ('reason' in shapeKey) return shapeKey;
  if (table.checks.length > 0) return { reason: 'it has a CHECK constraint, which resources do not declare' };
  if (table.foreignKeys.length > 1)
    return { reason: 'it has more than one foreign key; a resource has one parent' };
  const foreignKey = table.foreignKeys[0];
  if (foreignKey) {
    const column = foreignKey.columns[0] ?? '';
    const parent = resourceNameOf(foreignKey.table);
    const expected = 'name' in parent ? `${toSnake(parent.name)}_id` : undefined;
    const type = table.columns.find((candidate) => candidate.name === column)?.type;
    if (
      foreignKey.columns.length !== 1 ||
      foreignKey.referred.join() !== 'id' ||
      (foreignKey.schema !== null && foreignKey.schema !== 'public') ||
      column !== expected ||
      !keyTypeOf(type)
    ) {
      return {
        reason: `its foreign key (${foreignKey.columns.join(', ')}) -> ${foreignKey.table} is not a column <parent>_id to the parent's id`,
      };
    }
  }
  const relatedColumn = foreignKey?.columns[0];
  const indexOfOwn = table.indexes.find(
    (index) => !(relatedColumn && index.columns.length === 1 && index.columns[0] === relatedColumn),
  );
  if (indexOfOwn) return { reason: `it has an index ${indexOfOwn.name}, which resources do not declare` };
  for (const unique of table.uniques) {
    if (unique.columns.length !== 1) {
      return { reason: `its unique constraint on (${unique.columns.join(', ')}) spans several columns` };
    }
  }
  for (const column of table.columns) {
    if (column.name !== 'id' && (column.identity || /nextval\(/i.test(column.default ?? ''))) {
      return { reason: `its column ${column.name} takes numbers from a sequence` };
    }
    if (column.name === 'id' || column.name === relatedColumn) continue;
    if (TIMESTAMPS.includes(column.name)) {
      if (column.type.toUpperCase() !== 'TIMESTAMP WITH TIME ZONE') {
        return { reason: `its column ${column.name} is ${column.type}; a resource's is a timestamptz` };
      }
      continue;
    }
    const field = fieldOf(table, column);
    if ('reason' in field) return { reason: `its column ${column.name}: ${field.reason}` };
  }
  if (!table.columns.some((column) => !['id', relatedColumn, ...TIMESTAMPS].includes(column.name))) {
    return { reason: 'it has no column besides its keys' };
  }
  return { name: named.name, key: shapeKey, ...(foreignKey ? { parentTable: foreignKey.table } : {}) };
}

/** An integer `id` and where its numbers come from; the table's own default, if any, must be a sequence. */
function integerKey(
  id: CatalogColumn,
  type: Exclude<KeyType, 'uuid'>,
): NonNullable<AdoptedTable['key']> | { reason: string } {
  if (id.identity) return { type, generated: 'identity', ...(id.identityAlways ? { always: true } : {}) };
  if (/nextval\(/i.test(id.default ?? '')) return { type, generated: 'sequence' };
  if (id.default === null) return { type, generated: 'none' };
  return { reason: `its key id takes the default ${id.default}, not numbers from a sequence` };
}

function fieldOf(table: CatalogTable, column: CatalogColumn): ResourceField | { reason: string } {
  const type = fieldType(column.type);
  if ('reason' in type) return type;
  const unique = table.uniques.some((candidate) => candidate.columns.join() === column.name);
  try {
    return parseField(`${column.name}:${type.type}${column.nullable ? '?' : ''}${unique ? '!' : ''}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { reason: message.replace(/^--field "[^"]*":? ?/, '') };
  }
}

function adoptedSpec(
  table: CatalogTable,
  { name, key }: Shape,
  parent: string | undefined,
  options: { owner: string; baseline: string; baselineDown: string; revision: string; downRevision: string },
): ResourceSpec & { adopted: AdoptedTable } {
  const foreignKey = parent ? table.foreignKeys[0] : undefined;
  const relatedColumn = foreignKey?.columns[0];
  const fields = table.columns
    .filter((column) => !['id', relatedColumn, ...TIMESTAMPS].includes(column.name))
    .map((column) => fieldOf(table, column) as ResourceField);
  const typeOf = (column: CatalogColumn): string => {
    const field = fields.find((candidate) => candidate.name === column.name);
    if (field) return fieldView(field, name, table.name).migrationType;
    // The key, the parent's key, or a timestamp.
    const columnKey = keyTypeOf(column.type);
    if (!columnKey) return 'sa.DateTime(timezone=True)';
    const view = keyView(columnKey);
    return column.name === 'id' ? view.migrationType : view.referenceMigrationType;
  };
  // A sequence's default is the one the key's type makes (serial), on a database that lacks the table.
  const sequenced = (column: CatalogColumn) =>
    column.name === 'id' && key.type !== 'uuid' && 'generated' in key && key.generated === 'sequence';
  const parentColumn = table.columns.find((column) => column.name === relatedColumn);
  return {
    name,
    fields,
    ...(parent ? { belongsTo: parent } : {}),
    ...(parent && parentColumn?.nullable ? { optionalParent: true } : {}),
    revision: options.revision,
    downRevision: options.downRevision,
    adopted: {
      baseline: options.baseline,
      baselineDown: options.baselineDown,
      owner: options.owner,
      columns: table.columns.map((column) => ({
        name: column.name,
        type: typeOf(column),
        nullable: column.nullable,
        ...(column.default !== null && !sequenced(column) ? { default: column.default } : {}),
      })),
      primaryKey: table.primaryKey.name ?? `${table.name}_pkey`,
      uniques: table.uniques.map((unique) => ({
        name: unique.name ?? `${table.name}_${unique.columns[0]}_key`,
        column: unique.columns[0] ?? '',
      })),
      ...(foreignKey && relatedColumn
        ? {
            foreignKey: {
              name: foreignKey.name ?? `${table.name}_${relatedColumn}_fkey`,
              column: relatedColumn,
              table: foreignKey.table,
              ...(foreignKey.ondelete ? { ondelete: foreignKey.ondelete } : {}),
            },
          }
        : {}),
      ...(foreignKey && relatedColumn
        ? {
            parentIndex: table.indexes.find((index) => index.columns[0] === relatedColumn)?.name,
          }
        : {}),
      timestamps: table.columns
        .filter((column) => TIMESTAMPS.includes(column.name))
        .map((column) => ({ name: column.name, nullable: column.nullable })),
      ...(key.type !== 'uuid' ? { key } : {}),
    },
  };
}
