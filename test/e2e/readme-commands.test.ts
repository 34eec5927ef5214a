import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseToml } from 'smol-toml';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import {
  buildOverlay,
  cfnLint,
  emulateImage,
  type EmulatedImage,
  hadolint,
  readEnvFile,
  validateCloudRun,
  validateCompose,
  validateKubernetes,
} from './deploy-support.js';
import { CLI, DEFAULT_MAKE_TARGETS } from '../helpers.js';
import {
  type BackgroundProcess,
  freePort,
  run,
  spawnInBackground,
  startHttpProcess,
  UV,
} from './processes.js';
import { freshDatabase, newProject, workspaceMembers } from './projects.js';
import {
  actionlint,
  finalMessage,
  followFinalMessage,
  make,
  makeMigration,
  makeRecipe,
  makeTargets,
  preCommitAllFiles,
  runWorkflowJob,
} from './tooling-support.js';

/**
 * Every command in the fenced `bash`/`sh` blocks of every README.md of a generated project is run, in the
 * directory of its README, with the real PostgreSQL (a fresh database per database setting) and Redis:
 * one-shot commands must exit 0; servers are started, asked for /health and /health/ready over HTTP and
 * stopped; workers and consumers must start (their start line in the log) and stop cleanly on SIGTERM.
 * The commands that need what this machine does not have (a Docker engine, a cluster, a cloud account)
 * are listed in SUBSTITUTES with the reason and the closest check that does run here; a command that is in
 * neither group is run, so a README command that cannot run fails this test.
 *
 * Three projects cover the READMEs: tier 1 with agents, PostgreSQL, JWT, compose and Lambda; tier 2 with
 * Cloud Run; tier 3 with Kubernetes. Each is installed and checked once, by the checks job of its CI
 * workflow run here first (actionlint, then its steps in every member); a README command that is one of
 * those checks is not run again. The tier-2 and tier-3 projects then get the rest of their tooling tested:
 * pre-commit, the Makefile and the final message of `new` (the default project's is in tooling.test.ts).
 */
const PROJECTS: { name: string; flags: string[]; target: string; resources?: string[][] }[] = [
  {
    name: 'readme_one',
    flags: ['--agent-sdk', 'none', '--db', 'postgres', '--auth', 'jwt', '--deploy', 'serverless'],
    target: 'serverless',
    // Its README commands (migrations, make migration, the served app) meet resources too.
    resources: [
      ['Customer', '--field', 'name:str:120', '--field', 'email:str!'],
      [
        'Order',
        '--field',
        'total:decimal',
        '--field',
        'status:enum(new,paid,shipped)',
        '--belongs-to',
        'customer',
      ],
    ],
  },
  {
    name: 'readme_two',
    flags: ['--tier', '2', '--agent-sdk', 'none', '--deploy', 'cloudrun'],
    target: 'cloudrun',
  },
  {
    name: 'readme_three',
    flags: ['--tier', '3', '--agent-sdk', 'none', '--deploy', 'k8s'],
    target: 'k8s',
    // The README's own `add resource --service`: its service's commands (migrations, the served service, the
    // consumer) meet a resource with events and a read model.
    resources: [serviceResourceOfReadme()],
  },
];

/** The arguments of the package README's example of `fastapi-forge add resource ... --service <name>`. */
function serviceResourceOfReadme(): string[] {
  const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const example = readmeCommands(readme).find(
    ({ command }) => command.startsWith('fastapi-forge add resource ') && / --service /.test(command),
  );
  if (!example) throw new Error('README.md has no example of `fastapi-forge add resource --service`');
  // Words without quotes, as the example is written.
  return example.command.split(/\s+/).slice(3);
}

/** A Redis database of its own, so keys never meet those of other tests on this server. */
const REDIS_URL = process.env.README_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const DEPLOY_BIN = path.join(PACKAGE_ROOT, '.tools', 'deploy', 'bin');

export interface ReadmeCommand {
  /** 1-based line of the command's first line in the README. */
  line: number;
  command: string;
}

/** Cuts a shell comment (`#` at the start of a word, outside quotes) off a line. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let index = 0; index < line.length; index += 1) {
    const char = line[index];
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '#' && (index === 0 || /\s/.test(line[index - 1] ?? ''))) {
      return line.slice(0, index);
    }
  }
  return line;
}

/** The commands of the ```bash and ```sh blocks, with `\` continuations joined and comments removed. */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  const lines = markdown.split('\n');
  let inShell = false;
  let inOther = false;
  let pending: ReadmeCommand | undefined;
  lines.forEach((raw, index) => {
    const fence = /^\s*```(\S*)\s*$/.exec(raw);
    if (fence) {
      if (inShell || inOther) {
        if (pending) throw new Error(`line ${pending.line}: a continuation runs into the end of the block`);
        inShell = inOther = false;
      } else if (fence[1] === 'bash' || fence[1] === 'sh') inShell = true;
      else inOther = true;
      return;
    }
    if (!inShell) return;
    const text = stripComment(raw).trimEnd();
    const continued = text.endsWith('\\');
    const part = (continued ? text.slice(0, -1) : text).trim();
    if (pending) pending.command = `${pending.command} ${part}`.trim();
    else if (part) pending = { line: index + 1, command: part };
    if (!continued && pending) {
      commands.push(pending);
      pending = undefined;
    }
  });
  return commands;
}

/** `cd DIR && CMD` or `(cd DIR && CMD)`: the directory the command runs in, relative to its README. */
export function splitDirectory(command: string): { dir: string; command: string } {
  const match = /^\(cd (\S+) && (.+)\)$/.exec(command) ?? /^cd (\S+) && ([^()]+)$/.exec(command);
  return match ? { dir: match[1] ?? '.', command: match[2] ?? '' } : { dir: '.', command };
}

interface Context {
  project: string;
  /** The directory the command runs in. */
  cwd: string;
  command: string;
  env: Record<string, string>;
  images: Map<string, EmulatedImage>;
}

interface Substitute {
  pattern: RegExp;
  reason: string;
  /** What runs instead; returns a one-line account of it. */
  check: (context: Context) => Promise<string> | string;
  used: number;
}

/** The Dockerfile a `docker build` names (`-f FILE`, else ./Dockerfile), from the directory it runs in. */
function dockerfileOf(context: Context): string {
  const file = /\s-f\s+(\S+)/.exec(context.command)?.[1] ?? 'Dockerfile';
  return path.join(context.cwd, file);
}

/** The project's root image, built once per project by running the Dockerfile's steps. */
function rootImage(context: Context): EmulatedImage {
  const cached = context.images.get(context.project);
  if (cached) return cached;
  const image = emulateImage(context.project);
  context.images.set(context.project, image);
  return image;
}

/** `uv lock --check`: the lock file the image's `uv sync --locked` needs is there and current. */
function lockIsCurrent(project: string): void {
  const result = spawnSync(UV, ['lock', '--check'], { cwd: project, encoding: 'utf8' });
  expect(result.status, `uv lock --check in ${project}:\n${result.stdout}${result.stderr}`).to.equal(0);
}

async function probe(baseUrl: string): Promise<void> {
  for (const endpoint of ['/health', '/health/ready']) {
    const response = await fetch(`${baseUrl}${endpoint}`);
    expect(response.status, `${baseUrl}${endpoint}: ${await response.clone().text()}`).to.equal(200);
  }
}

/**
 * Commands this machine cannot run, why, and the closest check that runs instead. The test fails if an
 * entry matches no command (the table cannot outlive the READMEs).
 */
const SUBSTITUTES: Substitute[] = [
  {
    pattern: /^docker build\b/,
    reason: 'no Docker engine here',
    check: (context) => {
      const dockerfile = dockerfileOf(context);
      hadolint(dockerfile);
      lockIsCurrent(context.project);
      if (dockerfile !== path.join(context.project, 'Dockerfile'))
        return `hadolint ${dockerfile}, uv lock --check`;
      const image = rootImage(context);
      expect(existsSync(path.join(image.workdir, '.venv/bin/uvicorn'))).to.equal(true);
      return `hadolint, uv lock --check, the Dockerfile's steps run into ${image.workdir}`;
    },
    used: 0,
  },
  {
    pattern: /^docker push\b/,
    reason: 'no Docker engine or registry here',
    check: (context) => {
      hadolint(path.join(context.project, 'Dockerfile'));
      return 'hadolint Dockerfile (the image that would be pushed)';
    },
    used: 0,
  },
  {
    pattern: /^docker run\b/,
    reason: 'no Docker engine here',
    check: async (context) => {
      const image = rootImage(context);
      const port = await freePort();
      const envFile = /--env-file (\S+)/.exec(context.command)?.[1];
      const env = {
        ...image.env,
        ...(envFile ? readEnvFile(path.join(context.cwd, envFile)) : {}),
        ...context.env,
        // The image's own PATH: its virtualenv, where the ENTRYPOINT finds the CMD's program.
        PATH: image.env.PATH ?? '',
        UVICORN_HOST: '127.0.0.1',
        UVICORN_PORT: String(port),
      };
      // The ENTRYPOINT (the settings preflight) runs the CMD in its place, as in the container.
      const [command = '', ...args] = [...image.entrypoint, ...image.cmd];
      const binary = path.join(image.workdir, '.venv/bin', command);
      const server = await startHttpProcess(binary, args, {
        cwd: image.workdir,
        env,
        baseUrl: `http://127.0.0.1:${port}`,
      });
      try {
        await probe(server.baseUrl);
      } finally {
        await server.stop();
      }
      return `the image's ENTRYPOINT and CMD (${image.cmd.slice(0, 3).join(' ')}) from the emulated image, /health and /health/ready`;
    },
    used: 0,
  },
  {
    pattern: /^docker compose (up|down)\b/,
    reason: 'no Docker engine here',
    check: (context) => {
      validateCompose(path.join(context.project, 'docker-compose.yml'));
      return 'docker-compose.yml against the compose-spec schema';
    },
    used: 0,
  },
  {
    pattern: /^kubectl create namespace \S+$/,
    reason: 'no Kubernetes cluster here',
    check: (context) => {
      const result = spawnSync(
        path.join(DEPLOY_BIN, 'kubectl'),
        [...context.command.split(' ').slice(1), '--dry-run=client', '-o', 'yaml'],
        { cwd: context.cwd, encoding: 'utf8' },
      );
      expect(result.status, result.stderr).to.equal(0);
      expect(result.stdout).to.include('kind: Namespace');
      return `${context.command} --dry-run=client`;
    },
    used: 0,
  },
  {
    pattern: /^kubectl apply -k \S+$/,
    reason: 'no Kubernetes cluster here',
    check: (context) => {
      const overlay = path.join(context.cwd, context.command.split(' ')[3] ?? '');
      const resources = validateKubernetes([buildOverlay(overlay)]);
      expect(resources.length).to.be.greaterThan(0);
      return `kubectl kustomize ${path.relative(context.cwd, overlay)}, ${resources.length} resources validated (kubernetes-validate --strict)`;
    },
    used: 0,
  },
  {
    pattern: /^(printf .*\| )?gcloud (artifacts|run|secrets)\b/,
    reason: 'no Google Cloud account here',
    check: (context) => {
      validateCloudRun(path.join(context.project, 'deploy/cloudrun/service.yaml'));
      return 'deploy/cloudrun/service.yaml: Knative structure checks, its container as a Pod';
    },
    used: 0,
  },
  {
    pattern: /^sam deploy\b/,
    reason: 'no AWS account here',
    check: (context) => {
      cfnLint(path.join(context.project, 'deploy/serverless/template.yaml'));
      return 'cfn-lint deploy/serverless/template.yaml';
    },
    used: 0,
  },
];

/** Processes that serve until stopped, with how to tell they are up. */
const SERVER = /\buvicorn\b/;
const PROCESS = /\bpython -m \S+\.(worker|consumer)$/;
const STARTED: Record<string, string> = { worker: 'worker_started', consumer: 'stream_consumer_started' };

/** The same command on another port: the documented ones may be taken on a shared machine. */
function onPort(command: string, port: number): string {
  return /--port \d+/.test(command)
    ? command.replace(/--port \d+/, `--port ${port}`)
    : command.replace(/(uvicorn \S+ --factory)/, `$1 --port ${port}`);
}

async function runServer(context: Context): Promise<string> {
  const port = await freePort();
  const server = await startHttpProcess('bash', ['-c', onPort(context.command, port)], {
    cwd: context.cwd,
    env: { ...process.env, ...context.env },
    baseUrl: `http://127.0.0.1:${port}`,
  });
  try {
    await probe(server.baseUrl);
  } finally {
    await server.stop();
  }
  return `served on port ${port}: /health and /health/ready answered 200`;
}

async function runProcess(context: Context, kind: string): Promise<string> {
  const started = STARTED[kind] ?? '';
  // A consumer's probes listen on a port of their own, which may be taken on a shared machine too.
  const port = kind === 'consumer' ? { EVENTS_CONSUMER_PORT: String(await freePort()) } : {};
  const child: BackgroundProcess = spawnInBackground('bash', ['-c', `exec ${context.command}`], {
    cwd: context.cwd,
    env: { ...process.env, ...context.env, ...port },
    graceMs: 15_000,
  });
  const deadline = Date.now() + 60_000;
  while (!child.logs().includes(started)) {
    if (child.process.exitCode !== null) throw new Error(`${context.command} exited early:\n${child.logs()}`);
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`${context.command} did not log ${started} within 60 s:\n${child.logs()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // SIGTERM to the command itself, as `docker stop` or Kubernetes sends it (uv passes it on to Python).
  const exited = new Promise<number | null>((resolve) => child.process.once('exit', (code) => resolve(code)));
  process.kill(child.process.pid ?? 0, 'SIGTERM');
  const code = await Promise.race([
    exited,
    new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), 20_000)),
  ]);
  await child.stop();
  expect(code, `${context.command} on SIGTERM:\n${child.logs()}`).to.equal(0);
  return `logged ${started}, stopped on SIGTERM with exit 0`;
}

function runOnce(context: Context): string {
  const started = Date.now();
  const result = spawnSync('bash', ['-c', context.command], {
    cwd: context.cwd,
    env: { ...process.env, ...context.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // A project's whole pytest suite is one command: minutes on a busy machine.
    timeout: 10 * 60_000,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  expect(result.status, `\`${context.command}\` in ${context.cwd}:\n${output.slice(-4000)}`).to.equal(0);
  return `exit 0 in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

/**
 * The directory a README's commands run in: the nearest one with a pyproject.toml (the project, or a
 * workspace member). The deployment READMEs in deploy/ speak from the project root.
 */
function home(project: string, readme: string): string {
  let dir = path.dirname(readme);
  while (dir !== '.' && !existsSync(path.join(project, dir, 'pyproject.toml'))) dir = path.dirname(dir);
  return dir;
}

/** Every README.md of the project, the root one first (it installs), outside .venv and caches. */
function readmes(dir: string, relative = ''): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const child = path.join(relative, entry.name);
    if (entry.isDirectory()) found.push(...readmes(dir, child));
    else if (entry.name === 'README.md') found.push(child);
  }
  return found.sort((a, b) => a.split(path.sep).length - b.split(path.sep).length || a.localeCompare(b));
}

/** A command's place in the log of what ran: its directory (relative to the project) and the check it is. */
const commandKey = (dir: string, command: string, ciVariables: string[]): string =>
  `${path.normalize(dir)}\0${canonical(command, ciVariables)}`;

/**
 * A command as the check it runs, so the same check spelled another way in a README, a Makefile recipe or
 * the CI workflow counts as run: `uv run --no-sync X` is `uv run X` once the project is installed; ruff's
 * default path is `.`; `mypy --strict src tests` is what every member's [tool.mypy] says (the test checks
 * that); and a variable the CI job also sets (`REDIS_URL=... uv run pytest`) points at a server of the
 * same kind on this machine either way.
 */
export function canonical(command: string, ciVariables: string[]): string {
  let text = command.trim();
  for (
    let match = /^([A-Z_][A-Z0-9_]*)=\S+\s+/.exec(text);
    match;
    match = /^([A-Z_][A-Z0-9_]*)=\S+\s+/.exec(text)
  ) {
    if (!ciVariables.includes(match[1] ?? '')) break;
    text = text.slice(match[0].length);
  }
  return text
    .replace(/^uv run --no-sync /, 'uv run ')
    .replace(/^uv run (ruff check|ruff format --check)$/, 'uv run $1 .')
    .replace(/^uv run mypy --strict src tests$/, 'uv run mypy');
}

/** `[tool.mypy]` of a project or member: what lets `mypy` stand for `mypy --strict src tests`. */
function mypyConfig(dir: string): unknown {
  const pyproject = parseToml(readFileSync(path.join(dir, 'pyproject.toml'), 'utf8')) as {
    tool?: { mypy?: { strict?: unknown; files?: unknown } };
  };
  return { strict: pyproject.tool?.mypy?.strict, files: pyproject.tool?.mypy?.files };
}

interface ToolingRun {
  project: string;
  /** Where `new` ran, and what it printed. */
  parent: string;
  name: string;
  output: string;
  env: Record<string, string>;
  done: Map<string, string>;
  ciVariables: string[];
}

/**
 * A workspace's tooling besides its CI workflow (run first): pre-commit on every file; each Makefile target
 * that needs no Docker, run unless every command of its recipe already ran here (from a README or the
 * workflow: `make -n` shows them); and the final message of `new`, typed as it is, to a protected route.
 */
async function workspaceTooling(tooling: ToolingRun): Promise<string[]> {
  const { project, env, done, ciVariables } = tooling;
  const report: string[] = [];
  const message = finalMessage(tooling.output);
  expect(message).to.include('uv sync --all-packages');
  expect(tooling.output).to.not.match(/^\s*force\s/m);
  const hooks = preCommitAllFiles(project);
  report.push(`  pre-commit run --all-files\n      ${hooks.length} hooks passed: ${hooks.join(', ')}`);
  const targets = makeTargets(project, env);
  expect(targets).to.include.members([...DEFAULT_MAKE_TARGETS]);
  for (const target of targets) {
    let outcome: string;
    if (target === 'help') outcome = `listed ${targets.length} targets`;
    else if (target === 'up') outcome = 'not run (no Docker engine here); docker-compose.yml validated above';
    else if (target === 'dev') outcome = 'run by the final message below';
    else if (target === 'migration') {
      makeMigration(project, env);
      outcome = 'generated a migration (then removed it); without m= it exits 2 with a hint';
    } else if (target === 'format') {
      make(project, env, target);
      expect(run('git', ['diff', '--name-only'], project).output, 'make format changed files').to.equal('');
      outcome = 'changed no file';
    } else if (target === 'hooks') {
      make(project, env, target);
      expect(existsSync(path.join(project, '.git/hooks/pre-commit'))).to.equal(true);
      outcome = 'installed .git/hooks/pre-commit';
    } else {
      const recipe = makeRecipe(project, env, target);
      const already = recipe.map((step) => done.get(commandKey(step.dir, step.command, ciVariables)));
      if (already.every(Boolean)) {
        outcome = `already run, ${recipe.length === 1 ? 'its command' : `its ${recipe.length} commands`}: ${[...new Set(already)].join('; ')}`;
      } else if (target === 'worker') {
        // A server or worker never ends by itself: its command must be one a README started and stopped.
        throw new Error(`make ${target} runs what no README ran: ${JSON.stringify(recipe)}`);
      } else {
        make(project, env, target);
        outcome = 'exit 0';
      }
    }
    report.push(`  make ${target}\n      ${outcome}`);
  }
  await followFinalMessage(tooling.parent, tooling.name, message);
  report.push(
    `  the final message of new (${message.length} lines), typed as it is\n      /users/me answered alice`,
  );
  console.log(
    '      not exercised here: make up (docker compose) and the image job of ci.yml, no Docker engine',
  );
  return report;
}

describe('README commands of generated projects', function () {
  const images = new Map<string, EmulatedImage>();
  const databases: { drop: () => void }[] = [];

  after(() => {
    for (const database of databases) database.drop();
  });

  it('extracts commands: continuations, comments, only bash and sh blocks', () => {
    const markdown = [
      '```bash',
      'uv sync   # install',
      '# a comment line',
      'ENVIRONMENT=production uv run uvicorn app:create_app \\',
      '    --port 8000 --workers 4',
      "echo '# not a comment'",
      '```',
      '```json',
      '{"a": 1}',
      '```',
      '```sh',
      '(cd services/orders && uv run pytest)',
      '```',
    ].join('\n');
    expect(readmeCommands(markdown)).to.deep.equal([
      { line: 2, command: 'uv sync' },
      { line: 4, command: 'ENVIRONMENT=production uv run uvicorn app:create_app --port 8000 --workers 4' },
      { line: 6, command: "echo '# not a comment'" },
      { line: 12, command: '(cd services/orders && uv run pytest)' },
    ]);
    expect(splitDirectory('(cd services/orders && uv run pytest)')).to.deep.equal({
      dir: 'services/orders',
      command: 'uv run pytest',
    });
    expect(splitDirectory('cd gateway && uv run uvicorn a:b --factory')).to.deep.equal({
      dir: 'gateway',
      command: 'uv run uvicorn a:b --factory',
    });
    expect(onPort('uv run uvicorn a.main:create_app --factory --reload', 9)).to.equal(
      'uv run uvicorn a.main:create_app --factory --port 9 --reload',
    );
    // The same check, whoever spells it: a README, a Makefile recipe, the CI workflow.
    const ci = ['REDIS_URL', 'TEST_DATABASE_URL'];
    for (const [readme, workflow] of [
      ['uv run ruff check', 'uv run --no-sync ruff check .'],
      ['uv run ruff format --check', 'uv run --no-sync ruff format --check .'],
      ['uv run mypy --strict src tests', 'uv run --no-sync mypy'],
      ['REDIS_URL=redis://127.0.0.1:6379/0 uv run pytest', 'uv run --no-sync pytest'],
    ]) {
      expect(canonical(readme ?? '', ci)).to.equal(canonical(workflow ?? '', ci));
    }
    // Not the same: another variable, another path, other options.
    expect(canonical('ENVIRONMENT=production uv run pytest', ci)).to.not.equal(
      canonical('uv run pytest', ci),
    );
    expect(canonical('uv run ruff check src', ci)).to.not.equal(canonical('uv run ruff check .', ci));
    expect(canonical('uv run mypy --strict src', ci)).to.not.equal(canonical('uv run mypy', ci));
  });

  for (const spec of PROJECTS) {
    it(`runs every README command of new ${spec.flags.join(' ')}`, async function () {
      this.timeout(25 * 60_000);
      const started = Date.now();
      const created = newProject(spec.name, spec.flags);
      const project = created.dir;
      for (const args of spec.resources ?? []) {
        run(process.execPath, [CLI, 'add', 'resource', ...args, '--yes', '--skip-install'], project);
      }
      const config = JSON.parse(readFileSync(path.join(project, '.yo-rc.json'), 'utf8')) as {
        'generator-fastapi-forge': { services: string[]; packageName: string };
      };
      const { services, packageName } = config['generator-fastapi-forge'];
      const env: Record<string, string> = {
        PATH: `${path.dirname(UV)}:${DEPLOY_BIN}:${process.env.PATH ?? ''}`,
        REDIS_URL,
        // Keys, queues and streams of this run only.
        RATE_LIMIT_PREFIX: `${spec.name}-${randomBytes(4).toString('hex')}`,
        EVENTS_PREFIX: `${spec.name}-${randomBytes(4).toString('hex')}`,
        AGENT_QUEUE_NAME: `${spec.name}-${randomBytes(4).toString('hex')}`,
        JWT_SECRET: randomBytes(32).toString('hex'),
        AGENT_QUEUE_SIGNING_SECRET: randomBytes(32).toString('hex'),
      };
      for (const setting of services.map((name) => `${name.toUpperCase()}_DATABASE_URL`)) {
        const database = freshDatabase(`readme_${packageName}`);
        databases.push(database);
        env[setting] = database.url;
      }
      // The project's own service only, as its .env would hold it: a service reads its own
      // <NAME>_DATABASE_URL, and would also take DATABASE_URL from its environment.
      const rootDatabase = freshDatabase(`readme_${packageName}`);
      databases.push(rootDatabase);
      delete process.env.VIRTUAL_ENV;

      const files = readmes(project);
      const expected = ['README.md', 'deploy/README.md', `deploy/${spec.target}/README.md`];
      if (services.length > 0) {
        expected.push(
          'libs/README.md',
          'gateway/README.md',
          ...services.map((name) => `services/${name}/README.md`),
        );
      }
      expect(files).to.include.members(expected);

      // The CI workflow's checks job, as the runner runs it: it installs the project and checks every
      // member; the README commands that are the same checks count as run.
      actionlint(project);
      const members = ['.', ...workspaceMembers(project)];
      for (const member of members) {
        expect(mypyConfig(path.join(project, member)), member).to.deep.equal({
          strict: true,
          files: ['src', 'tests'],
        });
      }
      const testDatabase = freshDatabase(`readme_${packageName}`);
      databases.push(testDatabase);
      const job = runWorkflowJob(project, 'checks', {
        PATH: env.PATH ?? '',
        REDIS_URL,
        TEST_DATABASE_URL: testDatabase.url,
      });
      const ciVariables = Object.keys(job.env);
      const done = new Map<string, string>();
      const report: string[] = [];
      for (const step of job.steps) {
        done.set(
          commandKey(step.member, step.command, ciVariables),
          `ci.yml "${step.name}" in ${step.member}`,
        );
        report.push(`  ci.yml "${step.name}" in ${step.member}: ${step.command}\n      exit 0`);
      }
      console.log(`    ${spec.name}/ci.yml: ${job.steps.length} steps in ${members.length} members`);
      for (const readme of files) {
        const commands = readmeCommands(readFileSync(path.join(project, readme), 'utf8'));
        const counts = { run: 0, served: 0, substituted: 0, repeated: 0 };
        for (const { line, command: full } of commands) {
          const split = splitDirectory(full);
          const cwd = path.resolve(project, home(project, readme), split.dir);
          const keys = split.command
            .split(' && ')
            .map((part) => commandKey(path.relative(project, cwd) || '.', part, ciVariables));
          const where = `${readme}:${line}`;
          if (keys.every((key) => done.has(key))) {
            counts.repeated += 1;
            const earlier = [...new Set(keys.map((key) => done.get(key)))].join('; ');
            report.push(`  ${where}  ${full}\n      already run in the same directory: ${earlier}`);
            continue;
          }
          const here = cwd === project ? { ...env, DATABASE_URL: rootDatabase.url } : env;
          const context: Context = { project, cwd, command: split.command, env: here, images };
          const substitute = SUBSTITUTES.find((entry) => entry.pattern.test(split.command));
          const kind = PROCESS.exec(split.command)?.[1];
          let outcome: string;
          try {
            if (substitute) {
              substitute.used += 1;
              counts.substituted += 1;
              outcome = `not run (${substitute.reason}); instead: ${await substitute.check(context)}`;
            } else if (kind) {
              counts.served += 1;
              outcome = await runProcess(context, kind);
            } else if (SERVER.test(split.command)) {
              counts.served += 1;
              outcome = await runServer(context);
            } else {
              counts.run += 1;
              outcome = runOnce(context);
            }
          } catch (error) {
            throw new Error(`${spec.name}/${where}: ${full}\n${(error as Error).message}`);
          }
          for (const key of keys) done.set(key, where);
          report.push(`  ${where}  ${full}\n      ${outcome}`);
        }
        console.log(
          `    ${spec.name}/${readme}: ${commands.length} commands: ${counts.run} run, ${counts.served} served, ` +
            `${counts.substituted} substituted, ${counts.repeated} already run`,
        );
      }
      if (services.length > 0) {
        const toolingStarted = Date.now();
        const tooling = await workspaceTooling({
          project,
          parent: created.parent,
          name: spec.name,
          output: created.output,
          env: { ...env, DATABASE_URL: rootDatabase.url },
          done,
          ciVariables,
        });
        report.push(...tooling);
        console.log(
          `    ${spec.name}: pre-commit, the Makefile and the final message in ${((Date.now() - toolingStarted) / 1000).toFixed(0)} s`,
        );
      }
      console.log(report.join('\n'));
      console.log(`    ${spec.name}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
      expect(done.size).to.be.greaterThan(5);
    });
  }

  it('uses every entry of the table of commands not run here', () => {
    const unused = SUBSTITUTES.filter((entry) => entry.used === 0).map((entry) => String(entry.pattern));
    expect(unused, 'entries that match no README command').to.deep.equal([]);
  });
});
