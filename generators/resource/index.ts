import path from 'node:path';
import { ForgeGenerator } from '../../lib/base-generator.js';
import { renderChange } from '../../lib/change-migrations.js';
import { asList } from '../../lib/command.js';
import { type ForgeConfig, isSqlDatabase, wiredDatabase } from '../../lib/config.js';
import { ForgeUserError } from '../../lib/errors.js';
import { findExecutable } from '../../lib/exec.js';
import { type DesiredResource, planApply, projectScripts } from '../../lib/resource-changes.js';
import {
  type ResourceView,
  enumConstant,
  forgedSortValues,
  pyCall,
  pyImports,
  readModelMigration,
  resourceModules,
  resourceView,
  resourceViews,
} from '../../lib/resource-views.js';
import {
  type ResourceSpec,
  buildResourceSpec,
  eventsRevisionOf,
  keyType,
  refuseServiceClash,
  resourceModuleFiles,
  migrationEntry,
  nextRevision,
  sameResource,
  sameService,
  tableName,
  toSnake,
} from '../../lib/resources.js';
import { SERVICES_DIR, libsPackage } from '../../lib/workspace.js';
import command from './command.js';
import { baselineFiles, changeFiles, resourceFiles, serviceFiles, sharedFiles } from './files.js';
import { type Mapping, mapTables, modelModules, ownTables, readCatalog } from './from-database.js';

/**
 * A resource in the SQL database: its table and migration, schemas, repository, service, router with a
 * paginated, filtered and sorted list, and tests. Its spec is stored in `.yo-rc.json`, and every file is
 * rendered from the stored specs at each run, so the same command twice changes nothing.
 *
 * Inside a workspace it lives in a service (`--service orders`): in the service's database, with a revision
 * of its migrations; at tier 3 its writes emit events through the service's outbox, and a projection keeps
 * a read model of it.
 */
export default class ResourceGenerator extends ForgeGenerator {
  static override readonly command = command;

  async initializing(): Promise<void> {
    this.requireConfiguredProject();
    if (this.options.forgeComposed) return;
    const config = this.answers;
    const scripts = projectScripts(this.destinationRoot(), config.packageName);
    // `apply`: the resources of a spec file, checked by the CLI against this same plan before the run.
    const desired = this.options.forgeSpecResources as DesiredResource[] | undefined;
    if (desired) {
      if (config.services.length === 0) requireDatabase(config);
      const plan = planApply(config, desired, scripts);
      this._refuseTakenFiles(plan.resources.filter((spec) => plan.added.includes(spec.name)));
      for (const key of ['resources', 'resourceChanges', 'migrations'] as const) {
        if (JSON.stringify(plan[key]) !== JSON.stringify(config[key] ?? []))
          this.config.set(key, plan[key] as never);
      }
      return;
    }
    const existing = config.resources ?? [];
    const fromDatabase = this.options.fromDatabase ?? this.options['from-database'];
    const service = chosenService(config.services, this.options.service as string | undefined);
    if (fromDatabase !== undefined) {
      if (service === undefined) requireDatabase(config);
      await this._adoptTables(String(fromDatabase), scripts(service), service);
      return;
    }
    const adoptionOnly = [
      ['--owner', this.options.owner],
      ['--table', asList(this.options.table)[0]],
    ].find(([, value]) => value !== undefined);
    if (adoptionOnly) {
      throw new ForgeUserError(
        `${adoptionOnly[0]} goes with --from-database <url>: leave it out, or add the tables of that database`,
      );
    }
    if (service === undefined) requireDatabase(config);
    const fields = asList(this.options.field);
    const parent = asList(this.options.belongsTo ?? this.options['belongs-to'])[0];
    // Relations, and names of tables, are within one database: the service's.
    const neighbours = existing.filter((resource) => sameService(resource, { service }));
    const spec: ResourceSpec = {
      ...buildResourceSpec(this.options.name as string | undefined, fields, parent, neighbours, {
        revision: '',
        downRevision: '',
      }),
      ...(service ? { service } : {}),
    };
    if (service) refuseServiceClash(spec.name);
    const stored = existing.find((resource) => resource.name === spec.name);
    if (stored) {
      if (!sameService(stored, spec)) {
        throw new ForgeUserError(
          `resource ${spec.name} exists in ${stored.service ? `the ${stored.service} service` : "the project's own package"}; choose another name`,
        );
      }
      if (!sameResource(stored, spec)) {
        throw new ForgeUserError(
          `resource ${spec.name} exists with other fields or relations; change it in the system spec: \`fastapi-forge export\`, edit forge.yaml, then \`fastapi-forge apply\``,
        );
      }
      return;
    }
    this._refuseTakenFiles([spec]);
    const added = { ...spec, ...nextRevision(scripts(service)) };
    // Stored with the other resources; the project's own migrations chain in the config's order.
    this.config.set('resources', [...existing, added]);
    if (!service) this.config.set('migrations', [...(config.migrations ?? []), migrationEntry(added)]);
  }

  /**
   * A new resource's modules must not be files the project has (its own, a plugin's, the user's): they
   * would be replaced, or a test of the project's taken for the resource's.
   */
  private _refuseTakenFiles(added: readonly ResourceSpec[]): void {
    for (const spec of added) {
      const into = spec.service ? `${SERVICES_DIR}/${spec.service}/` : '';
      const pkg = spec.service ? `${spec.service}/resources` : this.answers.packageName;
      for (const module of resourceModuleFiles(toSnake(spec.name))) {
        const relative = `${into}${module.startsWith('tests/') ? '' : `src/${pkg}/`}${module}.py`;
        if (this.fs.exists(this.destinationPath(relative))) {
          throw new ForgeUserError(
            `resource ${spec.name} would write ${relative}, which the project has already; choose another name`,
          );
        }
      }
    }
  }

  /**
   * Resources from the tables of an existing database: those named with --table (each must map), or
   * picked in a terminal, or with --yes every table that maps; the others are listed with their reason.
   * (Yeoman runs every method of a generator as a task but those named with a leading "_".)
   */
  private async _adoptTables(url: string, scripts: readonly string[], service?: string): Promise<void> {
    const config = this.answers;
    const all = config.resources ?? [];
    // A service's tables are in its own database, beside its resources only.
    const existing = all.filter((spec) => sameService(spec, { service }));
    const named = asList(this.options.table);
    if (this.options.name || asList(this.options.field).length > 0) {
      throw new ForgeUserError(
        '--from-database names its resources after the tables: give no name or --field',
      );
    }
    const owner = this.options.owner as string | undefined;
    if (!owner?.trim()) {
      throw new ForgeUserError(
        "--from-database needs --owner <subject>: the principal (a token's subject, an API key's client) the existing rows belong to",
      );
    }
    const head = nextRevision(scripts);
    const uv = findExecutable('uv');
    if (!uv) {
      throw new ForgeUserError(
        "--from-database reads the tables with the project's Python through uv, which is not on PATH: install it (`pip install uv`)",
      );
    }
    const catalog = readCatalog(
      service ? path.join(this.destinationRoot(), SERVICES_DIR, service) : this.destinationRoot(),
      service
        ? [`${service}.tables`, `${service}.resources.models.resources`, `${service}.read_model`]
        : modelModules(config.packageName),
      uv,
      url,
    );
    // The project's own tables (notes, users...), on a database it has migrated, are not candidates. On
    // another database they are a legacy table of the same name, on which the project's own revision
    // would fail ("relation already exists"): refused, as neither can be given another name here.
    const { own, migrated } = ownTables(catalog, scripts);
    // Tables adopted by an earlier run are resources already: running it again changes nothing.
    const adopted = new Set(existing.filter((spec) => spec.adopted).map((spec) => tableName(spec.name)));
    const clashes = catalog.tables
      .map((table) => table.name)
      .filter((table) => own.has(table) && !adopted.has(table));
    if (!migrated && clashes.length > 0) {
      throw new ForgeUserError(
        `the database has ${clashes.length === 1 ? 'a table' : 'tables'} ${clashes.join(', ')} that this project's own migrations create: rename or drop ${clashes.length === 1 ? 'it' : 'them'} in that database, or adopt from a database without ${clashes.length === 1 ? 'it' : 'them'}`,
      );
    }
    const tables = catalog.tables.filter((table) => !own.has(table.name));
    const mapping = mapTables(tables, existing, {
      owner,
      baseline: head.revision,
      baselineDown: head.downRevision,
      uuidKeysOnly: service !== undefined && config.tier >= 3,
    });
    for (const table of named) {
      if (adopted.has(table)) continue;
      const refused = mapping.skipped.find((skipped) => skipped.table === table);
      if (refused) throw new ForgeUserError(`table ${table} cannot be a resource: ${refused.reason}`);
      if (!mapping.mapped.some((mapped) => mapped.table === table)) {
        throw new ForgeUserError(`the database has no table ${table}`);
      }
    }
    const refused = mapping.skipped.filter((skipped) => !adopted.has(skipped.table));
    for (const skipped of refused) this.log(`Skipped table ${skipped.table}: ${skipped.reason}`);
    const picked = named.length > 0 ? named : await this._pickTables(mapping);
    if (picked.length === 0 && mapping.mapped.length > 0) throw new ForgeUserError('no table picked');
    const chosen = pickWithParents(mapping, picked).map((spec) => ({
      ...spec,
      ...(service ? { service } : {}),
    }));
    if (service) {
      for (const spec of chosen) {
        refuseServiceClash(spec.name);
        const elsewhere = all.find((other) => other.name === spec.name);
        if (elsewhere) {
          throw new ForgeUserError(
            `table ${tableName(spec.name)}: resource ${spec.name} exists in ${elsewhere.service ? `the ${elsewhere.service} service` : "the project's own package"}`,
          );
        }
      }
    }
    if (chosen.length === 0) {
      if (adopted.size > 0 && named.every((table) => adopted.has(table))) return;
      throw new ForgeUserError('no table of the database can be a resource');
    }
    this.config.set('resources', [...all, ...chosen]);
    // A service's revisions chain in its own folder; the project's, in the config's order.
    if (!service) {
      this.config.set('migrations', [...(config.migrations ?? []), ...chosen.map(migrationEntry)]);
    }
    const resourceTables = new Set([...all, ...chosen].map((spec) => tableName(spec.name)));
    const unmanaged = [...new Set([...(config.unmanagedTables ?? []), ...tables.map((table) => table.name)])]
      .filter((table) => !resourceTables.has(table))
      .sort();
    if (unmanaged.length > 0) this.config.set('unmanagedTables', unmanaged);
  }

  /**
   * Every table that maps with --yes; a checkbox otherwise (which the CLI refuses in one line when there
   * is no terminal to show it), unless there is nothing to pick.
   */
  private async _pickTables(mapping: Mapping): Promise<string[]> {
    const all = mapping.mapped.map((mapped) => mapped.table);
    if (this.options.yes || all.length === 0) return all;
    const question = {
      type: 'checkbox' as const,
      name: 'tables',
      message: 'Tables to make resources of',
      choices: all.map((table) => ({ name: table, value: table, checked: true })),
      flag: '--table <table> (repeatable)',
    };
    const answers = await this.prompt([question]);
    return answers.tables as string[];
  }

  writing(): void {
    const context: Record<string, unknown> = {
      ...this.templateContext(),
      ...HELPERS,
      modules: resourceModules(this.answers.packageName),
    };
    const specs = this.answers.resources ?? [];
    this._writeResources(context, context.resources as ResourceView[], specs);
    const libs = libsPackage(this.answers.packageName);
    for (const service of this.answers.services) {
      const resources = resourceViews(specs, service);
      if (resources.length === 0) continue;
      const serviceContext = {
        ...context,
        packageName: service,
        libsPackage: libs,
        service,
        resources,
        modules: resourceModules(service, libs),
        // Tier 3: their writes go out as events through the outbox, and a projection reads them back.
        events: this.answers.tier >= 3,
      };
      this._writeResources(serviceContext, resources, specs, service);
      this.writeSections(serviceFiles, serviceContext);
    }
  }

  /** The files of `resources`, in the project's own package or (with `service`) in that service's. */
  private _writeResources(
    context: Record<string, unknown>,
    resources: readonly ResourceView[],
    all: readonly ResourceSpec[],
    service?: string,
  ): void {
    if (resources.length === 0) return;
    const place = { service };
    this.writeSections(sharedFiles, context);
    const specs = all.filter((spec) => spec.service === service);
    const adopted = specs.filter((spec) => spec.adopted);
    for (const baseline of new Set(adopted.map((spec) => spec.adopted?.baseline))) {
      const group = adopted.filter((spec) => spec.adopted?.baseline === baseline);
      this.writeSections(baselineFiles, {
        packageName: context.packageName,
        ...place,
        pyCall,
        revision: baseline,
        downRevision: group[0]?.adopted?.baselineDown,
        tables: group.map((spec) => ({ table: tableName(spec.name), adopted: spec.adopted })),
      });
    }
    // At tier 3 a resource's first revision creates its read model, unless tier 3's revision does (for the
    // resources a service had before it grew to tier 3).
    const grown = service ? eventsRevisionOf(this.answers.eventsRevisions, service).readModels : [];
    for (const resource of resources) {
      const spec = specs.find((candidate) => candidate.name === resource.name) as ResourceSpec;
      const created = spec.created
        ? resourceView(
            {
              ...spec,
              fields: spec.created.fields,
              belongsTo: spec.created.belongsTo,
              optionalParent: spec.created.optionalParent,
            },
            specs,
          )
        : resource;
      const readModel = context.events === true && !grown.includes(spec.name);
      this.writeSections(resourceFiles, {
        ...context,
        ...place,
        resource,
        created,
        adopted: spec.adopted,
        readModel,
      });
    }
    const names = new Set(specs.map((spec) => spec.name));
    for (const change of (this.answers.resourceChanges ?? []).filter((change) =>
      names.has(change.resource),
    )) {
      const table = tableName(change.resource);
      this.writeSections(changeFiles, {
        packageName: context.packageName,
        ...place,
        change,
        table,
        migration: renderChange(change, (name) => keyType(specs.find((spec) => spec.name === name) ?? {})),
        labelPlural: table.replaceAll('_', ' '),
      });
    }
  }
}

const HELPERS = { enumConstant, forgedSortValues, pyCall, pyImports, readModelMigration };

/** The service of `--service`: required inside a workspace, refused outside one. */
function chosenService(services: readonly string[], chosen: string | undefined): string | undefined {
  if (services.length === 0) {
    if (chosen !== undefined) {
      throw new ForgeUserError(`--service ${chosen}: this project has no services (tier 1); leave it out`);
    }
    return undefined;
  }
  if (chosen === undefined || chosen === '') {
    throw new ForgeUserError(
      `inside a workspace a resource lives in a service: add --service <name> (its services: ${services.join(', ')})`,
    );
  }
  if (!services.includes(chosen)) {
    throw new ForgeUserError(`--service ${chosen}: no such service (its services: ${services.join(', ')})`);
  }
  return chosen;
}

function requireDatabase(config: ForgeConfig): void {
  const database = wiredDatabase(config);
  if (!isSqlDatabase(database)) {
    throw new ForgeUserError(
      database === 'none'
        ? 'a resource needs the SQL database: add it first with `fastapi-forge add db --db postgres` (SQLite is its local default)'
        : `a resource needs the SQL database (--db postgres); this project's database is ${database}`,
    );
  }
}

/** The picked tables' resources and their parents', parents first, renumbered from the baseline. */
function pickWithParents(mapping: Mapping, picked: readonly string[]): ResourceSpec[] {
  const wanted = new Set<string>();
  const add = (table: string) => {
    const found = mapping.mapped.find((mapped) => mapped.table === table);
    if (!found || wanted.has(table)) return;
    wanted.add(table);
    const parent = found.spec.adopted.foreignKey?.table;
    if (parent) add(parent);
  };
  for (const table of picked) add(table);
  const chosen = mapping.mapped.filter((mapped) => wanted.has(mapped.table)).map((mapped) => mapped.spec);
  const base = Number(chosen[0]?.adopted?.baseline ?? 0);
  const number = (offset: number) => String(base + offset).padStart(4, '0');
  return chosen.map((spec, index) => ({ ...spec, revision: number(index + 1), downRevision: number(index) }));
}
