import type { ForgeOptions } from '../../lib/base-generator.js';
import { DeployGenerator } from '../../lib/deploy-generator.js';

/**
 * AWS Lambda behind API Gateway: a Mangum handler (with its test), an AWS SAM template and the Makefile
 * that builds the package from uv.lock, with the limits of Lambda documented. Composes `docker` too:
 * compose is the local environment, and the image runs what Lambda cannot (the job worker).
 */
export default class ServerlessGenerator extends DeployGenerator {
  protected readonly target = 'serverless';

  constructor(args: string[], options: ForgeOptions) {
    super(args, options);
    this.description = 'AWS Lambda: a Mangum handler and an AWS SAM template';
  }

  postWriting(): void {
    this.mergeFamilyManifest('serverless/files', 'serverless (AWS Lambda)');
  }

  /**
   * After postWriting: the README names the secrets of every feature, which reach .env.example in
   * postWriting (this generator's own included).
   */
  deploymentWriting(): void {
    this.renderFamily('serverless/files');
    this.renderYamlFamily('serverless/manifests', 'serverless');
  }
}
