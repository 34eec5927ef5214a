import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add microservice`, `list`, `--help` and `yo fastapi-forge:microservice` say and take. */
const command: GeneratorCommand = {
  name: 'microservice',
  description:
    'Another service in a uv workspace (services/<name>), with its own database and tests, the shared libs package and Redis events',
  args: [
    { name: 'name', description: 'service name: its Python package (lowercase letters, digits and "_")' },
  ],
};

export default command;
