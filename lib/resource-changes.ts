import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ForgeUserError } from './errors.js';
import { SERVICES_DIR } from './workspace.js';
import {
  FIELD_TYPES,
  type FieldType,
  type ResourceField,
  type ResourceSpec,
  changeEntry,
  fieldText,
  migrationEntry,
  nextRevision,
  toSnake,
} from './resources.js';

/**
 * Changes to resources that exist: the difference between a project's stored resources and the ones a spec
 * describes, as the operations of new Alembic revisions chained after the project's last one. A revision
 * already written is never rendered differently: each change stores everything its migration needs.
 */

export type ChangeOp =
  | { kind: 'add'; field: ResourceField }
  | { kind: 'remove'; field: ResourceField }
  /** Renames are stated in the spec (`renamedFrom`), never guessed from a field gone and one new. */
  | { kind: 'rename'; from: ResourceField; to: ResourceField }
  | { kind: 'alter'; from: ResourceField; to: ResourceField }
  | { kind: 'relate'; parent: string };

/** One change of one resource, as `.yo-rc.json` stores it under `resourceChanges`. */
export interface ResourceChange {
  resource: string;
  revision: string;
  downRevision: string;
  ops: ChangeOp[];
}

/** A resource as a spec describes it. */
export interface DesiredResource {
  name: string;
  fields: ResourceField[];
  belongsTo?: string;
  optionalParent?: boolean;
  /** The workspace service it lives in. */
  service?: string;
  /** New field name -> the stored field it renames. */
  renames: Record<string, string>;
  /** Made from a table of an existing database (`add resource --from-database`): a spec only records it. */
  adopted?: true;
}

/** An error in a spec, at a path of it (`resources.Order.fields.total`) that the spec reader turns into a line. */
export class SpecError extends ForgeUserError {
  constructor(
    readonly at: readonly (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

export interface StoredResources {
  resources?: ResourceSpec[];
  resourceChanges?: ResourceChange[];
  migrations?: string[];
}

export interface ApplyPlan {
  resources: ResourceSpec[];
  resourceChanges: ResourceChange[];
  migrations: string[];
  /** Names of the resources added and changed, for the run's summary. */
  added: string[];
  changed: string[];
}

/**
 * The type changes a migration makes, by the type a field has: those PostgreSQL casts (`column::TYPE`).
 * The others (int to uuid, date to bool, uuid to int...) fail on any table, even an empty one; a datetime
 * cut to its date would lose its time (in the server's time zone) without a word; and no value of those
 * types is one of an enum's (lowercase words). A string, text or enum is read as the new type row by row:
 * a value that does not read stops the migration. Changes that fit only some rows (fewer characters,
 * decimal to int, unique) are checked by the migration against the rows first (lib/change-migrations.ts).
 */
const CASTS: Record<FieldType, readonly FieldType[]> = {
  str: FIELD_TYPES,
  text: FIELD_TYPES,
  enum: FIELD_TYPES,
  int: ['str', 'text', 'decimal', 'bool'],
  decimal: ['str', 'text', 'int'],
  bool: ['str', 'text', 'int'],
  datetime: ['str', 'text'],
  date: ['str', 'text', 'datetime'],
  uuid: ['str', 'text'],
  // A JSON field holds objects, which read as no number or truth value.
  json: ['str', 'text'],
};

/** Whether a migration can change a column of type `from` to `to`. */
export const castable = (from: FieldType, to: FieldType): boolean => from === to || CASTS[from].includes(to);

/** The column a field's migration deals in: a change of any of these needs an ALTER. */
const columnShape = (field: ResourceField): string =>
  JSON.stringify([
    field.type === 'enum'
      ? `str:${Math.max(...(field.values ?? []).map((value) => value.length))}`
      : field.type === 'str'
        ? `str:${field.length}`
        : field.type,
    field.optional,
    field.unique,
  ]);

/**
 * What the stored resources become to match `desired`: new resources with their first revision, and for each
 * changed one a revision of its field and relation changes. `scripts` are the project's Alembic scripts, so
 * each new revision follows the project's single head. Nothing differs: the stored state, unchanged.
 */
export function planApply(
  stored: StoredResources,
  desired: readonly DesiredResource[],
  scripts: ScriptsOf,
): ApplyPlan {
  const current = stored.resources ?? [];
  for (const resource of current) {
    if (!desired.some((wanted) => wanted.name === resource.name)) {
      throw new SpecError(
        ['resources'],
        `resource ${resource.name} is in the project but not in the spec; removing a resource is not supported (its files and table stay)`,
      );
    }
  }
  // Each service has its own database and chain of revisions.
  const chains = new Map<string, string[]>();
  const next = (service: string | undefined) => {
    const revisions = chains.get(service ?? '') ?? [...scripts(service)];
    chains.set(service ?? '', revisions);
    const revision = nextRevision(revisions);
    revisions.push(
      `revision: str = "${revision.revision}"\ndown_revision: str = "${revision.downRevision}"\n`,
    );
    return revision;
  };
  const resources = [...current];
  const resourceChanges = [...(stored.resourceChanges ?? [])];
  const migrations = [...(stored.migrations ?? [])];
  const added: string[] = [];
  const changed: string[] = [];

  // New resources first (parents before children), so a relation added below finds its parent's table.
  const pending = desired.filter((wanted) => !current.some((resource) => resource.name === wanted.name));
  while (pending.length > 0) {
    const ready = pending.findIndex(
      (wanted) => !wanted.belongsTo || resources.some((resource) => resource.name === wanted.belongsTo),
    );
    if (ready < 0) {
      const names = pending.map((wanted) => wanted.name).join(', ');
      throw new SpecError(['resources'], `the relations of ${names} form a cycle or name unknown resources`);
    }
    const [wanted] = pending.splice(ready, 1) as [DesiredResource];
    if (wanted.adopted) {
      throw new SpecError(
        ['resources', wanted.name, 'adopted'],
        'the project has no such resource: a table is adopted with `fastapi-forge add resource --from-database`, not by a spec',
      );
    }
    const spec: ResourceSpec = { ...shapeOf(wanted), ...next(wanted.service) };
    resources.push(spec);
    // The order of the project's own migrations; a service's resources chain by their stored revisions.
    if (!spec.service) migrations.push(migrationEntry(spec));
    added.push(spec.name);
  }

  for (const [index, resource] of resources.entries()) {
    if (added.includes(resource.name)) continue;
    const wanted = desired.find((candidate) => candidate.name === resource.name) as DesiredResource;
    if (wanted.service !== resource.service) {
      throw new SpecError(
        ['resources', resource.name, 'service'],
        `${resource.name} is in ${resource.service ? `the ${resource.service} service` : "the project's own package"}; moving a resource is not supported`,
      );
    }
    if (wanted.adopted && !resource.adopted) {
      throw new SpecError(
        ['resources', resource.name, 'adopted'],
        `${resource.name} was not made from a table of an existing database; leave adopted out`,
      );
    }
    const ops = changeOps(resource, wanted);
    const shape = shapeOf(wanted);
    const sameShape =
      JSON.stringify(shape) ===
      JSON.stringify({
        name: resource.name,
        fields: resource.fields,
        ...(resource.belongsTo ? { belongsTo: resource.belongsTo } : {}),
        ...(resource.optionalParent ? { optionalParent: true } : {}),
        ...(resource.service ? { service: resource.service } : {}),
      });
    if (sameShape) continue;
    const created = resource.created ?? {
      fields: resource.fields,
      ...(resource.belongsTo ? { belongsTo: resource.belongsTo } : {}),
      ...(resource.optionalParent ? { optionalParent: true } : {}),
    };
    resources[index] = {
      ...shape,
      revision: resource.revision,
      downRevision: resource.downRevision,
      created,
      ...(resource.adopted ? { adopted: resource.adopted } : {}),
    };
    changed.push(resource.name);
    // A change the table does not see (an enum value of no greater length, a default) needs no revision.
    if (ops.length === 0) continue;
    const change: ResourceChange = { resource: resource.name, ...next(resource.service), ops };
    resourceChanges.push(change);
    if (!resource.service) migrations.push(changeEntry(change));
  }
  return { resources, resourceChanges, migrations, added, changed };
}

function shapeOf(wanted: DesiredResource): Omit<ResourceSpec, 'revision' | 'downRevision'> {
  return {
    name: wanted.name,
    fields: wanted.fields,
    ...(wanted.belongsTo ? { belongsTo: wanted.belongsTo } : {}),
    ...(wanted.belongsTo && wanted.optionalParent ? { optionalParent: true } : {}),
    ...(wanted.service ? { service: wanted.service } : {}),
  };
}

/** The operations that take a stored resource's table to the one `wanted` describes. */
function changeOps(resource: ResourceSpec, wanted: DesiredResource): ChangeOp[] {
  const at = (...rest: string[]) => ['resources', resource.name, ...rest];
  const storedField = (name: string) => resource.fields.find((field) => field.name === name);
  const wantedNames = new Set(wanted.fields.map((field) => field.name));
  const renamed = new Map<string, string>();
  const sources = new Set<string>();
  for (const [to, from] of Object.entries(wanted.renames)) {
    if (sources.has(from)) {
      throw new SpecError(
        at('fields', to, 'renamedFrom'),
        `"${from}" is renamed to two fields of ${resource.name}`,
      );
    }
    sources.add(from);
    if (storedField(to)) {
      // Renamed already, by an earlier apply; never onto a field that holds data of its own (swaps included).
      if (!storedField(from)) continue;
      throw new SpecError(
        at('fields', to, 'renamedFrom'),
        `${resource.name} already has a field "${to}": rename "${from}" to a new name, or remove "${to}" in an apply of its own first`,
      );
    }
    if (!storedField(from)) {
      throw new SpecError(
        at('fields', to, 'renamedFrom'),
        `${resource.name} has no field "${from}" to rename to "${to}" (its fields: ${resource.fields.map((field) => field.name).join(', ')})`,
      );
    }
    if (wantedNames.has(from)) {
      throw new SpecError(
        at('fields', to, 'renamedFrom'),
        `"${from}" is renamed to "${to}" but is still a field of ${resource.name}`,
      );
    }
    renamed.set(from, to);
  }
  const removals: ChangeOp[] = resource.fields
    .filter((field) => !wantedNames.has(field.name) && !renamed.has(field.name))
    .map((field) => ({ kind: 'remove', field }));
  const renames: ChangeOp[] = [];
  const alters: ChangeOp[] = [];
  const additions: ChangeOp[] = [];
  for (const field of wanted.fields) {
    const oldName = [...renamed].find(([, to]) => to === field.name)?.[0];
    const before = storedField(oldName ?? field.name);
    if (!before) {
      if (!field.optional && field.default === undefined) {
        throw new SpecError(
          at('fields', field.name),
          `a required field added to ${resource.name}, whose table may hold rows, needs a default for them (default: <value>), or make it optional (${field.name}: ${fieldText(field).slice(field.name.length + 1)}?)`,
        );
      }
      refuseSharedDefault(
        field,
        at('fields', field.name),
        `added to ${resource.name}`,
        `add it optional (${field.name}: ${fieldText(field)
          .slice(field.name.length + 1)
          .replace('!', '?!')}) without a default, fill it, then make it required`,
      );
      additions.push({ kind: 'add', field });
      continue;
    }
    const from = oldName ? { ...before, name: field.name } : before;
    if (oldName) renames.push({ kind: 'rename', from: before, to: { ...before, name: field.name } });
    if (before.optional && !field.optional && field.default === undefined) {
      throw new SpecError(
        at('fields', field.name),
        `${resource.name}.${field.name} becomes required: give a default (default: <value>) for the rows where it is empty`,
      );
    }
    if (before.optional && !field.optional) {
      refuseSharedDefault(
        field,
        at('fields', field.name),
        `of ${resource.name} made required`,
        'keep it optional until every row has a value of its own, then make it required',
      );
    }
    const dropped = (before.values ?? []).filter((value) => !(field.values ?? []).includes(value));
    if (before.type === 'enum' && dropped.length > 0) {
      throw new SpecError(
        at('fields', field.name),
        `rows of ${resource.name} may hold ${dropped.map((value) => JSON.stringify(value)).join(', ')}, which ${field.name} no longer allows: keep the value, or move those rows to another value first (an UPDATE in a revision of your own), then remove it`,
      );
    }
    if (!castable(before.type, field.type)) {
      throw new SpecError(
        at('fields', field.name),
        `${resource.name}.${field.name} cannot change from ${before.type} to ${field.type}: PostgreSQL cannot convert its values; add a new field of type ${field.type}, fill it, then remove ${oldName ?? field.name}`,
      );
    }
    if (columnShape(from) !== columnShape(field)) alters.push({ kind: 'alter', from, to: field });
  }
  const relation: ChangeOp[] = [];
  if (
    wanted.belongsTo !== resource.belongsTo ||
    Boolean(wanted.optionalParent) !== Boolean(resource.optionalParent)
  ) {
    if (resource.belongsTo) {
      throw new SpecError(
        at('belongsTo'),
        `${resource.name} belongs to ${resource.belongsTo}; changing or removing a relation is not supported`,
      );
    }
    if (!wanted.optionalParent) {
      throw new SpecError(
        at('belongsTo'),
        `${resource.name}'s rows have no ${toSnake(String(wanted.belongsTo)).replaceAll('_', ' ')} yet: a relation added to a resource is optional, write belongsTo: ${wanted.belongsTo}?`,
      );
    }
    relation.push({ kind: 'relate', parent: String(wanted.belongsTo) });
  }
  return [...removals, ...renames, ...alters, ...additions, ...relation];
}

/**
 * A unique field whose default fills existing rows: one default cannot fill two rows of an owner, so the
 * migration would stop on the constraint once the table holds them.
 */
function refuseSharedDefault(
  field: ResourceField,
  at: (string | number)[],
  what: string,
  remedy: string,
): void {
  if (!field.unique || field.optional || field.default === undefined) return;
  throw new SpecError(
    at,
    `a unique field ${what} cannot take one default for the rows that have no value (they would share it): ${remedy}`,
  );
}

/** The text of every Alembic script of the package, the user's own included. */
/** The Alembic scripts a resource's revision follows: its service's, or (no service) the project's own. */
export type ScriptsOf = (service: string | undefined) => readonly string[];

/** {@link ScriptsOf} the project in `projectDir`, read from its files. */
export const projectScripts =
  (projectDir: string, packageName: string): ScriptsOf =>
  (service) =>
    migrationScripts(
      service
        ? path.join(projectDir, SERVICES_DIR, service, 'src', service)
        : path.join(projectDir, 'src', packageName),
    );

export function migrationScripts(packageDir: string): string[] {
  const folder = path.join(packageDir, 'migrations', 'versions');
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((file) => file.endsWith('.py') && file !== '__init__.py')
    .map((file) => readFileSync(path.join(folder, file), 'utf8'));
}
