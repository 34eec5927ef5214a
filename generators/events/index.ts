import { ForgeUserError } from '../../lib/errors.js';
import { httpProbe } from '../../lib/deploy-generator.js';
import { projectScripts } from '../../lib/resource-changes.js';
import { type ResourceView, readModelMigration } from '../../lib/resource-views.js';
import { eventsRevisionOf, grownEventsRevision } from '../../lib/resources.js';
import { readFamilyManifest } from '../../lib/templates.js';
import { consumerPort } from '../../lib/workspace.js';
import { composeNames, WorkspaceGenerator } from '../../lib/workspace-generator.js';
import command from './command.js';
import { libsFiles, serviceFiles } from './files.js';

/**
 * `add events`: tier 3 on top of the tier-2 workspace. The shared libs package gets durable events on Redis
 * Streams (consumer groups, acknowledgement after handling, retries with backoff, a dead-letter stream,
 * take-over of a crashed consumer's events; Kafka behind the same interface), the transactional outbox and
 * idempotent handling; every service gets the CQRS example: commands that write their event into the outbox
 * in the same transaction, a projection run by `python -m <service>.consumer`, and queries that read only the
 * read model. Growing a tier-2 project with it gives the files `new --tier 3` gives.
 */
export default class EventsGenerator extends WorkspaceGenerator {
  static override readonly command = command;

  initializing(): void {
    this.requireConfiguredProject();
    if (this.answers.services.length === 0) {
      throw new ForgeUserError(
        'tier 3 builds on the services of tier 2 and this project has none yet: add one first with `fastapi-forge add microservice <name>`',
      );
    }
    if (this.answers.tier < 3) {
      this._recordEventsRevisions();
      this.config.set('tier', 3);
    }
  }

  /**
   * Growing to tier 3: in each service whose migrations go past its first revision (resources, the user's
   * own), tier 3's revision is chained after its head, since a database may have applied every one of them.
   * (Yeoman runs every method as a task but those named with a leading "_".)
   */
  private _recordEventsRevisions(): void {
    const config = this.answers;
    const scripts = projectScripts(this.destinationRoot(), config.packageName);
    const stored = { ...config.eventsRevisions };
    for (const service of config.services) {
      if (stored[service]) continue;
      const resources = (config.resources ?? []).filter((resource) => resource.service === service);
      const grown = grownEventsRevision(
        scripts(service),
        resources.map((resource) => resource.name),
      );
      if (grown) stored[service] = grown;
    }
    if (Object.keys(stored).length > 0) this.config.set('eventsRevisions', stored);
  }

  async configuring(): Promise<void> {
    // The services and the gateway are rendered again for tier 3 in the same run.
    await this.composeForge('microservice');
    await this.composeForge('gateway');
    // Observability is on by default at tier 3: `add events` turns it on; under `new`, the app generator has
    // decided it already (`--no-observability` keeps it off).
    if (!this.options.forgeComposed) await this.composeForge('observability');
  }

  writing(): void {
    this.writeSections(libsFiles, { ...this.memberContext(this.libsMember()), libs: true });
    for (const name of this.answers.services) {
      const context = this.memberContext(this.serviceMember(name));
      const eventsRevision = eventsRevisionOf(this.answers.eventsRevisions, name);
      const readModels = (context.resources as ResourceView[]).filter((resource) =>
        eventsRevision.readModels.includes(resource.name),
      );
      this.writeSections(serviceFiles, { ...context, eventsRevision, readModels, readModelMigration });
    }
  }

  /**
   * The requirements and settings of tier 3, after those the services and libs got while writing: a project
   * grown to tier 3 lists them in the order `new --tier 3` does, whichever generator ran first.
   */
  postWriting(): void {
    const manifest = readFamilyManifest('events/libs');
    this.writeMemberProject(this.libsMember(), { dependencies: manifest.dependencies ?? [], libs: false });
    for (const [index, name] of this.answers.services.entries()) {
      this.writeMemberEnv(this.serviceMember(name), [
        ...(manifest.env ?? []),
        {
          name: 'EVENTS_CONSUMER_PORT',
          value: String(consumerPort(index)),
          comment: `Port of the consumer's own HTTP server (python -m ${name}.consumer); 0: any free port`,
        },
      ]);
    }
  }

  /**
   * Each service's consumer joins docker-compose.yml: the service's image running its projection, healthy
   * while its status server says it reads its streams.
   */
  deploymentWriting(): void {
    if (!this.hasCompose) return;
    for (const [index, name] of this.answers.services.entries()) {
      const service = this.serviceComposeEntry(name);
      this.addComposeService(`${composeNames(name).service}-consumer`, {
        ...service,
        command: ['python', '-m', `${name}.consumer`],
        environment: {
          ...(service.environment as Record<string, string>),
          // Its status server listens beyond the container's loopback.
          EVENTS_CONSUMER_HOST: '0.0.0.0',
        },
        healthcheck: {
          ...(service.healthcheck as Record<string, unknown>),
          test: ['CMD', 'python', '-c', httpProbe(consumerPort(index), '/health/ready')],
        },
      });
    }
  }
}
