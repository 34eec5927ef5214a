import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { CLI, makeTempDir } from '../helpers.js';
import { deployTool } from './deploy-support.js';
import { freePort, run, spawnInBackground } from './processes.js';

/**
 * The tooling of a generated project as its user and its CI run it: the workflow's steps, pre-commit, the
 * Makefile and the final message of `new`. Used by the tooling test (the default project) and the README
 * command test (a tier-2 and a tier-3 project).
 */

interface Step {
  name?: string;
  uses?: string;
  run?: string;
}
interface Job {
  strategy?: { matrix?: { member?: string[] } };
  env?: Record<string, string>;
  steps: Step[];
}

/** One `run` step of a job, as it ran here: in which member, its name and its command. */
export interface WorkflowStep {
  member: string;
  name: string;
  command: string;
}

/** What a job's steps did locally, the `uses` steps left to GitHub, and the job's own env. */
export interface WorkflowRun {
  steps: WorkflowStep[];
  actions: string[];
  env: Record<string, string>;
}

/** actionlint on a project's workflow files; throws with its findings. */
export function actionlint(dir: string): void {
  run(deployTool('actionlint'), ['-no-color', '.github/workflows/ci.yml'], dir);
}

/**
 * Runs one job of `.github/workflows/ci.yml` as the runner would: each `run` step in order, with bash -e,
 * in the job's working directory, with the job's env (values in `env` replace the workflow's own, so the
 * services of this machine stand in for the service containers), once per `member` of its matrix.
 * `uses` steps (checkout, setup-uv) are what this machine already has and are listed, not run. An
 * expression other than `matrix.member` is refused, so a step that could not run the same way fails here.
 */
export function runWorkflowJob(dir: string, jobName: string, env: Record<string, string>): WorkflowRun {
  const workflow = parseYaml(readFileSync(path.join(dir, '.github/workflows/ci.yml'), 'utf8')) as {
    jobs: Record<string, Job>;
  };
  const job = workflow.jobs[jobName];
  if (!job) throw new Error(`ci.yml has no job ${jobName}`);
  const members = job.strategy?.matrix?.member ?? ['.'];
  const result: WorkflowRun = { steps: [], actions: [], env: job.env ?? {} };
  for (const member of members) {
    for (const step of job.steps) {
      if (step.uses) {
        if (member === members[0]) result.actions.push(step.uses);
        continue;
      }
      const command = (step.run ?? '').replace(/\$\{\{ matrix\.member \}\}/g, member);
      if (command.includes('${{')) throw new Error(`step "${step.name}" has an expression: ${command}`);
      run('bash', ['-e', '-c', command], path.join(dir, member), { ...job.env, ...env });
      result.steps.push({ member, name: step.name ?? command, command });
    }
  }
  return result;
}

/** The lines under "is ready in ... Next:" of `new`'s output, as the user reads them. */
export function finalMessage(output: string): string[] {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => /is ready in .*Next:$/.test(line));
  expect(start, output).to.be.greaterThan(-1);
  return lines
    .slice(start + 1)
    .filter((line) => line.startsWith('  '))
    .map((line) => line.trim());
}

/**
 * Types the final message's lines, as they are, into one shell in `parent` (where `new` ran), and expects
 * the protected route it ends with to answer with `answerKey` (by default `username`, the user it created:
 * a 401 would be the error shape instead). The documented port may be taken on a shared machine: the same
 * commands run on a free one.
 */
export async function followFinalMessage(
  parent: string,
  name: string,
  message: string[],
  answer: { key: string; value?: unknown } = { key: 'username', value: 'alice' },
): Promise<void> {
  const port = await freePort();
  const lines = message.map((line) =>
    line.replace(/127\.0\.0\.1:8000/g, `127.0.0.1:${port}`).replace(/^make dev &/, `make dev PORT=${port} &`),
  );
  expect(lines[0]).to.equal(`cd ${name}`);
  // The message waits for the server itself; a line break after each command's output, as the terminal's
  // next prompt gives (curl prints none).
  const script = lines.join('\necho\n');
  const shell = spawnInBackground('bash', ['-e', '-c', script], {
    cwd: parent,
    env: { ...process.env, VIRTUAL_ENV: '' },
    graceMs: 15_000,
  });
  const exited = new Promise<number | null>((resolve) => shell.process.once('exit', resolve));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 240_000)));
  // The timer must not outlive the shell: a pending one keeps mocha's process from exiting.
  const code = await Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
  const logs = shell.logs();
  await shell.stop();
  expect(code, logs).to.equal(0);
  // The server started with `&` writes its JSON log lines to the same terminal, so a log line can
  // follow curl's answer on one line (curl ends with no line break): each object is read on its own.
  const answers = logs
    .split('\n')
    .filter((line) => line.startsWith('{"'))
    .flatMap((line) => line.split(/(?<=\})(?=\{")/))
    .map((text) => JSON.parse(text) as Record<string, unknown>);
  const found = answers.find((body) => answer.key in body);
  expect(found, logs).to.not.equal(undefined);
  if ('value' in answer) expect(found?.[answer.key], logs).to.deep.equal(answer.value);
}

/**
 * `pre-commit run --all-files` in a fresh git repository of the project: every hook of its config passes,
 * and nothing is downloaded (the hooks are the project's own tools). Leaves the repository for later checks
 * (`make format` must change no tracked file).
 */
export function preCommitAllFiles(dir: string): string[] {
  run('git', ['init', '--quiet'], dir);
  run('git', ['add', '--all'], dir);
  const home = makeTempDir('pre-commit-home');
  const output = run(deployTool('pre-commit'), ['run', '--all-files'], dir, { PRE_COMMIT_HOME: home }).output;
  const config = parseYaml(readFileSync(path.join(dir, '.pre-commit-config.yaml'), 'utf8')) as {
    repos: { hooks: { name: string }[] }[];
  };
  const hooks = config.repos.flatMap((repo) => repo.hooks.map((hook) => hook.name));
  for (const hook of hooks) {
    const escaped = hook.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(output, hook).to.match(new RegExp(`^${escaped}\\.+Passed$`, 'm'));
  }
  expect(readdirSync(home).filter((entry) => entry.startsWith('repo'))).to.deep.equal([]);
  return hooks;
}

/** `make ARGS` in the project; throws with its output when it fails. */
export const make = (dir: string, env: Record<string, string>, ...args: string[]): string =>
  run('make', args, dir, env).output;

/** The targets `make help` lists. */
export const makeTargets = (dir: string, env: Record<string, string>): string[] =>
  [...make(dir, env, 'help').matchAll(/^ {2}make (\S+)/gm)].map((match) => match[1] ?? '');

/** A command a recipe runs, and the directory it runs in (relative to the project). */
export interface RecipeCommand {
  dir: string;
  command: string;
}

/**
 * The commands `make TARGET` would run (`make -n`), prerequisites first. A workspace recipe's loop over
 * its members is unrolled into each member's commands.
 */
export function makeRecipe(dir: string, env: Record<string, string>, target: string): RecipeCommand[] {
  const loop = /^for member in (.+?); do echo "== \$member"; \(cd \$member && (.+)\) \|\| exit 1; done$/;
  return make(dir, env, '-n', target)
    .trim()
    .split('\n')
    .flatMap((line) => {
      const unrolled = loop.exec(line);
      if (!unrolled) return [{ dir: '.', command: line }];
      const commands = (unrolled[2] ?? '').split(' && ');
      return (unrolled[1] ?? '')
        .split(' ')
        .flatMap((member) => commands.map((command) => ({ dir: member, command })));
    });
}

/**
 * `make migration`: an autogenerated migration of an up-to-date database, removed again so the project
 * stays as generated; without a name it stops with a hint and exit status 2.
 */
export function makeMigration(dir: string, env: Record<string, string>): void {
  const created = make(dir, env, 'migration', 'm=nothing changed');
  const file = /Generating (\S+\.py)/.exec(created)?.[1] ?? '';
  expect(existsSync(file), created).to.equal(true);
  rmSync(file);
  const unnamed = spawnSync('make', ['migration'], { cwd: dir, encoding: 'utf8' });
  expect(unnamed.status).to.equal(2);
  expect(unnamed.stdout).to.include('name it: make migration m="what changed"');
}

/**
 * `new NAME --yes --skip-install` in a fresh directory, killed (SIGKILL, its whole process group) as soon as
 * it has started `uv lock`: the state a power cut or `kill -9` in the middle of the lock step leaves.
 * Returns the project's parent and directory.
 */
export async function newKilledWhileLocking(name: string): Promise<{ parent: string; dir: string }> {
  const parent = makeTempDir('killed-lock');
  const child = spawn(process.execPath, [CLI, 'new', name, '--yes', '--skip-install'], {
    cwd: parent,
    detached: true,
    stdio: 'ignore',
  });
  const closed = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('close', (_code, signal) => resolve(signal)),
  );
  const pid = child.pid ?? 0;
  const deadline = Date.now() + 120_000;
  // `uv` started by the CLI itself is the lock step (`new --skip-install` runs no other uv command).
  while (spawnSync('pgrep', ['-P', String(pid), '-x', 'uv']).status !== 0) {
    expect(child.exitCode, 'new ended before it started uv lock').to.equal(null);
    expect(Date.now()).to.be.below(deadline);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  process.kill(-pid, 'SIGKILL');
  expect(await closed).to.equal('SIGKILL');
  return { parent, dir: path.join(parent, name) };
}
