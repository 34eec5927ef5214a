// End-to-end tests in three worker processes, one test file each at a time. Most of a file's time is a child
// process (uv, mypy, pytest, a server) working on one core, or waiting: on a server to start, a job to run,
// a poll or a timeout. With two files side by side a part of this machine's two cores stayed idle; a third
// file uses it. E2E_JOBS overrides the number. The files start slowest first (as the timing table at the
// end of `npm test` shows them), so that the workers finish close together; files not listed start first.
const { readdirSync } = require('node:fs');
const { env } = require('node:process');

const DIR = 'dist/test/e2e';
const SLOWEST_FIRST = [
  'readme-commands',
  'growth',
  'matrix-part-2',
  'matrix-part-1',
  'matrix-part-3',
  'matrix-part-5',
  'matrix-part-4',
  'matrix-part-6',
  'upgrade',
  'transactions',
  'db',
  'tooling',
  'tier2',
  'deploy',
  'agents',
  'tier3',
  'faults',
  'security',
  'clients',
  'observability',
  'tier1',
  'browser',
  'redis-rate-limit',
  'yo',
];

const files = readdirSync(DIR).filter((file) => file.endsWith('.test.js'));
const rank = (file) => SLOWEST_FIRST.indexOf(file.replace(/\.test\.js$/, ''));

module.exports = {
  spec: files.sort((a, b) => rank(a) - rank(b)).map((file) => `${DIR}/${file}`),
  timeout: 900_000,
  parallel: true,
  jobs: Number(env.E2E_JOBS ?? 3),
  require: ['dist/test/timing/hooks.js'],
};
