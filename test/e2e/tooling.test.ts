import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, DEFAULT_MAKE_TARGETS, makeTempDir } from '../helpers.js';
import { hadolint, imageStart } from './deploy-support.js';
import { freePort, run, spawnInBackground, startHttpProcess, UV } from './processes.js';
import { freshDatabase, newProject } from './projects.js';
import {
  actionlint,
  finalMessage,
  followFinalMessage,
  make,
  makeMigration,
  makeTargets,
  newKilledWhileLocking,
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

  it('locks again when new is run after a run killed (kill -9) during uv lock', async () => {
    const killed = await newKilledWhileLocking('killed_lock');
    expect(existsSync(path.join(killed.dir, 'pyproject.toml'))).to.equal(true);
    expect(existsSync(path.join(killed.dir, 'uv.lock')), 'uv.lock was written before the kill').to.equal(
      false,
    );
    const again = run(
      process.execPath,
      [CLI, 'new', 'killed_lock', '--yes', '--skip-install'],
      killed.parent,
    );
    expect(again.output).to.match(
      /^killed_lock has no complete uv\.lock \(a run was cut off while locking\): locking again\.$/m,
    );
    const lock = readFileSync(path.join(killed.dir, 'uv.lock'), 'utf8');
    expect(lock).to.match(/^version = \d+$/m);
    // A lock cut in half, which uv cannot parse, is made again as well.
    writeFileSync(path.join(killed.dir, 'uv.lock'), lock.slice(0, lock.length / 2));
    const halved = run(
      process.execPath,
      [CLI, 'new', 'killed_lock', '--yes', '--skip-install'],
      killed.parent,
    );
    expect(halved.output).to.match(/^killed_lock has no complete uv\.lock .*: locking again\.$/m);
    expect(halved.output).to.not.match(/uv lock failed/);
    run(UV, ['lock', '--check'], killed.dir);
    // Locked now: a further `new` is refused as for any existing project.
    const third = spawnSync(process.execPath, [CLI, 'new', 'killed_lock', '--yes', '--skip-install'], {
      cwd: killed.parent,
      encoding: 'utf8',
    });
    expect(third.status).to.equal(2);
    expect(third.stderr).to.match(/is already a fastapi-forge project/);
  });

  it('follows the final message literally, one line at a time, to a 200 from a protected route', () =>
    followFinalMessage(parent, NAME, message));

  it('follows the final message of a project without stored users (JWT, no database) to its agent jobs', async () => {
    const name = 'tooling_no_users';
    const created = newProject(name, ['--db', 'none', '--agent-sdk', 'none']);
    const lines = finalMessage(created.output);
    expect(lines.join('\n')).to.not.include('no protected route yet');
    await followFinalMessage(created.parent, name, lines, { key: 'items', value: [] });
  });

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
    // The help shows the port `make dev` will use, not the variable.
    expect(make(dir, env, 'help', 'PORT=8123')).to.match(/^ {2}make dev .*http:\/\/127\.0\.0\.1:8123$/m);
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

  it("the image's start stops in one line without DATABASE_URL or the provider's key in production, and serves with them", async () => {
    // As the Dockerfile starts it (ENTRYPOINT, then CMD, with its ENV), away from the project's .env.
    const start = imageStart(path.join(dir, 'Dockerfile'));
    expect(start.env.ENVIRONMENT).to.equal('production');
    const bin = path.join(dir, '.venv/bin');
    const [command = '', ...args] = [...start.entrypoint, ...start.cmd];
    const elsewhere = makeTempDir('image-start');
    const deployed = {
      ...start.env,
      PATH: `${bin}:/usr/bin:/bin`,
      JWT_ISSUER: 'https://auth.example.com',
      JWT_SECRET: 'tests-only-deployed-secret-of-32-bytes-or-more',
    };
    const services = { DATABASE_URL: database.url, ANTHROPIC_API_KEY: 'tests-only-deployed-api-key' };
    for (const missing of Object.keys(services)) {
      const given = Object.fromEntries(Object.entries(services).filter(([name]) => name !== missing));
      const result = spawnSync(path.join(bin, command), args, {
        cwd: elsewhere,
        env: { ...deployed, ...given },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status, result.stderr).to.equal(2);
      expect(result.stdout).to.equal('');
      expect(result.stderr).to.match(new RegExp(`^invalid settings: ${missing} must be set [^\\n]*\\n$`));
    }
    // Given both, the preflight hands over to uvicorn, whose workers serve.
    const port = await freePort();
    const server = await startHttpProcess(path.join(bin, command), args, {
      cwd: elsewhere,
      env: {
        ...deployed,
        ...services,
        UVICORN_HOST: '127.0.0.1',
        UVICORN_PORT: String(port),
        WEB_CONCURRENCY: '2',
      },
      baseUrl: `http://127.0.0.1:${port}`,
    });
    await server.stop();
  });
});
