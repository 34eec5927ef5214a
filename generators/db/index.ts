import { ForgeGenerator } from '../../lib/base-generator.js';
import { FEATURE_MIGRATIONS, parseChoice, type Database } from '../../lib/config.js';
import { migrationParents } from '../../lib/resources.js';
import command from './command.js';
import { files } from './files.js';
import { dbWiring } from './wiring.js';

export { AGENT_JOBS_FAMILY, FAMILIES, USERS_FAMILY } from './files.js';

/**
 * A database for the project (`--db`). Its code is rendered from the config; the core's composition
 * modules (settings, lifespan, dependencies, routes, test fixtures) pick it up when `api` re-renders them.
 */
export default class DbGenerator extends ForgeGenerator {
  static override readonly command = command;

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

  configuring(): void {
    if (this.answers.db === 'none') return;
    this.config.set('dbGenerated', true);
    this.recordMigrationOrder();
  }

  contributing(): void {
    this.contribute(dbWiring(this.templateContext() as Parameters<typeof dbWiring>[0]));
    if (this.templateContext().db === 'none') return;
    // Its part of the README's generated section, from its own partials.
    this.contribute({
      readme: [
        { slot: 'setup', order: 10, text: this.renderPartial('db/readme/setup.md.ejs') },
        { slot: 'make-data', order: 10, text: this.renderPartial('db/readme/make.md.ejs') },
        { slot: 'development-defaults', order: 10, text: '\n(the database included)' },
      ],
    });
  }

  writing(): void {
    this.writeSections(files);
  }

  postWriting(): void {
    this.mergeSectionManifests(files);
  }

  /** Adds the revision each feature migration follows (`migrationParents.users`, ...). */
  protected override templateContext(): Record<string, unknown> {
    const { migrations = [], resources = [], resourceChanges = [] } = this.answers;
    const parents = migrationParents(migrations, resources, resourceChanges);
    return { ...super.templateContext(), migrationParents: parents };
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
}
