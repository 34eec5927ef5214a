import { ForgeUserError } from '../../lib/errors.js';
import { GATEWAY_PORT, ROOT_SERVICE_PORT, envPrefix, servicePort } from '../../lib/workspace.js';
import { WorkspaceGenerator } from '../../lib/workspace-generator.js';
import { recheckCost } from '../auth/wiring.js';
import command from './command.js';
import { files } from './files.js';

/** One entry of the gateway's route table. */
interface GatewayRoute {
  name: string;
  prefix: string;
  /** The setting (and env var, upper-cased) that holds the upstream's base URL. */
  setting: string;
  localUrl: string;
  composeUrl: string;
  composeService: string;
}

/**
 * `add gateway`: the API gateway in gateway/, in front of the project's own service and every service of
 * `.yo-rc.json`. Its route table is rendered from the config, so `add microservice` updates it. Composes
 * docker: docker-compose.yml gets the gateway, every service, Redis and the databases.
 */
export default class GatewayGenerator extends WorkspaceGenerator {
  static override readonly command = command;

  initializing(): void {
    this.requireConfiguredProject();
    if (this.answers.services.length === 0) {
      throw new ForgeUserError(
        'the gateway routes to services and this project has none besides its own yet: add one first with `fastapi-forge add microservice <name>`',
      );
    }
    if (this.answers.tier < 2) this.config.set('tier', 2);
  }

  async configuring(): Promise<void> {
    // The services and libs it routes to and builds on, and the compose file it joins.
    await this.composeForge('microservice');
    await this.composeForge('docker');
  }

  writing(): void {
    // Stored here, after every generator of the run has configured, so .yo-rc.json reads the same
    // whether the gateway came with `new --tier 2` or with `add gateway` later.
    if (!this.answers.gateway) this.config.set('gateway', true);
    const member = this.gatewayMember();
    const memberContext = this.memberContext(member);
    const context = {
      ...memberContext,
      routes: this.routes(),
      port: GATEWAY_PORT,
      recheckCost: recheckCost(this.answers.auth, String(memberContext.libsPackage)),
    };
    this.writeSections(files, context);
    this.writeMemberProject(member, {
      dependencies: this.gatewayDependencies(),
      devDependencies: this.memberTestDependencies(),
      libs: true,
    });
    this.writeMemberEnv(member, [
      ...this.routes().map((route) => ({
        name: envPrefix(route.setting),
        value: route.localUrl,
        comment: `Base URL of the ${route.name} service, routed under ${route.prefix}/`,
      })),
      {
        name: 'GATEWAY_TIMEOUT_SECONDS',
        value: '30',
        comment:
          'Seconds an upstream may take to answer, and between two chunks of a stream (SSE pings come every 15 s), before 504',
      },
      {
        name: 'GATEWAY_CONNECT_TIMEOUT_SECONDS',
        value: '2',
        comment: 'Seconds to open a connection to an upstream',
      },
      {
        name: 'GATEWAY_DEADLINE_SECONDS',
        value: '30',
        comment:
          'Seconds a request may wait for its answer in all, across every attempt and the pauses between them, before 504',
      },
      {
        name: 'GATEWAY_UPSTREAM_MAX_CONNECTIONS',
        value: '100',
        comment:
          'Requests in flight to one upstream at once (an SSE stream holds one while it lasts); past it, a request waits up to the deadline, then 503',
      },
      {
        name: 'GATEWAY_RETRY_ATTEMPTS',
        value: '3',
        comment:
          'Attempts of an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE) whose body is small enough to replay',
      },
      {
        name: 'GATEWAY_BREAKER_FAILURE_THRESHOLD',
        value: '5',
        comment: 'Consecutive failures of an upstream that open its circuit breaker',
      },
      {
        name: 'GATEWAY_BREAKER_RECOVERY_SECONDS',
        value: '30',
        comment: 'Seconds a breaker stays open before it lets a trial request through',
      },
    ]);
    this.writeMemberDockerfile(member);
    this.mergeWorkspace();
  }

  async install(): Promise<void> {
    await this.syncWorkspace();
  }

  deploymentWriting(): void {
    if (!this.hasCompose) return;
    const routes = this.routes();
    const service = this.memberComposeService(
      this.gatewayMember(),
      Object.fromEntries(routes.map((route) => [envPrefix(route.setting), route.composeUrl])),
      [...routes.map((route) => route.composeService), 'redis'],
    );
    this.addComposeService('gateway', { ...service, ports: [`${GATEWAY_PORT}:8000`] });
  }

  /** The project's own service, then every service in the order it was added. */
  private routes(): GatewayRoute[] {
    const { packageName, services } = this.answers;
    const route = (name: string, localPort: number, composeService: string): GatewayRoute => ({
      name,
      prefix: `/${name}`,
      setting: `${name}_url`,
      localUrl: `http://127.0.0.1:${localPort}`,
      composeUrl: `http://${composeService}:8000`,
      composeService,
    });
    return [
      route(packageName, ROOT_SERVICE_PORT, 'app'),
      ...services.map((name, index) => route(name, servicePort(index), name.replace(/_/g, '-'))),
    ];
  }
}
