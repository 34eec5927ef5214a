import { ForgeGenerator, type ForgeOptions } from '../../lib/base-generator.js';

/**
 * Authentication for every non-public route. The kind (`--auth`) is stored in the config; the core's
 * composition modules (settings, middleware, lifespan, test fixtures) pick it up when `api` re-renders them.
 */
export default class AuthGenerator extends ForgeGenerator {
  constructor(args: string[], options: ForgeOptions) {
    super(args, options);
    this.description = 'Authentication on every non-public route: JWT, API key or OIDC';
    this.choiceOptions(['auth']);
  }

  initializing(): void {
    this.requireConfiguredProject();
    this.applyChoiceOptions(['auth']);
  }

  async prompting(): Promise<void> {
    await this.askMissing(['auth']);
    await this.askInsteadOfNone('auth');
  }

  async configuring(): Promise<void> {
    // The core's wiring modules depend on the auth kind, so they are re-rendered in the same run.
    await this.composeForge('api');
    // Stored users (jwt with PostgreSQL) belong to the database's code.
    if (this.answers.dbGenerated) await this.composeForge('db');
  }

  writing(): void {
    const kind = this.answers.auth;
    if (kind === 'none') return;
    this.renderFamily('auth/common');
    this.renderFamily(`auth/${kind}`);
  }

  postWriting(): void {
    const kind = this.answers.auth;
    if (kind === 'none') return;
    this.mergeFamilyManifest('auth/common', 'authentication');
    this.mergeFamilyManifest(`auth/${kind}`, `authentication (${kind})`);
  }
}
