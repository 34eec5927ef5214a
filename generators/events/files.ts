import type { FileSection } from '../../lib/files.js';
import type { EventsRevision } from '../../lib/resources.js';
import { inMember } from '../../lib/workspace-generator.js';

/**
 * Tier 3's files in the shared package: durable events, the outbox and idempotent handling, and the gauges of
 * stream lag, the outbox backlog and dead letters with the rest of the metrics.
 */
export const libsFiles: readonly FileSection[] = [
  { families: ['events/libs'], into: inMember },
  { families: ['observability/events'], when: (context) => context.observability === true, into: inMember },
];

/**
 * Each service's CQRS example: its commands, its projection and consumer, its queries, and the revision of
 * tier 3's tables (`eventsRevision`, lib/resources.ts `EventsRevision`).
 */
export const serviceFiles: readonly FileSection[] = [
  {
    families: ['events/service'],
    into: inMember,
    names: (context) => ({ _revision_: (context.eventsRevision as EventsRevision).revision }),
  },
];
