import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add serverless`, `list`, `--help` and `yo fastapi-forge:serverless` say and take. */
const command: GeneratorCommand = {
  name: 'serverless',
  description: 'AWS Lambda: a Mangum handler and an AWS SAM template (composes docker)',
};

export default command;
