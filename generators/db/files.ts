import type { Database } from '../../lib/config.js';
import type { FileSection } from '../../lib/files.js';

/** Template families of each database, rendered in this order. */
export const FAMILIES: Record<Exclude<Database, 'none'>, string[]> = {
  postgres: ['db/common', 'db/postgres', 'db/notes'],
  mongo: ['db/common', 'db/mongo', 'db/notes'],
  redis: ['db/common', 'db/redis'],
};

/** Users stored in PostgreSQL, and `POST /auth/token`, when authentication is jwt. */
export const USERS_FAMILY = 'db/users';

/** The history of agent runs and jobs in PostgreSQL, when the project has agents. */
export const AGENT_JOBS_FAMILY = 'db/agent-jobs';

const database = (context: Record<string, unknown>): `database (${string})` =>
  `database (${String(context.db)})`;

/** The database's files: its families, then the users and the agent-job records it stores, when it does. */
export const files: readonly FileSection[] = [
  {
    families: (context) => FAMILIES[context.db as Exclude<Database, 'none'>],
    when: (context) => context.db !== 'none',
    manifest: database,
  },
  {
    families: [USERS_FAMILY],
    when: (context) => context.db !== 'none' && context.users === true,
    manifest: 'stored users and their tokens',
  },
  {
    families: [AGENT_JOBS_FAMILY],
    when: (context) => context.db !== 'none' && context.agentJobs === true,
    manifest: database,
  },
];
