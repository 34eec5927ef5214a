import AgentsGenerator from '../generators/agents/index.js';
import ApiGenerator from '../generators/api/index.js';
import AppGenerator from '../generators/app/index.js';
import AuthGenerator from '../generators/auth/index.js';
import CloudRunGenerator from '../generators/cloudrun/index.js';
import DbGenerator from '../generators/db/index.js';
import DockerGenerator from '../generators/docker/index.js';
import EventsGenerator from '../generators/events/index.js';
import GatewayGenerator from '../generators/gateway/index.js';
import K8sGenerator from '../generators/k8s/index.js';
import MicroserviceGenerator from '../generators/microservice/index.js';
import ObservabilityGenerator from '../generators/observability/index.js';
import ServerlessGenerator from '../generators/serverless/index.js';

/**
 * The generator classes the CLI registers with yeoman-environment, by name. They are imported statically
 * (not looked up on disk) so that the CLI can be bundled into one file, which starts several times faster
 * than resolving yeoman's module tree. `yo` still finds the same classes through dist/generators/.
 */
export const GENERATOR_CLASSES: Readonly<Record<string, unknown>> = {
  agents: AgentsGenerator,
  api: ApiGenerator,
  app: AppGenerator,
  auth: AuthGenerator,
  cloudrun: CloudRunGenerator,
  db: DbGenerator,
  docker: DockerGenerator,
  events: EventsGenerator,
  gateway: GatewayGenerator,
  k8s: K8sGenerator,
  microservice: MicroserviceGenerator,
  observability: ObservabilityGenerator,
  serverless: ServerlessGenerator,
};
