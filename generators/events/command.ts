import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add events`, `list`, `--help` and `yo fastapi-forge:events` say and take. */
const command: GeneratorCommand = {
  name: 'events',
  description:
    'Tier 3: durable events on Redis Streams (Kafka optional), a transactional outbox and CQRS in every service',
};

export default command;
