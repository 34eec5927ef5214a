import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add auth`, `list`, `--help` and `yo fastapi-forge:auth` say and take. */
const command: GeneratorCommand = {
  name: 'auth',
  description: 'Authentication on every non-public route: JWT, API key or OIDC',
  choices: ['auth'],
};

export default command;
