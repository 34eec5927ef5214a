import type { ForgeOptions } from '../../lib/base-generator.js';
import { DeployGenerator } from '../../lib/deploy-generator.js';

/**
 * The container image and local development: a multi-stage Dockerfile on uv, .dockerignore, and
 * docker-compose.yml with the app and the services the config calls for (database, Redis, job worker,
 * migrations). Every deployment target composes it. docker-compose.yml is merged, never overwritten.
 */
export default class DockerGenerator extends DeployGenerator {
  protected readonly target = 'compose';

  constructor(args: string[], options: ForgeOptions) {
    super(args, options, ['python']);
    this.description = 'Dockerfile, .dockerignore and docker-compose.yml';
  }

  writing(): void {
    this.renderFamily('docker/files');
  }

  deploymentWriting(): void {
    this.renderYamlFamily('docker/compose', 'docker');
  }
}
