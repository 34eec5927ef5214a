import { DeployGenerator } from '../../lib/deploy-generator.js';
import command from './command.js';
import { files } from './files.js';
import { contributionsFromContext } from '../features.js';

/**
 * Google Cloud Run: a Knative serving v1 service.yaml for `gcloud run services replace`, with its limits
 * documented. Composes `docker` for the image. service.yaml is merged, never overwritten.
 */
export default class CloudRunGenerator extends DeployGenerator {
  protected override featureContributions = contributionsFromContext;

  protected readonly target = 'cloudrun';

  static override readonly command = command;

  /**
   * After postWriting, like the manifest: the README lists the secrets of every feature, which reach
   * .env.example in postWriting.
   */
  deploymentWriting(): void {
    this.writeSections(files);
    this.renderYamlFamily('cloudrun/manifests', 'cloudrun');
  }
}
