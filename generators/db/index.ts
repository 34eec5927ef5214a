import { ForgeGenerator, type ForgeOptions } from '../../lib/base-generator.js';
import { FEATURE_MIGRATIONS, type FeatureMigration, parseChoice, type Database } from '../../lib/config.js';

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

/** The revision of each feature's migration; the initial migration (notes) is 0001. */
const REVISIONS: Record<FeatureMigration, string> = {
  users: '0002',
  agent_jobs: '0003',
  agent_job_owners: '0004',
};

/**
 * A database for the project (`--db`). Its code is rendered from the config; the core's composition
 * modules (settings, lifespan, dependencies, routes, test fixtures) pick it up when `api` re-renders them.
 */
export default class DbGenerator extends ForgeGenerator {
  constructor(args: string[], options: ForgeOptions) {
    super(args, options);
    this.description = 'A database: PostgreSQL (async SQLAlchemy + Alembic), MongoDB or Redis';
    this.choiceOptions(['db']);
  }

  initializing(): void {
    this.requireConfiguredProject();
    const raw = this.options.db;
    if (!this.forge.dbGenerated && raw !== undefined && raw !== null && raw !== '') {
      // A `db` answer stored by a version that generated no database code is not in use yet: it may change.
      this.config.set('db', parseChoice('db', raw, '--db') as Database);
      return;
    }
    this.applyChoiceOptions(['db']);
  }

  async prompting(): Promise<void> {
    await this.askMissing(['db']);
    await this.askInsteadOfNone('db');
  }

  async configuring(): Promise<void> {
    if (this.answers.db === 'none') return;
    this.config.set('dbGenerated', true);
    this.recordMigrationOrder();
    // The core's wiring modules depend on the database, so they are re-rendered in the same run.
    await this.composeForge('api');
    // So do the agents' job storage and worker.
    if (this.answers.agents) await this.composeForge('agents');
  }

  writing(): void {
    for (const family of this.families()) this.renderFamily(family);
  }

  postWriting(): void {
    for (const family of this.families()) {
      const heading =
        family === USERS_FAMILY ? 'stored users and their tokens' : `database (${this.answers.db})`;
      this.mergeFamilyManifest(family, heading);
    }
  }

  /** Adds the parent revision of each feature migration (`migrationParents.users`, ...). */
  protected override templateContext(): Record<string, unknown> {
    const order = this.answers.migrations ?? [];
    const migrationParents = Object.fromEntries(
      order.map((name, index) => {
        const previous = order[index - 1];
        return [name, previous ? REVISIONS[previous] : '0001'];
      }),
    );
    return { ...super.templateContext(), migrationParents };
  }

  /**
   * Feature migrations chain in the order they were first written: one already written keeps its parent
   * (a database may have applied it), and a new one goes last. Several new at once take the default order.
   */
  private recordMigrationOrder(): void {
    const context = super.templateContext();
    const wanted = FEATURE_MIGRATIONS.filter((name) =>
      name === 'users' ? context.users === true : context.agentJobs === true,
    );
    const stored = this.forge.migrations ?? [];
    const order = [...stored, ...wanted.filter((name) => !stored.includes(name))];
    if (order.length > 0 && JSON.stringify(order) !== JSON.stringify(stored)) {
      this.config.set('migrations', order);
    }
  }

  private families(): string[] {
    const { db } = this.answers;
    if (db === 'none') return [];
    const context = this.templateContext();
    return [
      ...FAMILIES[db],
      ...(context.users === true ? [USERS_FAMILY] : []),
      ...(context.agentJobs === true ? [AGENT_JOBS_FAMILY] : []),
    ];
  }
}
