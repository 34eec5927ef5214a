import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add agents`, `list`, `--help` and `yo fastapi-forge:agents` say and take. */
const command: GeneratorCommand = {
  name: 'agents',
  description: 'Agent orchestration endpoints over REST, SSE and WebSocket, with background jobs',
  choices: ['agentSdk'],
};

export default command;
