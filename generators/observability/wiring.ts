import type { Contribution } from '../../lib/contributions.js';

/**
 * Metrics and tracing's part of the core's wiring: the tracer and metrics resources (first in the lifespan,
 * so the others' startup is traced), SQL spans and agent-run metrics where those features are, the metrics
 * and tracing middleware outermost, the public `/metrics` route, and its settings.
 */
export function observabilityWiring(context: {
  observability: boolean;
  db: string;
  agents: boolean;
}): Contribution {
  if (!context.observability) return {};
  return {
    imports: {
      lifespan: [
        { module: 'opentelemetry.sdk.trace', names: ['TracerProvider'] },
        {
          module: '<package>.observability',
          names: [
            ...(context.agents ? ['AgentRunMetrics'] : []),
            'Metrics',
            'metrics_resource',
            'tracing_resource',
          ],
          wrap: true,
        },
        ...(context.db === 'postgres'
          ? [{ module: '<package>.observability.tracing', names: ['traced_engine'] }]
          : []),
      ],
      logging: [{ module: '<package>.observability.tracing', names: ['add_trace_context'] }],
      middleware: [
        { module: '<package>.middleware.metrics', names: ['MetricsMiddleware'] },
        { module: '<package>.observability', names: ['install_tracing'] },
      ],
    },
    lifespan: [
      {
        order: 10,
        stateOrder: 25,
        state: [
          { name: 'metrics', type: 'Metrics' },
          { name: 'tracer_provider', type: 'TracerProvider | None' },
        ],
        setup: `# First in, last out: the other resources' startup and shutdown are traced too.
tracer_provider = await resources.enter_async_context(tracing_resource(app, settings))
metrics = await resources.enter_async_context(metrics_resource())`,
      },
      ...(context.db === 'postgres'
        ? [{ order: 55, setup: 'resources.enter_context(traced_engine(tracer_provider, database.engine))' }]
        : []),
      ...(context.agents
        ? [
            {
              order: 65,
              setup: `agents.runner.add_observer(AgentRunMetrics())
metrics.watch_queue(settings.agent_queue_name, agents.queue.depth)`,
            },
          ]
        : []),
    ],
    settings: [
      {
        className: 'ObservabilitySettings',
        module: '<package>.settings.observability',
        order: 50,
        wrap: true,
      },
    ],
    middleware: [
      {
        order: 40,
        label: 'metrics',
        code: `# Outermost: counts every answer, those of the middleware above included.
app.add_middleware(MetricsMiddleware)`,
      },
      {
        order: 50,
        label: 'tracing',
        code: `# The request span wraps the whole stack, so every log line of a request has its trace id.
install_tracing(app, settings)`,
      },
    ],
    logProcessors: [{ expression: 'add_trace_context', comment: 'trace_id and span_id of the current span' }],
    quietPaths: [
      {
        expression: 'METRICS_PATH',
        comment: 'Prometheus scrapes /metrics every few seconds: not access-logged.',
        imports: [{ module: '<package>.settings.observability', names: ['METRICS_PATH'] }],
      },
    ],
    routers: [
      {
        order: 15,
        stage: 'public',
        module: 'metrics',
        include: 'app.include_router(metrics.router)',
        label: 'metrics',
      },
    ],
  };
}
