import { ForgeGenerator, type ForgeOptions } from '../../lib/base-generator.js';
import { wiredDatabase } from '../../lib/config.js';
import { DEFAULT_IMAGE_PYTHON } from '../../lib/deploy.js';
import { readFamilyManifest } from '../../lib/templates.js';
import { DEV_PYTHON, toolingContext, workspaceMembers } from '../../lib/tooling.js';
import { GATEWAY_PORT, ROOT_SERVICE_PORT, servicePort } from '../../lib/workspace.js';

const BROWSER_TICKETS = 'auth/tickets';
/**
 * The authentication dependency takes browser tickets where agents are served, so the core renders it:
 * both `auth` and `agents` compose the core, whichever of the two comes last.
 */
const AUTH_DEPENDENCY = 'auth/dependency';

/**
 * The tier-1 core. Owned files (wiring, middleware, errors, health, tests) are re-rendered from the config;
 * the files a user is expected to edit are written once and never touched again.
 */
export default class ApiGenerator extends ForgeGenerator {
  constructor(args: string[], options: ForgeOptions) {
    super(args, options);
    this.description =
      'The tier-1 core: app factory, settings, logging, errors, health checks, CORS, rate limiting';
  }

  initializing(): void {
    this.requireConfiguredProject();
  }

  async configuring(): Promise<void> {
    // Every feature generator composes `api`; the deployment files it already has follow the new config.
    await this.composeDeployment();
    // Metrics and tracing cover what each feature adds (agent runs, the database), so they follow it too.
    if (this.answers.observability) await this.composeForge('observability');
    // A tier-2 workspace: the shared libs package and the services follow the config (e.g. `add auth`).
    if (this.answers.services.length > 0) await this.composeForge('microservice');
  }

  writing(): void {
    const pkg = this.answers.packageName;
    this.renderFamily(
      'api',
      new Set(['README.md', 'pyproject.toml', '.env.example', `src/${pkg}/main.py`, `src/${pkg}/config.py`]),
      {
        ...this.templateContext(),
        // The README of a workspace says where each member listens when run on its own.
        rootPort: ROOT_SERVICE_PORT,
        gatewayPort: GATEWAY_PORT,
        servicePorts: this.answers.services.map((name, index) => ({ name, port: servicePort(index) })),
        // The README states which Python runs where.
        devPython: DEV_PYTHON,
        imagePython: this.answers.deployment?.python ?? DEFAULT_IMAGE_PYTHON,
      },
    );
    if (this.answers.auth !== 'none') this.renderFamily(AUTH_DEPENDENCY);
    if (this.servesBrowserTickets) this.renderFamily(BROWSER_TICKETS);
  }

  /**
   * The agents' SSE stream and WebSocket, behind authentication, take single-use tickets from browsers. The
   * core renders them because both `auth` and `agents` compose it, whichever of the two comes last.
   */
  private get servesBrowserTickets(): boolean {
    return this.answers.agents && this.answers.auth !== 'none';
  }

  /**
   * What the core's modules need beyond pyproject.toml's first version, e.g. the docs' own assets
   * (src/<package>/docs.py), so a project generated before gets them too. Then the CI workflow, pre-commit
   * hooks, Makefile, .python-version and .editorconfig: after every generator has written, so they list
   * the workspace members and Dockerfiles this run leaves in the project.
   */
  postWriting(): void {
    this.addPythonDependencies(readFamilyManifest('api').dependencies ?? []);
    if (this.servesBrowserTickets) this.mergeFamilyManifest(BROWSER_TICKETS, 'browser tickets');
    const members = workspaceMembers(this.fs.read(this.destinationPath('pyproject.toml')));
    const tooling = toolingContext(this.answers.projectName, members, wiredDatabase(this.answers), (file) =>
      this.fs.exists(this.destinationPath(file)),
    );
    this.renderFamily('tooling', new Set(), {
      ...this.templateContext(),
      ...tooling,
      // A flow-style YAML list, e.g. `[".", "libs"]`.
      json: (value: string[]) => `[${value.map((item) => JSON.stringify(item)).join(', ')}]`,
    });
  }
}
