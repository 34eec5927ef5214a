import { ForgeGenerator } from '../../lib/base-generator.js';
import { renderChange } from '../../lib/change-migrations.js';
import { asList } from '../../lib/command.js';
import { wiredDatabase } from '../../lib/config.js';
import { ForgeUserError } from '../../lib/errors.js';
import { type DesiredResource, migrationScripts, planApply } from '../../lib/resource-changes.js';
import { enumConstant, pyCall, pyImports, resourceView } from '../../lib/resource-views.js';
import {
  type ResourceSpec,
  buildResourceSpec,
  migrationEntry,
  nextRevision,
  sameResource,
  tableName,
} from '../../lib/resources.js';
import command from './command.js';
import { changeFiles, resourceFiles, sharedFiles } from './files.js';

/**
 * A resource in the SQL database: its table and migration, schemas, repository, service, router with a
 * paginated, filtered and sorted list, and tests. Its spec is stored in `.yo-rc.json`, and every file is
 * rendered from the stored specs at each run, so the same command twice changes nothing.
 */
export default class ResourceGenerator extends ForgeGenerator {
  static override readonly command = command;

  initializing(): void {
    this.requireConfiguredProject();
    if (this.options.forgeComposed) return;
    const config = this.answers;
    if (config.services.length > 0) {
      throw new ForgeUserError('resources inside a workspace (tier 2 or 3) are not supported yet');
    }
    const database = wiredDatabase(config);
    if (database !== 'postgres') {
      throw new ForgeUserError(
        database === 'none'
          ? 'a resource needs the SQL database: add it first with `fastapi-forge add db --db postgres` (SQLite is its local default)'
          : `a resource needs the SQL database (--db postgres); this project's database is ${database}`,
      );
    }
    // `apply`: the resources of a spec file, checked by the CLI against this same plan before the run.
    const desired = this.options.forgeSpecResources as DesiredResource[] | undefined;
    if (desired) {
      const plan = planApply(
        config,
        desired,
        migrationScripts(this.destinationPath('src', config.packageName)),
      );
      for (const key of ['resources', 'resourceChanges', 'migrations'] as const) {
        if (JSON.stringify(plan[key]) !== JSON.stringify(config[key] ?? []))
          this.config.set(key, plan[key] as never);
      }
      return;
    }
    const existing = config.resources ?? [];
    const fields = asList(this.options.field);
    const parent = asList(this.options.belongsTo ?? this.options['belongs-to'])[0];
    const spec = buildResourceSpec(this.options.name as string | undefined, fields, parent, existing, {
      revision: '',
      downRevision: '',
    });
    const stored = existing.find((resource) => resource.name === spec.name);
    if (stored) {
      if (!sameResource(stored, spec)) {
        throw new ForgeUserError(
          `resource ${spec.name} exists with other fields or relations; change it in the system spec: \`fastapi-forge export\`, edit forge.yaml, then \`fastapi-forge apply\``,
        );
      }
      return;
    }
    const added = {
      ...spec,
      ...nextRevision(migrationScripts(this.destinationPath('src', config.packageName))),
    };
    // Stored with the other resources, its migration last in the order migrations chain in.
    this.config.set('resources', [...existing, added]);
    this.config.set('migrations', [...(config.migrations ?? []), migrationEntry(added)]);
  }

  writing(): void {
    const context: Record<string, unknown> = { ...this.templateContext(), enumConstant, pyCall, pyImports };
    const resources = context.resources as ReturnType<typeof resourceView>[];
    if (resources.length === 0) return;
    this.writeSections(sharedFiles, context);
    const specs = this.answers.resources ?? [];
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
      this.writeSections(resourceFiles, { ...context, resource, created });
    }
    for (const change of this.answers.resourceChanges ?? []) {
      const table = tableName(change.resource);
      this.writeSections(changeFiles, {
        packageName: context.packageName,
        change,
        table,
        migration: renderChange(change),
        labelPlural: table.replaceAll('_', ' '),
      });
    }
  }
}
