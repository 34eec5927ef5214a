import { ForgeGenerator } from '../../lib/base-generator.js';
import command from './command.js';
import { files } from './files.js';
import { authWiring, signedDevelopmentToken } from './wiring.js';
import { BASE_URL, curlArguments } from '../../lib/next-steps.js';
import { sampleRequest } from '../features.js';

/**
 * Authentication for every non-public route. The kind (`--auth`) is stored in the config; the core's
 * composition modules (settings, middleware, lifespan, test fixtures) pick it up when `api` re-renders them.
 */
export default class AuthGenerator extends ForgeGenerator {
  static override readonly command = command;

  initializing(): void {
    this.requireConfiguredProject();
    this.applyChoiceOptions(['auth']);
  }

  async prompting(): Promise<void> {
    await this.askMissing(['auth']);
    await this.askInsteadOfNone('auth');
  }

  contributing(): void {
    this.contribute(authWiring(this.templateContext() as Parameters<typeof authWiring>[0]));
    if (this.answers.auth === 'none') return;
    // Its part of the README's generated section, from its own partials.
    this.contribute({
      readme: [
        { slot: 'sections', order: 10, text: this.renderPartial('auth/readme/section.md.ejs') },
        ...this.developmentReadme(),
      ],
    });
  }

  /** With what the README's authentication section shows: a protected request, and a token for it with JWT. */
  protected override templateContext(): Record<string, unknown> {
    const context = super.templateContext();
    const sample = sampleRequest(context as Parameters<typeof sampleRequest>[0]);
    return {
      ...context,
      protectedCall: sample ? curlArguments(sample) : `${BASE_URL}/<a route of yours>`,
      developmentToken: signedDevelopmentToken(this.answers.packageName),
    };
  }

  /** What the README's configuration section says this kind needs, or defaults to, in development. */
  private developmentReadme(): { slot: string; order: number; text: string }[] {
    const { auth, projectName } = this.answers;
    if (auth === 'oidc')
      return [
        {
          slot: 'development-required',
          order: 10,
          text: `In development the app needs one setting, \`OIDC_ISSUER\` (there is no safe default identity
provider; an \`http://\` one on localhost is accepted in development). Without it, the start stops
with one line naming it.
`,
        },
      ];
    const defaults: Record<string, string> = {
      jwt: `, \`JWT_ISSUER\` is \`${projectName}-development\` and \`JWT_SECRET\` a\nplaceholder`,
      apikey:
        ', and `API_KEYS` accepts the client `development` with the key\n`change-me-development-api-key`',
    };
    const text = defaults[auth];
    return text ? [{ slot: 'development-defaults', order: 20, text }] : [];
  }

  writing(): void {
    this.writeSections(files);
  }

  postWriting(): void {
    this.mergeSectionManifests(files);
  }
}
