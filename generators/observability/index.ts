import { ForgeGenerator, type ForgeOptions } from '../../lib/base-generator.js';

/**
 * Prometheus metrics (`GET /metrics`: requests, errors and durations by route template, agent runs and
 * tokens, job queue depth, circuit-breaker state) and OpenTelemetry tracing (FastAPI, httpx, SQLAlchemy and
 * Redis spans, exported over OTLP/HTTP when an endpoint is configured, trace ids on every log line, W3C
 * context propagation helpers). The core's composition modules (settings, middleware, lifespan, routes,
 * logging) wire it in when `api` re-renders them; `api` composes this generator whenever the config has it,
 * so features added later are covered too.
 */
export default class ObservabilityGenerator extends ForgeGenerator {
  constructor(args: string[], options: ForgeOptions) {
    super(args, options);
    this.description = 'Prometheus metrics at /metrics and OpenTelemetry tracing exported over OTLP';
  }

  initializing(): void {
    this.requireConfiguredProject();
  }

  async configuring(): Promise<void> {
    this.config.set('observability', true);
    await this.composeForge('api');
    // In a workspace the shared package carries them into every service and the gateway (and, at tier 3,
    // the event consumers): those are rendered again with them.
    if (this.answers.tier >= 3) await this.composeForge('events');
    else if (this.answers.tier === 2) await this.composeForge('microservice');
  }

  writing(): void {
    this.renderFamily('observability/common');
  }

  postWriting(): void {
    this.mergeFamilyManifest('observability/common', 'metrics and tracing');
    // SQL statements become spans once the database's code exists.
    if (this.templateContext().db === 'postgres')
      this.mergeFamilyManifest('observability/postgres', 'metrics and tracing');
  }
}
