import { DeployGenerator } from '../../lib/deploy-generator.js';
import command from './command.js';
import { files } from './files.js';
import { contributionsFromContext } from '../features.js';

/**
 * The container image and local development: a multi-stage Dockerfile on uv, .dockerignore, and
 * docker-compose.yml with the app and the services the config calls for (database, Redis, job worker,
 * migrations). Every deployment target composes it. docker-compose.yml is merged, never overwritten.
 */
export default class DockerGenerator extends DeployGenerator {
  protected override featureContributions = contributionsFromContext;

  protected readonly target = 'compose';

  static override readonly command = command;

  writing(): void {
    this.writeSections(files);
  }

  deploymentWriting(): void {
    this.renderYamlFamily('docker/compose', 'docker');
  }
}
