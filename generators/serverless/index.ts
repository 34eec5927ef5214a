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

  writing(): void {
    this.renderFamily('serverless/files');
  }

  postWriting(): void {
    this.mergeFamilyManifest('serverless/files', 'serverless (AWS Lambda)');
  }

  deploymentWriting(): void {
    this.renderYamlFamily('serverless/manifests', 'serverless');
  }
}
