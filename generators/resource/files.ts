import type { FileSection, FilesContext } from '../../lib/files.js';
import type { ResourceView } from '../../lib/resource-views.js';

/** The names in the paths of a resource's templates, from its view. */
const resourceNames = (context: FilesContext): Record<string, string> => {
  const resource = context.resource as ResourceView;
  return { _revision_: resource.revision, _module_: resource.module, _table_: resource.table };
};

const migration = (template: string): boolean => template.includes('/migrations/');

/** What every resource shares: the unit of work, keyset pagination, column types, test factories. */
export const sharedFiles: readonly FileSection[] = [{ families: ['resource/shared'] }];

/**
 * One resource's files, in a context with the resource (`resource`) and the resource as it was created
 * (`created`): its first migration creates the table as it was then, since applied migrations are never
 * rendered anew.
 */
export const resourceFiles: readonly FileSection[] = [
  { families: ['resource/each'], only: (template) => !migration(template), names: resourceNames },
  {
    families: ['resource/each'],
    only: migration,
    when: (context) => !context.adopted,
    context: (context) => ({ ...context, resource: context.created }),
    names: resourceNames,
  },
  // A table found in the database (`adopted`) is adopted by its first revision, not created.
  {
    families: ['resource/adopt'],
    when: (context) => Boolean(context.adopted),
    context: (context) => ({ ...context, resource: context.created }),
    names: resourceNames,
  },
];

/**
 * The baseline revision of the tables read from an existing database (`revision`, `downRevision`,
 * `tables`): it records them as they are, so the resources adopting them follow it.
 */
export const baselineFiles: readonly FileSection[] = [
  { families: ['resource/baseline'], names: (context) => ({ _revision_: String(context.revision) }) },
];

/** The revision of one change to a resource (`change`, `table`, lib/resource-changes.ts). */
export const changeFiles: readonly FileSection[] = [
  {
    families: ['resource/change'],
    names: (context) => ({
      _revision_: String((context.change as { revision: string }).revision),
      _table_: String(context.table),
    }),
  },
];
