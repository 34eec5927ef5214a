import type { ForgeOptions } from '../../lib/base-generator.js';
import { DeployGenerator } from '../../lib/deploy-generator.js';

/**
 * Kubernetes manifests under deploy/k8s: a kustomize base (Deployment, Service, HPA, PDB, ConfigMap, a
 * Secret template, Ingress, NetworkPolicy, ServiceAccount, plus a worker Deployment when agents run jobs
 * and a migration Job with PostgreSQL) and dev/prod overlays. Composes `docker` for the image. Every
 * manifest is merged, never overwritten.
 */
export default class K8sGenerator extends DeployGenerator {
  protected readonly target = 'k8s';

  constructor(args: string[], options: ForgeOptions) {
    super(args, options, ['k8s-namespace', 'ingress-host']);
    this.description = 'Kubernetes manifests with kustomize overlays';
  }

  writing(): void {
    this.renderFamily('k8s/docs');
  }

  deploymentWriting(): void {
    this.renderYamlFamily('k8s/manifests', 'k8s');
  }
}
