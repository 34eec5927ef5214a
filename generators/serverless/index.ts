import { DeployGenerator } from '../../lib/deploy-generator.js';
import command from './command.js';
import { files } from './files.js';
import { contributionsFromContext } from '../features.js';

/**
 * AWS Lambda behind API Gateway: a Mangum handler (with its test), an AWS SAM template and the Makefile
 * that builds the package from uv.lock, with the limits of Lambda documented. Composes `docker` too:
 * compose is the local environment, and the image runs what Lambda cannot (the job worker).
 */
export default class ServerlessGenerator extends DeployGenerator {
  protected override featureContributions = contributionsFromContext;

  protected readonly target = 'serverless';

  static override readonly command = command;

  postWriting(): void {
    this.mergeSectionManifests(files);
  }

  /**
   * After postWriting: the README names the secrets of every feature, which reach .env.example in
   * postWriting (this generator's own included).
   */
  deploymentWriting(): void {
    this.writeSections(files);
    this.renderYamlFamily('serverless/manifests', 'serverless');
  }
}
