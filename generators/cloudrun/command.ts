import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add cloudrun`, `list`, `--help` and `yo fastapi-forge:cloudrun` say and take. */
const command: GeneratorCommand = {
  name: 'cloudrun',
  description: 'Google Cloud Run: a Knative service.yaml for the image (composes docker)',
};

export default command;
