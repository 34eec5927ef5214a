import type { ForgeOptions } from '../../lib/base-generator.js';
import { DeployGenerator } from '../../lib/deploy-generator.js';

/**
 * Google Cloud Run: a Knative serving v1 service.yaml for `gcloud run services replace`, with its limits
 * documented. Composes `docker` for the image. service.yaml is merged, never overwritten.
 */
export default class CloudRunGenerator extends DeployGenerator {
  protected readonly target = 'cloudrun';

  constructor(args: string[], options: ForgeOptions) {
    super(args, options);
    this.description = 'Google Cloud Run: a Knative service.yaml for the image';
  }

  /**
   * After postWriting, like the manifest: the README lists the secrets of every feature, which reach
   * .env.example in postWriting.
   */
  deploymentWriting(): void {
    this.renderFamily('cloudrun/docs');
    this.renderYamlFamily('cloudrun/manifests', 'cloudrun');
  }
}
