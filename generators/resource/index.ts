import { ForgeGenerator } from '../../lib/base-generator.js';
import { renderChange } from '../../lib/change-migrations.js';
import { asList } from '../../lib/command.js';
import { type ForgeConfig, wiredDatabase } from '../../lib/config.js';
import { ForgeUserError } from '../../lib/errors.js';
import {
  type DesiredResource,
  type ResourceChange,
  planApply,
  projectScripts,
} from '../../lib/resource-changes.js';
import {
  type ResourceView,
  enumConstant,
  pyCall,
  pyImports,
  resourceModules,
  resourceView,
  resourceViews,
} from '../../lib/resource-views.js';
import {
  type ResourceSpec,
  buildResourceSpec,
  migrationEntry,
  nextRevision,
  sameResource,
  sameService,
  tableName,
} from '../../lib/resources.js';
import { listTemplates, renderTemplate } from '../../lib/templates.js';
import { SERVICES_DIR, libsPackage } from '../../lib/workspace.js';
import command from './command.js';
import { refuseServiceClash } from './service-names.js';

/** Files every resource shares, and the files of each one (`_module_`, `_table_`, `_revision_` in paths). */
const SHARED_FAMILY = 'resource/shared';
const EACH_FAMILY = 'resource/each';
/** The revision of one change to a resource (lib/resource-changes.ts). */
const CHANGE_FAMILY = 'resource/change';
/** The package of a service's resources, and (tier 3) their events, projection and read model. */
const SERVICE_FAMILY = 'resource/service';
const SERVICE_EVENTS_FAMILY = 'resource/service-events';

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

  initializing(): void {
    this.requireConfiguredProject();
    if (this.options.forgeComposed) return;
    const config = this.answers;
    const scripts = projectScripts(this.destinationRoot(), config.packageName);
    // `apply`: the resources of a spec file, checked by the CLI against this same plan before the run.
    const desired = this.options.forgeSpecResources as DesiredResource[] | undefined;
    if (desired) {
      if (config.services.length === 0) requireDatabase(config);
      const plan = planApply(config, desired, scripts);
      for (const key of ['resources', 'resourceChanges', 'migrations'] as const) {
        if (JSON.stringify(plan[key]) !== JSON.stringify(config[key] ?? []))
          this.config.set(key, plan[key] as never);
      }
      return;
    }
    const service = chosenService(config.services, this.options.service as string | undefined);
    if (service === undefined) requireDatabase(config);
    const existing = config.resources ?? [];
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
    const added = { ...spec, ...nextRevision(scripts(service)) };
    // Stored with the other resources; the project's own migrations chain in the config's order.
    this.config.set('resources', [...existing, added]);
    if (!service) this.config.set('migrations', [...(config.migrations ?? []), migrationEntry(added)]);
  }

  writing(): void {
    const context = this.templateContext();
    const write = (file: string, content: string) => this.writeFile(file, content, 'owned');
    const stored = { resources: this.answers.resources ?? [], changes: this.answers.resourceChanges ?? [] };
    writeResources(write, stored, context.resources as ResourceView[], {
      ...context,
      modules: resourceModules(this.answers.packageName),
    });
    const specs = this.answers.resources ?? [];
    for (const service of this.answers.services) {
      const resources = resourceViews(specs, service);
      if (resources.length === 0) continue;
      const libs = libsPackage(this.answers.packageName);
      const serviceContext = {
        ...context,
        packageName: service,
        libsPackage: libs,
        resources,
        modules: resourceModules(service, libs),
        // Tier 3: their writes go out as events through the outbox, and a projection reads them back.
        events: this.answers.tier >= 3,
      };
      writeResources(write, stored, resources, serviceContext, service);
      const families = [SERVICE_FAMILY, ...(serviceContext.events ? [SERVICE_EVENTS_FAMILY] : [])];
      for (const template of families.flatMap((family) => listTemplates(family))) {
        write(
          serviceDestination(template.relative, service),
          renderTemplate(template.source, { ...serviceContext, ...HELPERS }),
        );
      }
    }
  }
}

const HELPERS = { enumConstant, pyCall, pyImports };

/**
 * Where a resource template lands in a service: its migrations with the service's, its tests with the
 * service's tests, its modules in the service's `resources` package (the service's `models` is a module).
 */
function serviceDestination(relative: string, service: string): string {
  const file = relative.replace(/\.ejs$/, '');
  const root = `${SERVICES_DIR}/${service}`;
  if (file.startsWith('src/_package_/migrations/')) {
    return `${root}/${file.replace('src/_package_/', `src/${service}/`)}`;
  }
  if (file.startsWith('src/_package_/')) {
    return `${root}/${file.replace('src/_package_/', `src/${service}/resources/`)}`;
  }
  return `${root}/${file}`;
}

/** The files of `resources`, in the project's own package or (with `service`) in that service's. */
function writeResources(
  write: (file: string, content: string) => void,
  stored: { resources: readonly ResourceSpec[]; changes: readonly ResourceChange[] },
  resources: ResourceView[],
  context: Record<string, unknown>,
  service?: string,
): void {
  if (resources.length === 0) return;
  const packageName = String(context.packageName);
  const destination = (relative: string, names: Record<string, string>) => {
    const file = Object.entries(names).reduce(
      (named, [token, value]) => named.replaceAll(token, value),
      relative,
    );
    return service
      ? serviceDestination(file, service)
      : file.replaceAll('_package_', packageName).replace(/\.ejs$/, '');
  };
  for (const template of listTemplates(SHARED_FAMILY)) {
    write(destination(template.relative, {}), renderTemplate(template.source, { ...context, ...HELPERS }));
  }
  const specs = stored.resources.filter((spec) => spec.service === service);
  for (const resource of resources) {
    // Its first migration creates the table as it was then: applied migrations are never rendered anew.
    const spec = specs.find((candidate) => candidate.name === resource.name) as ResourceSpec;
    const asCreated = spec.created
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
    for (const template of listTemplates(EACH_FAMILY)) {
      const view = template.relative.includes('/migrations/') ? asCreated : resource;
      const names = { _revision_: view.revision, _module_: view.module, _table_: view.table };
      write(
        destination(template.relative, names),
        renderTemplate(template.source, { ...context, ...HELPERS, resource: view }),
      );
    }
  }
  const names = new Set(specs.map((spec) => spec.name));
  for (const change of stored.changes.filter((change) => names.has(change.resource))) {
    const table = tableName(change.resource);
    for (const template of listTemplates(CHANGE_FAMILY)) {
      write(
        destination(template.relative, { _revision_: change.revision, _table_: table }),
        renderTemplate(template.source, {
          change,
          migration: renderChange(change),
          labelPlural: table.replaceAll('_', ' '),
        }),
      );
    }
  }
}

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
  if (database !== 'postgres') {
    throw new ForgeUserError(
      database === 'none'
        ? 'a resource needs the SQL database: add it first with `fastapi-forge add db --db postgres` (SQLite is its local default)'
        : `a resource needs the SQL database (--db postgres); this project's database is ${database}`,
    );
  }
}
