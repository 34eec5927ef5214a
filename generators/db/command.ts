import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add db`, `list`, `--help` and `yo fastapi-forge:db` say and take. */
const command: GeneratorCommand = {
  name: 'db',
  description: 'A database: PostgreSQL (async SQLAlchemy + Alembic), MongoDB or Redis',
  choices: ['db'],
};

export default command;
