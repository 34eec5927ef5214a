import { CHOICES } from '../../lib/config.js';
import type { GeneratorCommand } from '../../lib/command.js';
import { DEFAULT_TIER2_SERVICES } from '../../lib/workspace.js';

/** What `fastapi-forge new`, `list`, `--help` and `yo fastapi-forge` say and take. */
const command: GeneratorCommand = {
  name: 'app',
  description: 'A new project in <dir>/<name>, composed of every sub-generator its options call for',
  args: [
    {
      name: 'name',
      description: 'project name; the Python package is derived from it (my-app -> my_app)',
      optional: true,
    },
  ],
  choices: CHOICES.map((spec) => spec.key),
  options: [
    { flag: 'description', type: 'value', placeholder: 'text', description: 'one-line project description' },
    {
      flag: 'observability',
      type: 'switch',
      description: 'Prometheus metrics and OpenTelemetry tracing (default: on at tier 3 only)',
      negation: 'no metrics or tracing, even at tier 3',
    },
    {
      flag: 'examples',
      type: 'switch',
      description: 'also generate the demo-only example route, POST /echo, and its service (default: off)',
    },
    {
      flag: 'services',
      type: 'value',
      placeholder: 'names',
      description: `services of a tier-2 or tier-3 project beside its own, comma-separated (default: ${DEFAULT_TIER2_SERVICES.join(',')})`,
    },
  ],
};

export default command;
