import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add observability`, `list`, `--help` and `yo fastapi-forge:observability` say and take. */
const command: GeneratorCommand = {
  name: 'observability',
  description:
    'Prometheus metrics at /metrics and OpenTelemetry tracing exported over OTLP (on by default at tier 3)',
};

export default command;
