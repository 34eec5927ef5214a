// Unit tests: yeoman-test in memory, in two worker processes.
module.exports = {
  spec: ['dist/test/unit/**/*.test.js'],
  timeout: 60_000,
  parallel: true,
  jobs: 2,
  require: ['dist/test/timing/hooks.js'],
};
