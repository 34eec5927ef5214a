import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, DEFAULT_MAKE_TARGETS, makeTempDir } from '../helpers.js';
import { deployTool, hadolint } from './deploy-support.js';
import { freePort, freshDatabase, run, spawnInBackground } from './support.js';
import { actionlint, runWorkflowJob } from './workflow.js';

/**
 * The tooling of the default project (`fastapi-forge new NAME --yes`: agents, PostgreSQL, JWT with users,
 * compose) as its user meets it: the final message followed line by line to a protected route, the CI
 * workflow's steps run here in order, pre-commit on every file, and each Makefile command that needs no
 * Docker. The tier-2 and tier-3 workflows are run by the README command tests on their projects.
 */
const NAME = 'tooling_default';
const REDIS_URL = process.env.TOOLING_REDIS_URL ?? 'redis://127.0.0.1:6379/12';

/** The lines under "is ready in ... Next:" of `new`'s output, as the user reads them. */
function finalMessage(output: string): string[] {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => /is ready in .*Next:$/.test(line));
  expect(start, output).to.be.greaterThan(-1);
  return lines
    .slice(start + 1)
    .filter((line) => line.startsWith('  '))
    .map((line) => line.trim());
}

describe('project tooling end to end: final message, CI workflow, pre-commit, Makefile', function () {
  this.timeout(15 * 60_000);
  let parent = '';
  let dir = '';
  let message: string[] = [];
  const database = freshDatabase('forge_tooling');

  after(() => database.drop());

  it('generates with --skip-install and still writes uv.lock; a fresh run reports no forced file', () => {
    parent = makeTempDir('tooling');
    const output = run(process.execPath, [CLI, 'new', NAME, '--yes', '--skip-install'], parent).output;
    dir = path.join(parent, NAME);
    expect(existsSync(path.join(dir, 'uv.lock'))).to.equal(true);
    expect(output).to.match(/Locking the dependencies into uv\.lock \(uv lock\) \.\.\.\n.*done in \d+\.\d s/);
    expect(output).to.not.match(/^\s*force\s/m);
    message = finalMessage(output);
    console.log(`      final message:\n${message.map((line) => `        ${line}`).join('\n')}`);
    actionlint(dir);
  });

  it('follows the final message literally, one line at a time, to a 200 from a protected route', async () => {
    // The documented port may be taken on a shared machine: the same commands on a free one.
    const port = await freePort();
    const lines = message.map((line) =>
      line
        .replace(/127\.0\.0\.1:8000/g, `127.0.0.1:${port}`)
        .replace(/^make dev &/, `make dev PORT=${port} &`),
    );
    expect(lines[0]).to.equal(`cd ${NAME}`);
    // One shell, as a user types the lines; after the server line, wait for it as the user would.
    const script = lines
      .map((line) =>
        line.startsWith('make dev')
          ? `${line}\nfor i in $(seq 120); do curl -sf http://127.0.0.1:${port}/health >/dev/null && break; sleep 0.5; done`
          : line,
      )
      // A line break after each command's output, as the terminal's next prompt gives (curl prints none).
      .join('\necho\n');
    const shell = spawnInBackground('bash', ['-e', '-c', script], {
      cwd: parent,
      env: { ...process.env, VIRTUAL_ENV: '' },
      graceMs: 15_000,
    });
    const exited = new Promise<number | null>((resolve) => shell.process.once('exit', resolve));
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 240_000))]);
    const logs = shell.logs();
    await shell.stop();
    expect(code, logs).to.equal(0);
    // /users/me answered with the user the message created (a 401 would be the error shape instead).
    // The server started with `&` writes its JSON log lines to the same terminal, so a log line can
    // follow curl's answer on one line (curl ends with no line break): each object is read on its own.
    const answers = logs
      .split('\n')
      .filter((line) => line.startsWith('{"'))
      .flatMap((line) => line.split(/(?<=\})(?=\{")/))
      .map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(answers.find((answer) => 'username' in answer)?.username, logs).to.equal('alice');
  });

  it("runs the CI workflow's steps in order against this machine's PostgreSQL and Redis", () => {
    const job = runWorkflowJob(dir, 'checks', { TEST_DATABASE_URL: database.url, REDIS_URL });
    expect(job.actions).to.deep.equal(['actions/checkout@v5', 'astral-sh/setup-uv@v6']);
    expect(job.ran).to.have.length(5);
    console.log(`      ${job.ran.join('\n      ')}`);
    // The image job builds with Docker, which this machine lacks: its Dockerfile is linted instead.
    hadolint(path.join(dir, 'Dockerfile'));
    console.log('      not exercised here: the image job (docker build); hadolint passed on its Dockerfile');
  });

  it('passes pre-commit run --all-files with its local hooks', () => {
    run('git', ['init', '--quiet'], dir);
    run('git', ['add', '--all'], dir);
    const home = makeTempDir('pre-commit-home');
    const result = run(deployTool('pre-commit'), ['run', '--all-files'], dir, { PRE_COMMIT_HOME: home });
    expect(result.output).to.match(/ruff check\.+Passed/);
    expect(result.output).to.match(/ruff format\.+Passed/);
    expect(result.output).to.match(/mypy\.+Passed/);
    // Nothing was downloaded: the hooks are the project's own tools.
    expect(readdirSync(home).filter((entry) => entry.startsWith('repo'))).to.deep.equal([]);
  });

  it('runs every Makefile command that needs no Docker', async () => {
    const env = { TEST_DATABASE_URL: database.url, REDIS_URL, VIRTUAL_ENV: '' };
    const make = (...args: string[]): string => run('make', args, dir, env).output;
    const help = make('help');
    const targets = [...help.matchAll(/^ {2}make (\S+)/gm)].map((match) => match[1]);
    expect(targets).to.include.members([...DEFAULT_MAKE_TARGETS]);
    make('install');
    make('format');
    expect(run('git', ['diff', '--name-only'], dir).output, 'make format changed a fresh project').to.equal(
      '',
    );
    make('lint');
    // `make test` and `make check` are the commands of the workflow's steps, which ran above against the
    // same services: compared here rather than run a second time.
    expect(make('-n', 'test').trim()).to.equal('uv run --no-sync pytest');
    expect(make('-n', 'check').trim().split('\n')).to.deep.equal([
      'uv run --no-sync ruff check .',
      'uv run --no-sync ruff format --check .',
      'uv run --no-sync mypy',
      'uv run --no-sync pytest',
    ]);
    make('migrate');
    // An autogenerated migration of an up-to-date database; removed again so the project stays as generated.
    const created = make('migration', 'm=nothing changed');
    const file = /Generating (\S+\.py)/.exec(created)?.[1] ?? '';
    expect(existsSync(file), created).to.equal(true);
    rmSync(file);
    const unnamed = spawnSync('make', ['migration'], { cwd: dir, encoding: 'utf8' });
    expect(unnamed.status).to.equal(2);
    expect(unnamed.stdout).to.include('name it: make migration m="what changed"');

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
    make('hooks');
    expect(existsSync(path.join(dir, '.git/hooks/pre-commit'))).to.equal(true);
    console.log('      not exercised here: make up (docker compose), no Docker engine on this machine');
  });

  for (const tier of ['2', '3']) {
    it(`tier ${tier}: actionlint, and the workflow's install, lint and format steps in every member`, () => {
      const parentDir = makeTempDir(`tooling-tier${tier}`);
      const output = run(
        process.execPath,
        [CLI, 'new', 'shop', '--tier', tier, '--agent-sdk', 'none', '--yes', '--skip-install'],
        parentDir,
      ).output;
      const project = path.join(parentDir, 'shop');
      expect(output).to.not.match(/^\s*force\s/m);
      expect(finalMessage(output)).to.include('uv sync --all-packages');
      actionlint(project);
      // mypy and pytest of every member run in tier${tier}.test.ts with the same commands (verifyMember).
      const job = runWorkflowJob(project, 'checks', { REDIS_URL }, ['Type check', 'Test']);
      expect(job.ran.filter((step) => step.endsWith('uv sync --locked --all-packages'))).to.have.length(
        job.skipped.length / 2,
      );
      console.log(
        `      tier ${tier}: ${job.ran.length} steps run, left to tier${tier}.test.ts: ${job.skipped.length}`,
      );
    });
  }
});
