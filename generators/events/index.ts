import type { ForgeOptions } from '../../lib/base-generator.js';
import { ForgeUserError } from '../../lib/errors.js';
import { readFamilyManifest } from '../../lib/templates.js';
import { composeNames, WorkspaceGenerator } from '../../lib/workspace-generator.js';

/**
 * `add events`: tier 3 on top of the tier-2 workspace. The shared libs package gets durable events on Redis
 * Streams (consumer groups, acknowledgement after handling, retries with backoff, a dead-letter stream,
 * take-over of a crashed consumer's events; Kafka behind the same interface), the transactional outbox and
 * idempotent handling; every service gets the CQRS example: commands that write their event into the outbox
 * in the same transaction, a projection run by `python -m <service>.consumer`, and queries that read only the
 * read model. Growing a tier-2 project with it gives the files `new --tier 3` gives.
 */
export default class EventsGenerator extends WorkspaceGenerator {
  constructor(args: string[], options: ForgeOptions) {
    super(args, options);
    this.description =
      'Tier 3: durable events on Redis Streams (Kafka optional), a transactional outbox and CQRS in every service';
  }

  initializing(): void {
    this.requireConfiguredProject();
    if (this.answers.services.length === 0) {
      throw new ForgeUserError(
        'tier 3 builds on the services of tier 2 and this project has none yet: add one first with `fastapi-forge add microservice <name>`',
      );
    }
    if (this.answers.tier < 3) this.config.set('tier', 3);
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
    const libs = this.libsMember();
    this.renderInto(libs.dir, this.templatesOf('events/libs'), { ...this.memberContext(libs), libs: true });
    const manifest = readFamilyManifest('events/libs');
    this.writeMemberProject(libs, {
      dependencies: manifest.dependencies ?? [],
      libs: false,
    });
    const env = manifest.env ?? [];
    for (const name of this.answers.services) {
      const member = this.serviceMember(name);
      this.renderInto(member.dir, this.templatesOf('events/service'), this.memberContext(member));
      this.writeMemberEnv(member, env);
    }
  }

  /** Each service's consumer joins docker-compose.yml: the service's image running its projection. */
  deploymentWriting(): void {
    if (!this.hasCompose) return;
    for (const name of this.answers.services) {
      this.addComposeService(`${composeNames(name).service}-consumer`, {
        ...this.serviceComposeEntry(name),
        command: ['python', '-m', `${name}.consumer`],
        // The image's HTTP healthcheck does not apply: the consumer serves no HTTP.
        healthcheck: { disable: true },
      });
    }
  }
}
