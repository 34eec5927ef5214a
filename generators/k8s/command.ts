import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add k8s`, `list`, `--help` and `yo fastapi-forge:k8s` say and take. */
const command: GeneratorCommand = {
  name: 'k8s',
  description: 'Kubernetes manifests with kustomize dev/prod overlays (composes docker)',
  deployment: ['k8s-namespace', 'ingress-host'],
};

export default command;
