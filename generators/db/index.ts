import { ForgeGenerator, type ForgeOptions } from '../../lib/base-generator.js';
import { parseChoice, type Database } from '../../lib/config.js';

/** Template families of each database, rendered in this order. */
const FAMILIES: Record<Exclude<Database, 'none'>, string[]> = {
  postgres: ['db/common', 'db/postgres', 'db/notes'],
  mongo: ['db/common', 'db/mongo', 'db/notes'],
  redis: ['db/common', 'db/redis'],
};

/** Users stored in PostgreSQL, and `POST /auth/token`, when authentication is jwt. */
const USERS_FAMILY = 'db/users';

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
  }

  async configuring(): Promise<void> {
    if (this.answers.db === 'none') return;
    this.config.set('dbGenerated', true);
    // The core's wiring modules depend on the database, so they are re-rendered in the same run.
    await this.composeForge('api');
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

  private families(): string[] {
    const { db } = this.answers;
    if (db === 'none') return [];
    const users = this.templateContext().users === true;
    return [...FAMILIES[db], ...(users ? [USERS_FAMILY] : [])];
  }
}
