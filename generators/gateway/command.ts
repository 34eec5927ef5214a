import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add gateway`, `list`, `--help` and `yo fastapi-forge:gateway` say and take. */
const command: GeneratorCommand = {
  name: 'gateway',
  description:
    'An API gateway in front of the services: routing, retries, circuit breakers, streaming (composes docker)',
};

export default command;
