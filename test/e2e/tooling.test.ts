import { existsSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { DEFAULT_MAKE_TARGETS } from '../helpers.js';
import { hadolint } from './deploy-support.js';
import { freshDatabase, newProject, run, spawnInBackground } from './support.js';
import {
  actionlint,
  finalMessage,
  followFinalMessage,
  make,
  makeMigration,
  makeTargets,
  preCommitAllFiles,
  runWorkflowJob,
} from './tooling-support.js';

/**
 * The tooling of the default project (`fastapi-forge new NAME --yes`: agents, PostgreSQL, JWT with users,
 * compose) as its user meets it: the final message followed line by line to a protected route, the CI
 * workflow's steps run here in order, pre-commit on every file, and each Makefile command that needs no
 * Docker. The README command test does the same for a tier-2 and a tier-3 project.
 */
const NAME = 'tooling_default';
const REDIS_URL = process.env.TOOLING_REDIS_URL ?? 'redis://127.0.0.1:6379/12';

describe('project tooling end to end: final message, CI workflow, pre-commit, Makefile', function () {
  this.timeout(15 * 60_000);
  let parent = '';
  let dir = '';
  let message: string[] = [];
  const database = freshDatabase('forge_tooling');

  after(() => database.drop());

  it('generates with --skip-install and still writes uv.lock; a fresh run reports no forced file', () => {
    const created = newProject(NAME, []);
    ({ parent, dir } = created);
    expect(existsSync(path.join(dir, 'uv.lock'))).to.equal(true);
    expect(created.output).to.match(
      /Locking the dependencies into uv\.lock \(uv lock\) \.\.\.\n.*done in \d+\.\d s/,
    );
    expect(created.output).to.not.match(/^\s*force\s/m);
    message = finalMessage(created.output);
    console.log(`      final message:\n${message.map((line) => `        ${line}`).join('\n')}`);
    actionlint(dir);
  });

  it('follows the final message literally, one line at a time, to a 200 from a protected route', () =>
    followFinalMessage(parent, NAME, message));

  it("runs the CI workflow's steps in order against this machine's PostgreSQL and Redis", () => {
    const job = runWorkflowJob(dir, 'checks', { TEST_DATABASE_URL: database.url, REDIS_URL });
    expect(job.actions).to.deep.equal(['actions/checkout@v5', 'astral-sh/setup-uv@v6']);
    expect(job.steps).to.have.length(5);
    console.log(`      ${job.steps.map((step) => `${step.name}: ${step.command}`).join('\n      ')}`);
    // The image job builds with Docker, which this machine lacks: its Dockerfile is linted instead.
    hadolint(path.join(dir, 'Dockerfile'));
    console.log('      not exercised here: the image job (docker build); hadolint passed on its Dockerfile');
  });

  it('passes pre-commit run --all-files with its local hooks', () => {
    expect(preCommitAllFiles(dir)).to.deep.equal(['ruff check', 'ruff format', 'mypy']);
  });

  it('runs every Makefile command that needs no Docker', async () => {
    const env = { TEST_DATABASE_URL: database.url, REDIS_URL, VIRTUAL_ENV: '' };
    expect(makeTargets(dir, env)).to.include.members([...DEFAULT_MAKE_TARGETS]);
    make(dir, env, 'install');
    make(dir, env, 'format');
    expect(run('git', ['diff', '--name-only'], dir).output, 'make format changed a fresh project').to.equal(
      '',
    );
    make(dir, env, 'lint');
    // `make test` and `make check` are the commands of the workflow's steps, which ran above against the
    // same services: compared here rather than run a second time.
    expect(make(dir, env, '-n', 'test').trim()).to.equal('uv run --no-sync pytest');
    expect(make(dir, env, '-n', 'check').trim().split('\n')).to.deep.equal([
      'uv run --no-sync ruff check .',
      'uv run --no-sync ruff format --check .',
      'uv run --no-sync mypy',
      'uv run --no-sync pytest',
    ]);
    make(dir, env, 'migrate');
    makeMigration(dir, env);

    // The worker: started, logs that it runs, stops cleanly on SIGTERM.
    const worker = spawnInBackground('make', ['worker'], { cwd: dir, env: { ...process.env, ...env } });
    const deadline = Date.now() + 60_000;
    while (!worker.logs().includes('worker_started') && Date.now() < deadline) {
      if (worker.process.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const logs = worker.logs();
    await worker.stop();
    expect(logs).to.include('worker_started');

    // The pre-commit hooks into .git (uvx fetches pre-commit itself from the package index).
    make(dir, env, 'hooks');
    expect(existsSync(path.join(dir, '.git/hooks/pre-commit'))).to.equal(true);
    console.log('      not exercised here: make up (docker compose), no Docker engine on this machine');
  });
});
