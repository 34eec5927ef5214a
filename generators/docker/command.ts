import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add docker`, `list`, `--help` and `yo fastapi-forge:docker` say and take. */
const command: GeneratorCommand = {
  name: 'docker',
  description: 'Multi-stage uv Dockerfile, .dockerignore and docker-compose.yml for local development',
  deployment: ['python'],
};

export default command;
