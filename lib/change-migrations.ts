import type { ChangeOp, ResourceChange } from './resource-changes.js';
import { fieldView, keyView, pyCall } from './resource-views.js';
import { type KeyType, type ResourceField, databaseNames, tableName, toSnake } from './resources.js';

/**
 * The Python of a resource change's Alembic revision, laid out as ruff formats it. Every table change goes
 * through `op.batch_alter_table`: plain ALTERs on PostgreSQL, a copy of the table on SQLite (which cannot
 * alter a column), so the project's migration tests run on both.
 */

/** A step of a migration: an operation of the batch on the table, or a statement of its own. */
type Step = { batch: string } | { statement: string[] };

/** Ends the batch block before it: the operations after it start another. */
const BATCH_END: Step = { statement: [] };

interface Rendered {
  upgrade: string[];
  downgrade: string[];
  /** `from x import y` lines the defaults need; whether the JSON column constant is used. */
  imports: string[];
  json: boolean;
  /** Whether a step checks the rows first (the script then defines `refuse_rows`). */
  checks: boolean;
  summary: string;
}

/** PostgreSQL's name of a column type, for the USING cast of a change between types. */
const PG_TYPES: Record<string, string> = {
  text: 'TEXT',
  int: 'INTEGER',
  decimal: 'NUMERIC(18, 2)',
  bool: 'BOOLEAN',
  datetime: 'TIMESTAMP WITH TIME ZONE',
  date: 'DATE',
  uuid: 'UUID',
  json: 'JSONB',
};
const textual = (field: ResourceField) => field.type === 'str' || field.type === 'enum';

/** The most characters a value of a field can have, if it has a bound. */
const maxLength = (field: ResourceField): number | undefined =>
  field.type === 'str'
    ? field.length
    : field.type === 'enum'
      ? Math.max(...(field.values ?? []).map((value) => value.length))
      : undefined;

/**
 * The rows that cannot take a change of a field (`from` to `to`), as the pieces of a query counting them
 * and what is wrong with them: the migration stops on them, naming the column and how many there are,
 * instead of failing inside PostgreSQL (too long for the new length, a second row of an owner with the
 * value of a new unique field) or changing them without a word (a decimal rounded to an int, a value cut
 * to the length an explicit cast gives it).
 */
function misfits(
  table: string,
  from: ResourceField,
  to: ResourceField,
): { query: string[]; reason: string }[] {
  const column = to.name;
  const found: { query: string[]; reason: string }[] = [];
  const [fromLength, toLength] = [maxLength(from), maxLength(to)];
  if (toLength !== undefined && !(fromLength !== undefined && fromLength <= toLength)) {
    found.push({
      query: [`SELECT count(*) FROM ${table}`, `WHERE length(CAST(${column} AS TEXT)) > ${toLength}`],
      reason: `are longer than ${toLength} characters`,
    });
  }
  if (from.type === 'decimal' && to.type === 'int') {
    found.push({
      query: [`SELECT count(*) FROM ${table}`, `WHERE ${column} <> round(${column})`],
      reason: 'have a fractional part, which an int would round',
    });
  }
  if (!from.unique && to.unique) {
    found.push({
      query: [
        `SELECT count(*) FROM ${table} WHERE (owner, ${column}) IN (`,
        `SELECT owner, ${column} FROM ${table}`,
        `GROUP BY owner, ${column} HAVING count(*) > 1)`,
      ],
      reason: "share their value with another of their owner's",
    });
  }
  return found;
}

/** `keyOf`: the key type of a resource, which a relation's column to it takes. */
export function renderChange(
  change: ResourceChange,
  keyOf: (resource: string) => KeyType = () => 'uuid',
): Rendered {
  const table = tableName(change.resource);
  const names = databaseNames(table);
  const imports = new Set<string>();
  const view = (field: ResourceField) => fieldView(field, change.resource, table);
  const column = (field: ResourceField, nullable: boolean) =>
    `sa.Column("${field.name}", ${view(field).migrationType}, nullable=${nullable ? 'True' : 'False'})`;
  const uniqueOn = (field: ResourceField): Step => ({
    batch: `batch.create_unique_constraint(op.f("${names.unique(field.name)}"), ["owner", "${field.name}"])`,
  });
  const uniqueOff = (field: ResourceField): Step => ({
    batch: `batch.drop_constraint(op.f("${names.unique(field.name)}"), type_="unique")`,
  });
  const nullability = (field: ResourceField, nullable: boolean): Step => ({
    batch: `batch.alter_column("${field.name}", existing_type=${view(field).migrationType}, nullable=${nullable ? 'True' : 'False'})`,
  });
  /** Rows without a value take the field's default. */
  const backfill = (field: ResourceField): Step[] => {
    if (field.default === undefined) return [];
    return [
      {
        statement: [
          pyCall('    ', 'rows = sa.table(', [
            `"${table}"`,
            `sa.column("${field.name}", ${view(field).migrationType})`,
          ]),
          pyCall('    ', 'op.execute(', [
            `rows.update().where(rows.c.${field.name}.is_(None)).values(${field.name}=${pyDefault(field, imports)})`,
          ]),
        ],
      },
    ];
  };
  const addColumn = (field: ResourceField): Step[] => [
    { batch: `batch.add_column(${column(field, true)})` },
    ...(field.optional ? [] : [...backfill(field), nullability(field, false)]),
    ...(field.unique ? [uniqueOn(field)] : []),
  ];
  const dropColumn = (field: ResourceField): Step[] => [
    ...(field.unique ? [uniqueOff(field)] : []),
    { batch: `batch.drop_column("${field.name}")` },
  ];
  // A rename is a batch of its own: on SQLite, a batch keeps knowing a renamed column by its old name, so a
  // type or constraint change of the same field in that batch would not find it (or be lost).
  const rename = (from: ResourceField, to: ResourceField): Step[] => [
    BATCH_END,
    ...(from.unique ? [uniqueOff(from)] : []),
    {
      batch: `batch.alter_column("${from.name}", new_column_name="${to.name}", existing_type=${view(from).migrationType}, existing_nullable=${from.optional ? 'True' : 'False'})`,
    },
    BATCH_END,
    // By its new name, which the batch of the rename does not know the column by yet.
    ...(to.unique ? [uniqueOn(to)] : []),
  ];
  let checks = false;
  const alter = (from: ResourceField, to: ResourceField): Step[] => {
    const steps: Step[] = misfits(table, from, to).map(({ query, reason }) => {
      checks = true;
      const args = [`"${table}.${to.name}"`, `"${reason}"`, ...query.map((piece) => `"${piece}"`)];
      return { statement: [pyCall('    ', 'refuse_rows(', args)] };
    });
    if (from.unique && !to.unique) steps.push(uniqueOff(from));
    const fromType = view(from).migrationType;
    const toType = view(to).migrationType;
    if (fromType !== toType) {
      // Between families of types PostgreSQL needs the cast spelt out; a longer or shorter string does not
      // (a value too long for the new length stops the migration instead of being cut).
      const using =
        textual(from) && textual(to)
          ? []
          : [
              `postgresql_using="${to.name}::${textual(to) ? `VARCHAR(${to.length ?? view(to).migrationType.replace(/\D/g, '')})` : PG_TYPES[to.type]}"`,
            ];
      steps.push({
        batch: `batch.alter_column("${to.name}", existing_type=${fromType}, type_=${toType}, existing_nullable=${from.optional ? 'True' : 'False'}${using.map((arg) => `, ${arg}`).join('')})`,
      });
    }
    if (from.optional && !to.optional) steps.push(...backfill(to), nullability(to, false));
    if (!from.optional && to.optional) steps.push(nullability(to, true));
    if (!from.unique && to.unique) steps.push(uniqueOn(to));
    return steps;
  };
  const relate = (parent: string, undo: boolean): Step[] => {
    const parentTable = tableName(parent);
    const col = `${toSnake(parent)}_id`;
    const fk = names.foreignKey(col, parentTable);
    const ix = names.index(col);
    if (undo) {
      return [
        { batch: `batch.drop_index(op.f("${ix}"))` },
        { batch: `batch.drop_constraint(op.f("${fk}"), type_="foreignkey")` },
        { batch: `batch.drop_column("${col}")` },
      ];
    }
    return [
      {
        batch: `batch.add_column(sa.Column("${col}", ${keyView(keyOf(parent)).referenceMigrationType}, nullable=True))`,
      },
      {
        batch: `batch.create_foreign_key(op.f("${fk}"), "${parentTable}", ["${col}"], ["id"], ondelete="RESTRICT")`,
      },
      { batch: `batch.create_index(op.f("${ix}"), ["${col}"])` },
    ];
  };
  const forward = (op: ChangeOp): Step[] => {
    switch (op.kind) {
      case 'add':
        return addColumn(op.field);
      case 'remove':
        return dropColumn(op.field);
      case 'rename':
        return rename(op.from, op.to);
      case 'alter':
        return alter(op.from, op.to);
      case 'relate':
        return relate(op.parent, false);
    }
  };
  const backward = (op: ChangeOp): Step[] => {
    switch (op.kind) {
      case 'add':
        return dropColumn(op.field);
      case 'remove':
        return addColumn(op.field);
      case 'rename':
        return rename(op.to, op.from);
      case 'alter':
        return alter(op.to, op.from);
      case 'relate':
        return relate(op.parent, true);
    }
  };
  const fields = change.ops.flatMap((op) =>
    op.kind === 'add' || op.kind === 'remove' ? [op.field] : op.kind === 'relate' ? [] : [op.from, op.to],
  );
  const upgrade = layout(table, change.ops.flatMap(forward));
  const downgrade = layout(table, [...change.ops].reverse().flatMap(backward));
  return {
    upgrade,
    downgrade,
    imports: mergeImports(imports),
    json: fields.some((field) => field.type === 'json'),
    checks,
    summary: change.ops.map(describe).join(', '),
  };
}

/** `from datetime import date` and `from datetime import datetime` as one line, sorted as isort does. */
function mergeImports(lines: Set<string>): string[] {
  const byModule = new Map<string, Set<string>>();
  for (const line of lines) {
    const [, module = '', name = ''] = /^from (\S+) import (\S+)$/.exec(line) ?? [];
    byModule.set(module, (byModule.get(module) ?? new Set()).add(name));
  }
  return [...byModule]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([module, names]) => `from ${module} import ${[...names].sort().join(', ')}`);
}

/** Consecutive batch operations share one `with op.batch_alter_table(...)` block. */
function layout(table: string, steps: Step[]): string[] {
  const lines: string[] = [];
  let inBatch = false;
  for (const step of steps) {
    if ('batch' in step) {
      if (!inBatch) lines.push(`    with op.batch_alter_table("${table}") as batch:`);
      inBatch = true;
      const [head, ...args] = splitCall(step.batch);
      lines.push(pyCall('        ', head, args));
    } else {
      inBatch = false;
      lines.push(...step.statement);
    }
  }
  return lines;
}

/** `f(a, b)` -> [`f(`, 'a', 'b'], for {@link pyCall}; arguments split at top-level commas. */
function splitCall(call: string): [string, ...string[]] {
  const open = call.indexOf('(');
  const inner = call.slice(open + 1, -1);
  const args: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let index = 0; index < inner.length; index++) {
    const char = inner[index];
    if (char === '"') quoted = !quoted;
    if (quoted) continue;
    if (char === '(' || char === '[') depth++;
    if (char === ')' || char === ']') depth--;
    if (char === ',' && depth === 0) {
      args.push(inner.slice(start, index).trim());
      start = index + 1;
    }
  }
  args.push(inner.slice(start).trim());
  return [call.slice(0, open + 1), ...args];
}

function describe(op: ChangeOp): string {
  switch (op.kind) {
    case 'add':
      return `${op.field.name} added`;
    case 'remove':
      return `${op.field.name} removed`;
    case 'rename':
      return `${op.from.name} renamed to ${op.to.name}`;
    case 'alter':
      return `${op.to.name} changed`;
    case 'relate':
      return `belongs to ${toSnake(op.parent).replaceAll('_', ' ')}`;
  }
}

/** A default as a Python literal of the field's type (the spec reader has checked it). */
function pyDefault(field: ResourceField, imports: Set<string>): string {
  const value = field.default;
  switch (field.type) {
    case 'int':
      return String(value);
    case 'bool':
      return value === true ? 'True' : 'False';
    case 'decimal':
      imports.add('from decimal import Decimal');
      return `Decimal(${JSON.stringify(String(value))})`;
    case 'date':
      imports.add('from datetime import date');
      return `date.fromisoformat(${JSON.stringify(String(value))})`;
    case 'datetime':
      imports.add('from datetime import datetime');
      return `datetime.fromisoformat(${JSON.stringify(String(value))})`;
    case 'uuid':
      imports.add('from uuid import UUID');
      return `UUID(${JSON.stringify(String(value))})`;
    default:
      return JSON.stringify(String(value));
  }
}
