// End-to-end tests in two worker processes, one test file each at a time. Most of a file's time is a child
// process (uv, mypy, pytest, a server) working on one core, or waiting on one, so two files side by side
// keep this machine's two cores busy. The files start slowest first (as the timing table at the end of
// `npm test` shows them), so that the two workers finish close together; files not listed start first.
const { readdirSync } = require('node:fs');

const DIR = 'dist/test/e2e';
const SLOWEST_FIRST = [];

const files = readdirSync(DIR).filter((file) => file.endsWith('.test.js'));
const rank = (file) => {
  const index = SLOWEST_FIRST.indexOf(file.replace(/\.test\.js$/, ''));
  return index === -1 ? -1 : index;
};

module.exports = {
  spec: files.sort((a, b) => rank(a) - rank(b)).map((file) => `${DIR}/${file}`),
  timeout: 900_000,
  parallel: true,
  jobs: 2,
  require: ['dist/test/timing/hooks.js'],
};
