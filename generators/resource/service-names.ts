import { ForgeUserError } from '../../lib/errors.js';
import { tableName, toSnake } from '../../lib/resources.js';

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
  const table = tableName(name);
  // `read_<table>` is the read model of each resource at tier 3.
  if (SERVICE_TABLES.has(table) || SERVICE_PATHS.has(table) || table.startsWith('read_')) {
    throw new ForgeUserError(
      `resource name ${JSON.stringify(name)} is taken by the service's own code (its table or routes ${table}); choose another`,
    );
  }
  if (toSnake(name) === 'read') throw new ForgeUserError(`resource name "${name}" is taken; choose another`);
}
