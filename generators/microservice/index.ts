import { ForgeUserError } from '../../lib/errors.js';
import {
  consumerPort,
  servicePort,
  validateServiceName,
  MAX_SERVICES,
  envPrefix,
  refuseImportedName,
} from '../../lib/workspace.js';
import { composeNames, WorkspaceGenerator } from '../../lib/workspace-generator.js';
import { CI_SERVICES, DEPLOYMENT } from '../db/wiring.js';
import { wiringFromContext } from '../features.js';
import command from './command.js';
import { libsFiles, serviceFiles } from './files.js';

/**
 * `add microservice <name>`: another service in the uv workspace, in services/<name>, with its own package,
 * settings, database and tests, on the shared libs package; it publishes and consumes Redis events. Every
 * service listed in `.yo-rc.json` is rendered at each run, so re-running changes nothing and a service
 * added later brings the shared files (libs, compose, gateway routes) up to date.
 */
export default class MicroserviceGenerator extends WorkspaceGenerator {
  static override readonly command = command;

  initializing(): void {
    this.requireConfiguredProject();
    const name = this.options.name as string | undefined;
    const services = this.answers.services;
    if (name === '' && !this.options.forgeComposed) {
      throw new ForgeUserError(
        'the service name is empty; name it, e.g. `fastapi-forge add microservice orders`',
      );
    }
    if (name === undefined || name === '') {
      if (services.length === 0 && !this.options.forgeComposed) {
        throw new ForgeUserError('a service name is required, e.g. `fastapi-forge add microservice orders`');
      }
      return;
    }
    // Adding a service that exists already is a no-op: its files are rendered again, identical.
    if (services.includes(name)) return;
    validateServiceName(name, this.answers.packageName);
    // A project becoming a workspace gets its shared package's requirements too: not known here.
    const adding =
      this.answers.tier < 2 ? undefined : [...this.serviceDependencies(), ...this.memberTestDependencies()];
    refuseImportedName(name, this.destinationRoot(), adding);
    if (services.length >= MAX_SERVICES) {
      throw new ForgeUserError(
        `a tier-2 system has at most ${MAX_SERVICES} services besides the project's own`,
      );
    }
    this.config.set('services', [...services, name]);
    if (this.answers.tier < 2) this.config.set('tier', 2);
  }

  contributing(): void {
    // The services keep their data in PostgreSQL: deployments treat their connection URLs as secrets, and
    // their tests use it when TEST_DATABASE_URL is set.
    this.contribute({
      deployment: [{ secretExamples: DEPLOYMENT.postgres?.secretExamples ?? [] }],
      ciServices: CI_SERVICES.postgres ? [CI_SERVICES.postgres] : [],
    });
  }

  protected override wiringFor = (context: Record<string, unknown>): unknown => wiringFromContext(context);

  writing(): void {
    this.writeLibs(libsFiles);
    for (const [index, name] of this.answers.services.entries()) {
      const member = this.serviceMember(name);
      const context = {
        ...this.memberContext(member),
        port: servicePort(index),
        consumerPort: consumerPort(index),
      };
      this.writeSections(serviceFiles, context);
      this.writeMemberProject(member, {
        dependencies: this.serviceDependencies(),
        devDependencies: this.memberTestDependencies(),
        libs: true,
      });
      this.writeMemberEnv(member, [
        {
          name: `${envPrefix(name)}_DATABASE_URL`,
          value: '',
          comment:
            "This service's own database: postgresql+asyncpg://user:password@host:5432/name; empty in development and test: a local SQLite file; required in staging and production",
        },
        {
          name: 'EVENTS_PREFIX',
          value: this.answers.projectName,
          comment: 'Prefix of the event channels in Redis',
        },
      ]);
      this.writeMemberDockerfile(member, { migrations: true });
    }
    this.mergeWorkspace();
  }

  postWriting(): void {
    this.shareCore();
  }

  async install(): Promise<void> {
    await this.syncWorkspace();
  }

  deploymentWriting(): void {
    if (!this.hasCompose) return;
    for (const name of this.answers.services) {
      const { service, database, migrate } = composeNames(name);
      this.addComposeService(service, this.serviceComposeEntry(name));
      this.addComposeService(migrate, this.serviceMigrateEntry(name));
      this.addComposeService(
        database,
        {
          image: 'postgres:18-alpine',
          environment: { POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: 'postgres', POSTGRES_DB: name },
          volumes: [`${database}-data:/var/lib/postgresql`],
          healthcheck: {
            test: ['CMD', 'pg_isready', '--username=postgres', `--dbname=${name}`],
            interval: '5s',
            timeout: '3s',
            retries: 10,
          },
          restart: 'unless-stopped',
        },
        { [`${database}-data`]: {} },
      );
    }
  }
}
