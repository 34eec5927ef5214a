// End-to-end tests in two worker processes, one test file each at a time. Most of a file's time is a child
// process (uv, mypy, pytest, a server) working on one core, or waiting on one, so two files side by side
// keep this machine's two cores busy. The files start slowest first (as the timing table at the end of
// `npm test` shows them), so that the two workers finish close together; files not listed start first.
const { readdirSync } = require('node:fs');

const DIR = 'dist/test/e2e';
const SLOWEST_FIRST = [
  'readme-commands',
  'growth',
  'agents',
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
  jobs: 2,
  require: ['dist/test/timing/hooks.js'],
};
