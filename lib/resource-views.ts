import {
  DEFAULT_STR_LENGTH,
  type FieldType,
  type KeyType,
  type ResourceField,
  type ResourceSpec,
  databaseNames,
  keyType,
  pluralize,
  resourcePath,
  tableName,
  toPascal,
  toSnake,
} from './resources.js';
import { isLibsPackage } from './workspace.js';

/**
 * What the resource templates render: each resource's names, its fields' Python and SQL types, examples and
 * test values, and Python laid out as ruff formats it.
 */

interface FieldView extends ResourceField {
  /** The Python type of the value (without `| None`). */
  pyType: string;
  /** The type filters (query strings) give it in. */
  inputType: string;
  /** The type request bodies (JSON) give it in: only the JSON type its schema documents. */
  bodyType: string;
  /** The SQLAlchemy column type in the model, and in the migration (`sa.` prefixed). */
  columnType: string;
  migrationType: string;
  /** Keyword arguments of the Pydantic `Field(...)` besides the default: the values the column holds. */
  constraints: string;
  /**
   * Request bodies take only `true` or `false` for a bool, not `1`; query parameters, always strings, are
   * converted. (Other types have a {@link bodyType} instead: FastAPI validates bodies in Python mode, where
   * a strict date refuses its ISO string and a strict int refuses 3.0.)
   */
  strict: boolean;
  /** A Python expression of a valid JSON value for test payloads, varying with the integer `n`. */
  sample: string;
  /** The example in the OpenAPI document (a Python literal). */
  example: string;
  filterable: boolean;
  sortable: boolean;
  /** Sorting by it follows `n` in {@link sample} (tests check the order). */
  monotonic: boolean;
  /** Enum: its Python class name. */
  enumClass?: string;
  uniqueName: string;
}

const WITHOUT_NUL = 'pattern=WITHOUT_NUL';

export function fieldView(field: ResourceField, resourceClass: string, table: string): FieldView {
  const module = toSnake(resourceClass);
  const base = { ...field, uniqueName: databaseNames(table).unique(field.name) };
  const length = field.length ?? DEFAULT_STR_LENGTH;
  const sortable = !field.optional;
  switch (field.type) {
    case 'str': {
      // Test values are the field's name, cut to leave room for a three-digit `n`.
      const prefix = field.name.slice(0, Math.max(0, length - 4));
      return {
        ...base,
        pyType: 'str',
        inputType: 'str',
        bodyType: 'str',
        columnType: `String(${length})`,
        migrationType: `sa.String(length=${length})`,
        strict: false,
        constraints: `min_length=1, max_length=${length}, ${WITHOUT_NUL}`,
        sample: `f"${prefix}{n}"`,
        example: JSON.stringify(`${prefix}1`),
        filterable: true,
        sortable,
        monotonic: true,
      };
    }
    case 'text':
      return {
        ...base,
        pyType: 'str',
        inputType: 'str',
        bodyType: 'str',
        columnType: 'Text',
        migrationType: 'sa.Text()',
        strict: false,
        constraints: `max_length=100_000, ${WITHOUT_NUL}`,
        sample: `f"${field.name} {n}"`,
        example: JSON.stringify(`Some ${field.name.replaceAll('_', ' ')}`),
        filterable: false,
        sortable: false,
        monotonic: false,
      };
    case 'int':
      return {
        ...base,
        pyType: 'int',
        inputType: 'int',
        bodyType: 'JsonInteger',
        columnType: 'Integer',
        migrationType: 'sa.Integer()',
        // What a 32-bit INTEGER column holds.
        strict: false,
        constraints: 'ge=-2_147_483_648, le=2_147_483_647',
        sample: 'n',
        example: '42',
        filterable: true,
        sortable,
        monotonic: true,
      };
    case 'decimal':
      return {
        ...base,
        pyType: 'Decimal',
        inputType: 'DecimalText',
        bodyType: 'DecimalText',
        columnType: 'ExactDecimal(18, 2)',
        migrationType: 'sa.Numeric(precision=18, scale=2)',
        strict: false,
        // DecimalText holds what NUMERIC(18, 2) does (16 digits, 2 decimals), written as a string.
        constraints: '',
        sample: 'f"{n}.50"',
        example: '"19.99"',
        filterable: true,
        sortable,
        monotonic: true,
      };
    case 'bool':
      return {
        ...base,
        pyType: 'bool',
        inputType: 'bool',
        bodyType: 'bool',
        columnType: 'Boolean',
        migrationType: 'sa.Boolean()',
        strict: true,
        constraints: '',
        sample: 'n % 2 == 0',
        example: 'True',
        filterable: true,
        sortable: false,
        monotonic: false,
      };
    case 'datetime':
      return {
        ...base,
        pyType: 'AwareDatetime',
        inputType: 'DatetimeText',
        bodyType: 'DatetimeText',
        columnType: 'UtcDateTime()',
        migrationType: 'sa.DateTime(timezone=True)',
        strict: false,
        constraints: '',
        sample: 'f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z"',
        example: '"2026-01-01T12:00:00Z"',
        filterable: true,
        sortable,
        monotonic: true,
      };
    case 'date':
      return {
        ...base,
        pyType: 'date',
        inputType: 'DateText',
        bodyType: 'DateText',
        columnType: 'Date',
        migrationType: 'sa.Date()',
        strict: false,
        constraints: '',
        sample: 'f"2026-{n // 28 % 12 + 1:02d}-{n % 28 + 1:02d}"',
        example: '"2026-01-31"',
        filterable: true,
        sortable,
        monotonic: true,
      };
    case 'uuid':
      return {
        ...base,
        pyType: 'UUID',
        inputType: 'UUID',
        bodyType: 'UUID',
        columnType: 'Uuid',
        migrationType: 'sa.Uuid()',
        strict: false,
        constraints: '',
        sample: 'f"00000000-0000-4000-8000-{n:012d}"',
        example: '"3f1c2a9e-7b7d-4c55-9a4e-0c1f8e5b2d10"',
        filterable: true,
        sortable,
        monotonic: true,
      };
    case 'enum': {
      const values = field.values ?? [];
      const longest = Math.max(...values.map((value) => value.length));
      return {
        ...base,
        pyType: `${resourceClass}${toPascal(field.name)}`,
        inputType: `${resourceClass}${toPascal(field.name)}`,
        bodyType: `${resourceClass}${toPascal(field.name)}`,
        enumClass: `${resourceClass}${toPascal(field.name)}`,
        columnType: `String(${longest})`,
        migrationType: `sa.String(length=${longest})`,
        strict: false,
        constraints: '',
        // The values are a constant of tests/resource_factories.py.
        sample: `${enumConstant(module, field.name)}[n % ${values.length}]`,
        example: JSON.stringify(values[0]),
        filterable: true,
        sortable,
        monotonic: false,
      };
    }
    case 'json':
      return {
        ...base,
        pyType: 'dict[str, Any]',
        inputType: 'dict[str, Any]',
        bodyType: 'JsonObject',
        columnType: 'JsonDocument',
        migrationType: 'JSON_DOCUMENT',
        strict: false,
        constraints: '',
        sample: '{"n": n}',
        example: '{"key": "value"}',
        filterable: false,
        sortable: false,
        monotonic: false,
      };
  }
}

/** How a resource's `id`, and its children's column of it, are typed and checked. */
export interface KeyView {
  type: KeyType;
  /** The Python type of its values. */
  pyType: 'UUID' | 'int';
  /** The model's column type when the annotation's is not the one (a BIGINT), else empty. */
  columnType: string;
  migrationType: string;
  /** The same of a column referring to it (a foreign key), which SQLite need not number. */
  referenceColumnType: string;
  referenceMigrationType: string;
  /** Keyword arguments of `Field(...)` and `Path(...)`: the values the column holds. */
  constraints: string;
  /** A Python expression of a key no row has, in tests (a JSON value). */
  missing: string;
}

export function keyView(type: KeyType): KeyView {
  if (type === 'uuid') {
    return {
      type,
      pyType: 'UUID',
      columnType: '',
      migrationType: 'sa.Uuid()',
      referenceColumnType: '',
      referenceMigrationType: 'sa.Uuid()',
      constraints: '',
      missing: 'str(uuid4())',
    };
  }
  // SQLite numbers a row by itself only when its key is an INTEGER: a BIGINT key is one there.
  const big = type === 'bigint';
  return {
    type,
    pyType: 'int',
    columnType: big ? 'BigInteger().with_variant(Integer(), "sqlite")' : '',
    migrationType: big ? 'sa.BigInteger().with_variant(sa.Integer(), "sqlite")' : 'sa.Integer()',
    referenceColumnType: big ? 'BigInteger()' : '',
    referenceMigrationType: big ? 'sa.BigInteger()' : 'sa.Integer()',
    constraints: big
      ? 'ge=-9_223_372_036_854_775_808, le=9_223_372_036_854_775_807'
      : 'ge=-2_147_483_648, le=2_147_483_647',
    missing: '2_147_483_647',
  };
}

/**
 * Sort values a forged cursor could hold that a column of `type` cannot take, each a 400 of the list: a
 * test id and a Python expression of the JSON value. `length` is a string column's.
 */
export function forgedSortValues(type: FieldType, length = DEFAULT_STR_LENGTH): [string, string][] {
  switch (type) {
    case 'str':
    case 'enum':
      return [
        ['nul', '"a\\x00b"'],
        ['lone-surrogate', '"a\\ud800b"'],
        // A cursor holding more than about 1,300 characters is longer than the list takes (2,000 in
        // base64): a 422 before it is read.
        ...(length < 1300 ? [['too-long', `"x" * ${length + 1}`] as [string, string]] : []),
        ['number', '5'],
      ];
    case 'int':
      return [
        ['above-int32', '2**31'],
        ['below-int32', '-(2**31) - 1'],
        ['fraction', '1.5'],
        ['text', '"x"'],
      ];
    case 'decimal':
      return [
        ['nan', '"NaN"'],
        ['snan', '"sNaN"'],
        ['infinity', '"Infinity"'],
        ['minus-infinity', '"-Infinity"'],
        ['huge-exponent', '"1e100000"'],
        ['tiny-exponent', '"1e-100000"'],
        ['zero-tiny-exponent', '"0E-100000"'],
        ['beyond-precision', '"12345678901234567"'],
        ['beyond-scale', '"1.005"'],
      ];
    case 'datetime':
      return [
        ['naive', '"2026-01-01T00:00:00"'],
        ['before-year-1-in-utc', '"0001-01-01T00:00:00+14:00"'],
        ['after-9999-in-utc', '"9999-12-31T23:59:59-14:00"'],
        ['number', '10**20'],
        ['null', 'None'],
      ];
    case 'date':
      return [
        ['impossible', '"2026-13-45"'],
        ['number', '1e30'],
        ['null', 'None'],
      ];
    case 'uuid':
      return [
        ['not-uuid', '"zzz"'],
        ['number', '5'],
      ];
    default:
      return [];
  }
}

/** The name of the constant listing an enum field's values in the tests' factories. */
export const enumConstant = (module: string, field: string): string => `${module}_${field}`.toUpperCase();

/** The names one resource is rendered with. */
export interface ResourceView {
  name: string;
  /** `order_item`, `order_items`, `/order-items`. */
  module: string;
  table: string;
  path: string;
  /** Human words: `order item`, `order items`. */
  label: string;
  labelPlural: string;
  className: string;
  rowClass: string;
  revision: string;
  downRevision: string;
  fields: FieldView[];
  key: KeyView;
  listIndex: string;
  /** Its read model in a tier-3 service, the projection of its events. */
  viewTable: string;
  parent?: {
    name: string;
    module: string;
    table: string;
    path: string;
    label: string;
    className: string;
    rowClass: string;
    /** The foreign key column and its attribute. */
    column: string;
    attribute: string;
    foreignKey: string;
    index: string;
    /** A relation added to a resource that had rows: they have no parent. */
    optional: boolean;
    /** The parent's key, which the foreign key column holds. */
    key: KeyView;
  };
  /** Resources that belong to this one (one-to-many), listed from it. */
  children: { module: string; table: string; path: string; className: string; labelPlural: string }[];
}

export function resourceView(spec: ResourceSpec, all: readonly ResourceSpec[]): ResourceView {
  const module = toSnake(spec.name);
  const table = tableName(spec.name);
  const names = (name: string) => {
    const snake = toSnake(name);
    return {
      name,
      module: snake,
      table: pluralize(snake),
      path: resourcePath(snake),
      label: snake.replaceAll('_', ' '),
      className: name,
      rowClass: `${name}Row`,
    };
  };
  const own = names(spec.name);
  const parentSpec = spec.belongsTo ? all.find((other) => other.name === spec.belongsTo) : undefined;
  const parent = parentSpec
    ? (() => {
        const parentNames = names(parentSpec.name);
        const column = `${parentNames.module}_id`;
        return {
          ...parentNames,
          column,
          attribute: parentNames.module,
          foreignKey: databaseNames(table).foreignKey(column, parentNames.table),
          index: databaseNames(table).index(column),
          optional: spec.optionalParent === true,
          key: keyView(keyType(parentSpec)),
        };
      })()
    : undefined;
  return {
    ...own,
    module,
    table,
    labelPlural: table.replaceAll('_', ' '),
    revision: spec.revision,
    downRevision: spec.downRevision,
    fields: spec.fields.map((field) => fieldView(field, spec.name, table)),
    key: keyView(keyType(spec)),
    listIndex: databaseNames(table).listIndex,
    viewTable: `read_${table}`,
    ...(parent ? { parent } : {}),
    children: all
      .filter((other) => other.belongsTo === spec.name)
      .map((other) => {
        const child = names(other.name);
        return { ...child, labelPlural: child.table.replaceAll('_', ' ') };
      }),
  };
}

/**
 * A Python call laid out as `ruff format` keeps it: on one line when it fits in 100 columns, else one
 * argument a line with a trailing comma (which ruff then keeps as it is). `head` ends with the `(`.
 */
export function pyCall(indent: string, head: string, args: readonly string[], tail = ')'): string {
  const oneLine = `${indent}${head}${args.join(', ')}${tail}`;
  if (oneLine.length <= 100) return oneLine;
  return [`${indent}${head}`, ...args.map((arg) => `${indent}    ${arg},`), `${indent}${tail}`].join('\n');
}

/**
 * First-party `from` imports sorted by module as ruff's isort sorts them; `[module, names]` pairs, and a
 * line too long for 100 columns is parenthesised one name a line.
 */
export function pyImports(imports: readonly [string, string[]][]): string {
  // In a workspace service, the shared package's imports are a section of their own, before the service's.
  const workspace = ([module]: [string, string[]]) => isLibsPackage(module.split('.')[0] ?? '');
  const block = (section: [string, string[]][]) =>
    section
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([module, names]) =>
        pyCall('', `from ${module} import (`, names).replace(/^(from \S+ import )\((.*)\)$/, '$1$2'),
      )
      .join('\n');
  return [imports.filter(workspace), imports.filter((entry) => !workspace(entry))]
    .filter((section) => section.length > 0)
    .map(block)
    .join('\n\n');
}

/** The views of the resources in one place: a service's, or (no service) the project's own package's. */
export function resourceViews(all: readonly ResourceSpec[], service?: string): ResourceView[] {
  const home = all.filter((spec) => spec.service === service);
  return home.map((spec) => resourceView(spec, home));
}

/**
 * The modules the resource templates import from. At tier 1 the project's own; in a service, the shared
 * package's (errors, the session, authentication), the service's tables, and the resources in a package of
 * their own (`<service>.resources`), as the service's `models` is a module.
 */
export function resourceModules(packageName: string, libs?: string) {
  if (libs === undefined) {
    return {
      root: packageName,
      base: `${packageName}.models.database`,
      schemas: `${packageName}.models.schemas`,
      session: `${packageName}.db.session`,
      dependencies: `${packageName}.dependencies`,
      errors: `${packageName}.errors`,
    };
  }
  return {
    root: `${packageName}.resources`,
    base: `${packageName}.tables`,
    schemas: `${libs}.models.schemas`,
    session: `${libs}.db`,
    dependencies: `${libs}.dependencies`,
    errors: `${libs}.errors`,
  };
}

/**
 * A resource's read model (tier 3) in a migration, as ruff lays it out: its table created in `upgrade`,
 * dropped in `downgrade`. The resource's first revision holds it, or, for the resources a service had when
 * it grew to tier 3, the revision that brought tier 3 (lib/resources.ts, `EventsRevision`).
 */
export function readModelMigration(viewTable: string): { upgrade: string; downgrade: string } {
  const index = `"ix_${viewTable}_owner"`;
  return {
    upgrade: [
      '    op.create_table(',
      `        "${viewTable}",`,
      '        sa.Column("id", sa.Uuid(), nullable=False),',
      '        sa.Column("owner", sa.String(length=255), nullable=False),',
      '        sa.Column("data", sa.JSON(), nullable=False),',
      '        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),',
      '        sa.Column("deleted", sa.Boolean(), nullable=False),',
      '        sa.Column("event_id", sa.String(length=255), nullable=False),',
      `        sa.PrimaryKeyConstraint("id", name=op.f("pk_${viewTable}")),`,
      '    )',
      pyCall('    ', 'op.create_index(', [index, `"${viewTable}"`, '["owner"]']),
    ].join('\n'),
    downgrade: [
      pyCall('    ', 'op.drop_index(', [index, `table_name="${viewTable}"`]),
      `    op.drop_table("${viewTable}")`,
    ].join('\n'),
  };
}
