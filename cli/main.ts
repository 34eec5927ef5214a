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
import ResourceGenerator from '../generators/resource/index.js';
import ServerlessGenerator from '../generators/serverless/index.js';
import { type GeneratorRegistry, buildProgram as buildCliProgram, main as runCli } from '../lib/cli.js';

/**
 * The generators of this package, in the order `fastapi-forge list` shows them. Each class carries its
 * declaration (generators/<name>/command.ts). They are imported statically (not looked up on disk) so that
 * the CLI can be bundled into one file, which starts several times faster than resolving yeoman's module
 * tree. `yo` finds the same classes through dist/generators/.
 */
export const GENERATORS: GeneratorRegistry = [
  AppGenerator,
  ApiGenerator,
  AuthGenerator,
  AgentsGenerator,
  DbGenerator,
  ObservabilityGenerator,
  DockerGenerator,
  K8sGenerator,
  CloudRunGenerator,
  ServerlessGenerator,
  MicroserviceGenerator,
  ResourceGenerator,
  EventsGenerator,
  GatewayGenerator,
];

/** The declarations of {@link GENERATORS}, in the same order. */
export const COMMANDS = GENERATORS.map((generator) => generator.command);

export const buildProgram = () => buildCliProgram(GENERATORS);

/** Entry point of the `fastapi-forge` bin. Returns the exit status. */
export const main = (argv: string[]): Promise<number> => runCli(argv, GENERATORS);
