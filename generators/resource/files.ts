import type { FileSection, FilesContext } from '../../lib/files.js';
import type { ResourceView } from '../../lib/resource-views.js';
import { SERVICES_DIR } from '../../lib/workspace.js';

/**
 * Where resources live: the project's own package, or inside a workspace service (`service`) its folder,
 * with their migrations among the service's and their modules in the service's `resources` package (the
 * service's `models` is a module).
 */
const into = (context: FilesContext): string =>
  context.service ? `${SERVICES_DIR}/${String(context.service)}` : '';
const inPackage = (context: FilesContext): Record<string, string> =>
  context.service ? { _package_: `${String(context.service)}/resources` } : {};

/** The names in the paths of a resource's templates, from its view. */
const resourceNames = (context: FilesContext): Record<string, string> => {
  const resource = context.resource as ResourceView;
  return { _revision_: resource.revision, _module_: resource.module, _table_: resource.table };
};

const migration = (template: string): boolean => template.includes('/migrations/');

/** What every resource shares: the unit of work, keyset pagination, column types, test factories. */
export const sharedFiles: readonly FileSection[] = [
  { families: ['resource/shared'], into, names: inPackage },
];

/**
 * A workspace service's resources package, and at tier 3 (`events`) their events, the projection of them
 * and its read model.
 */
export const serviceFiles: readonly FileSection[] = [
  {
    families: (context) => ['resource/service', ...(context.events ? ['resource/service-events'] : [])],
    into,
    names: inPackage,
  },
];

/**
 * One resource's files, in a context with the resource (`resource`) and the resource as it was created
 * (`created`): its first migration creates the table as it was then, since applied migrations are never
 * rendered anew.
 */
export const resourceFiles: readonly FileSection[] = [
  {
    families: ['resource/each'],
    only: (template) => !migration(template),
    into,
    names: (context) => ({ ...inPackage(context), ...resourceNames(context) }),
  },
  {
    families: ['resource/each'],
    only: migration,
    when: (context) => !context.adopted,
    context: (context) => ({ ...context, resource: context.created }),
    into,
    names: resourceNames,
  },
  // A table found in the database (`adopted`) is adopted by its first revision, not created.
  {
    families: ['resource/adopt'],
    when: (context) => Boolean(context.adopted),
    context: (context) => ({ ...context, resource: context.created }),
    into,
    names: resourceNames,
  },
];

/**
 * The baseline revision of the tables read from an existing database (`revision`, `downRevision`,
 * `tables`): it records them as they are, so the resources adopting them follow it.
 */
export const baselineFiles: readonly FileSection[] = [
  {
    families: ['resource/baseline'],
    into,
    names: (context) => ({ _revision_: String(context.revision) }),
  },
];

/** The revision of one change to a resource (`change`, `table`, lib/resource-changes.ts). */
export const changeFiles: readonly FileSection[] = [
  {
    families: ['resource/change'],
    into,
    names: (context) => ({
      _revision_: String((context.change as { revision: string }).revision),
      _table_: String(context.table),
    }),
  },
];
