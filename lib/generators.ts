import type { ChoiceKey, ForgeConfig } from './config.js';
import type { DeploymentFlag } from './deploy.js';

/** What the CLI and `app` know about each sub-generator. */
export interface GeneratorInfo {
  name: string;
  description: string;
  /** Config choices the generator takes as `--<flag>` options. */
  options: ChoiceKey[];
  /** Deployment settings the generator takes as `--<flag>` options (see lib/deploy.ts). */
  flags?: DeploymentFlag[];
  /** Positional arguments, e.g. the service name of `microservice`. */
  args: { name: string; description: string }[];
  /** False for generators this version does not ship yet: their choices are stored, nothing is generated. */
  available: boolean;
}

export const GENERATORS: readonly GeneratorInfo[] = [
  {
    name: 'app',
    description: 'A whole project from the answers: composes every sub-generator the config calls for',
    options: ['appType', 'tier', 'db', 'auth', 'agentSdk', 'deploy'],
    args: [{ name: 'name', description: 'project name (default: the directory name)' }],
    available: true,
  },
  {
    name: 'api',
    description:
      'The tier-1 core: app factory, settings, logging, errors, health checks, CORS and rate limiting',
    options: [],
    args: [],
    available: true,
  },
  {
    name: 'auth',
    description: 'Authentication on every non-public route: JWT, API key or OIDC',
    options: ['auth'],
    args: [],
    available: true,
  },
  {
    name: 'agents',
    description: 'Agent orchestration endpoints over REST, SSE and WebSocket, with background jobs',
    options: ['agentSdk'],
    args: [],
    available: true,
  },
  {
    name: 'db',
    description: 'A database: PostgreSQL (async SQLAlchemy + Alembic), MongoDB or Redis',
    options: ['db'],
    args: [],
    available: true,
  },
  {
    name: 'observability',
    description:
      'Prometheus metrics at /metrics and OpenTelemetry tracing exported over OTLP (on by default at tier 3)',
    options: [],
    args: [],
    available: true,
  },
  {
    name: 'docker',
    description: 'Multi-stage uv Dockerfile, .dockerignore and docker-compose.yml for local development',
    options: [],
    flags: ['python'],
    args: [],
    available: true,
  },
  {
    name: 'k8s',
    description: 'Kubernetes manifests with kustomize dev/prod overlays (composes docker)',
    options: [],
    flags: ['k8s-namespace', 'ingress-host'],
    args: [],
    available: true,
  },
  {
    name: 'cloudrun',
    description: 'Google Cloud Run: a Knative service.yaml for the image (composes docker)',
    options: [],
    args: [],
    available: true,
  },
  {
    name: 'serverless',
    description: 'AWS Lambda: a Mangum handler and an AWS SAM template (composes docker)',
    options: [],
    args: [],
    available: true,
  },
  {
    name: 'microservice',
    description:
      'Another service in a uv workspace (services/<name>), with its own database and tests, the shared libs package and Redis events',
    options: [],
    args: [
      {
        name: 'name',
        description: 'service name: its Python package (lowercase letters, digits and "_")',
      },
    ],
    available: true,
  },
  {
    name: 'events',
    description:
      'Tier 3: durable events on Redis Streams (Kafka optional), a transactional outbox and CQRS in every service',
    options: [],
    args: [],
    available: true,
  },
  {
    name: 'gateway',
    description:
      'An API gateway in front of the services: routing, retries, circuit breakers, streaming (composes docker)',
    options: [],
    args: [],
    available: true,
  },
];

export function generatorInfo(name: string): GeneratorInfo | undefined {
  return GENERATORS.find((info) => info.name === name);
}

/**
 * Choices in the config whose generator this version does not ship yet. They are stored in `.yo-rc.json`
 * and the user is told plainly that nothing was generated for them.
 */
export function pendingFeatures(_config: ForgeConfig): string[] {
  // Every tier is generated in full: services, gateway, event streams, outbox, CQRS, metrics and tracing in
  // every member, Kubernetes manifests.
  return [];
}
