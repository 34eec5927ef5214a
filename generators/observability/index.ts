import { ForgeGenerator } from '../../lib/base-generator.js';
import command from './command.js';
import { files } from './files.js';
import { observabilityWiring } from './wiring.js';

/**
 * Prometheus metrics (`GET /metrics`: requests, errors and durations by route template, agent runs and
 * tokens, job queue depth, circuit-breaker state) and OpenTelemetry tracing (FastAPI, httpx, SQLAlchemy and
 * Redis spans, exported over OTLP/HTTP when an endpoint is configured, trace ids on every log line, W3C
 * context propagation helpers). The core's composition modules (settings, middleware, lifespan, routes,
 * logging) wire it in when `api` re-renders them; `api` composes this generator whenever the config has it,
 * so features added later are covered too.
 */
export default class ObservabilityGenerator extends ForgeGenerator {
  static override readonly command = command;

  initializing(): void {
    this.requireConfiguredProject();
  }

  configuring(): void {
    // Stored, so the run composes every generator that carries metrics and tracing (lib/composition.ts):
    // the core, and in a workspace the shared package, the services and the gateway.
    this.config.set('observability', true);
  }

  contributing(): void {
    this.contribute(observabilityWiring(this.templateContext() as Parameters<typeof observabilityWiring>[0]));
    // Its part of the README's generated section, from its own partials.
    this.contribute({
      readme: [
        { slot: 'sections', order: 30, text: this.renderPartial('observability/readme/section.md.ejs') },
      ],
    });
  }

  writing(): void {
    this.writeSections(files);
  }

  postWriting(): void {
    this.mergeSectionManifests(files);
  }
}
