import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add api`, `list`, `--help` and `yo fastapi-forge:api` say and take. */
const command: GeneratorCommand = {
  name: 'api',
  description:
    'The tier-1 core: app factory, settings, logging, errors, health checks, CORS and rate limiting',
};

export default command;
