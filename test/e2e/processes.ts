/**
 * Child processes of the end-to-end tests: commands run to completion, servers and workers in the
 * background, free ports, and requests to a served project.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { makeTempDir } from '../helpers.js';

/** uv: $UV_BIN, else the copy `scripts/setup.sh` installs, else the one on PATH. */
export const UV =
  process.env.UV_BIN ??
  (existsSync(path.join(PACKAGE_ROOT, '.tools/python/bin/uv'))
    ? path.join(PACKAGE_ROOT, '.tools/python/bin/uv')
    : 'uv');

/**
 * One mypy cache for every project this test process checks, inherited by each child process (a
 * project's checks, its README commands, its CI steps and hooks). mypy keys its cache by module and
 * checks each entry against the source file's hash, so what the projects share (their installed
 * dependencies, most of mypy's work) is type-checked once per process instead of once per project, and
 * any module whose source differs is checked again. Mocha's parallel workers each have their own, so
 * one process at a time writes to it.
 */
process.env.MYPY_CACHE_DIR ??= makeTempDir(`mypy-cache-${process.pid}`);

export interface CommandResult {
  status: number | null;
  output: string;
}

/** The longest any single command of the tests may take. */
const COMMAND_TIMEOUT_MS = 15 * 60_000;

/** Runs a command to completion; throws with its output when it fails, so a failing step explains itself. */
export function run(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): CommandResult {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...cleanEnv(), ...env },
    maxBuffer: 64 * 1024 * 1024,
    // A synchronous child blocks mocha's own timeouts: a hung one (a test waiting forever) is killed.
    timeout: COMMAND_TIMEOUT_MS,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) {
    throw new Error(
      `could not run ${command} ${args.join(' ')} in ${cwd}: ${result.error.message}\n${output}`,
    );
  }
  if (result.status !== 0) {
    throw new Error(`\`${command} ${args.join(' ')}\` failed in ${cwd} (exit ${result.status}):\n${output}`);
  }
  return { status: result.status, output };
}

/** The environment for child processes, without a virtualenv of the caller leaking in. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.VIRTUAL_ENV;
  return env;
}

/**
 * A loopback port nothing listens on, never handed out before in this test run. Test files run side by
 * side in parallel worker processes: between this call and the server binding the port, the kernel could
 * give the same free port to another worker. So each port handed out is claimed with a file created
 * exclusively in a directory the workers of one run share (named after the mocha process).
 */
export async function freePort(): Promise<number> {
  const claims = path.join(tmpdir(), `forge-test-ports-${process.ppid}`);
  mkdirSync(claims, { recursive: true });
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = await unusedPort();
    try {
      closeSync(openSync(path.join(claims, String(port)), 'wx'));
      return port;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error('no loopback port left that this test run has not handed out');
}

/**
 * FORGE_PORT_RANGE=first-last hands out ports of that range only, in order (the bench sets one, so its
 * servers are found on known ports and never meet the kernel's ephemeral ports wrk's connections use);
 * otherwise any port the kernel gives.
 */
const PORT_RANGE = /^(\d+)-(\d+)$/.exec(process.env.FORGE_PORT_RANGE ?? '');
let nextInRange = Number(PORT_RANGE?.[1] ?? 0);

async function unusedPort(): Promise<number> {
  if (!PORT_RANGE) return listenOn(0);
  while (nextInRange <= Number(PORT_RANGE[2])) {
    const port = nextInRange++;
    try {
      return await listenOn(port);
    } catch {
      // Taken by something else: the next one.
    }
  }
  throw new Error(`no free port left in FORGE_PORT_RANGE=${process.env.FORGE_PORT_RANGE}`);
}

/** Binds `port` on loopback (0: one the kernel picks) and frees it again; its number. */
function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface RunningServer {
  baseUrl: string;
  process: ChildProcess;
  logs: () => string;
  /** Where its output goes, for a tool that reads the log itself. */
  logFile: string;
  stop: () => Promise<void>;
}

/** Starts the generated app with uvicorn on a free loopback port and waits until /health answers. */
export async function startServer(
  dir: string,
  packageName: string,
  env: Record<string, string>,
  extraArgs: string[] = [],
): Promise<RunningServer> {
  const port = await freePort();
  // `pkg` means the generated `pkg.main:create_app`; `module:factory` is taken as it is.
  const target = packageName.includes(':') ? packageName : `${packageName}.main:create_app`;
  const args = ['run', '--no-sync', 'uvicorn', target, '--factory'];
  return startHttpProcess(UV, [...args, '--host', '127.0.0.1', '--port', String(port), ...extraArgs], {
    cwd: dir,
    env: { ...cleanEnv(), ...env },
    baseUrl: `http://127.0.0.1:${port}`,
  });
}

export interface BackgroundProcess {
  process: ChildProcess;
  logs: () => string;
  logFile: string;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves when it has exited. */
  stop: () => Promise<void>;
  /** Set when the command could not be started at all. */
  spawnError: () => Error | undefined;
}

/**
 * Starts a command in its own process group with exactly `env`. Output goes to a file, not a pipe:
 * a busy process never waits for the test to read it.
 */
/** Sends `signal` to a process group; false once no process of the group is left. */
function signalGroup(group: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(group, signal);
    return true;
  } catch {
    return false;
  }
}

export function spawnInBackground(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; graceMs?: number },
): BackgroundProcess {
  const logFile = path.join(makeTempDir('process-log'), 'output.log');
  const output = openSync(logFile, 'w');
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', output, output],
    detached: true,
  });
  closeSync(output);
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  // The whole process group, also once its leader has exited: a shell that started `make dev &` ends
  // before the server it left running.
  const stop = async (): Promise<void> => {
    if (child.pid === undefined) return;
    const group = -child.pid;
    if (!signalGroup(group, 'SIGTERM')) return;
    const deadline = Date.now() + (options.graceMs ?? 10_000);
    while (signalGroup(group, 0) && Date.now() < deadline) await sleep(100);
    signalGroup(group, 'SIGKILL');
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => child.once('exit', resolve));
    }
  };
  return {
    process: child,
    logs: () => readFileSync(logFile, 'utf8'),
    logFile,
    stop,
    spawnError: () => spawnError,
  };
}

/** Whether GET `url` answers 2xx; `ca` is the certificate an https server is trusted by. */
function answersOk(url: string, ca?: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const request = get(url, { ca }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 300);
    });
    request.on('error', () => resolve(false));
    request.setTimeout(5000, () => request.destroy());
  });
}

/**
 * Starts a server process with {@link spawnInBackground} and waits until `/health` at `baseUrl` answers;
 * `ca` trusts the certificate of a server on https.
 */
export async function startHttpProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; baseUrl: string; ca?: Buffer },
): Promise<RunningServer> {
  const { baseUrl } = options;
  const { process: child, logs, logFile, stop, spawnError } = spawnInBackground(command, args, options);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const error = spawnError();
    if (error) throw new Error(`could not start ${command}: ${error.message}`);
    if (child.exitCode !== null) throw new Error(`server exited early:\n${logs()}`);
    if (await answersOk(`${baseUrl}/health`, options.ca))
      return { baseUrl, process: child, logs, logFile, stop };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(`server did not answer /health within 60 s:\n${logs()}`);
}

export interface Worker {
  logs: () => string;
  stop: () => Promise<void>;
}

/** `python -m <package>.worker`, as a deployment runs it; resolves once it is consuming the queue. */
export async function startWorker(
  dir: string,
  packageName: string,
  env: Record<string, string>,
): Promise<Worker> {
  const {
    process: child,
    logs,
    stop,
  } = spawnInBackground(UV, ['run', '--no-sync', 'python', '-m', `${packageName}.worker`], {
    cwd: dir,
    env: { ...process.env, ...env },
    graceMs: 15_000,
  });
  const deadline = Date.now() + 60_000;
  while (!logs().includes('worker_started')) {
    if (child.exitCode !== null) throw new Error(`the worker exited early:\n${logs()}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the worker did not start within 60 s:\n${logs()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { logs, stop };
}

/** One request with an optional JSON body to a served project; the answer's body is read as JSON. */
export async function requestJson(
  server: RunningServer,
  method: string,
  route: string,
  headers: Record<string, string>,
  body?: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${server.baseUrl}${route}`, {
    method,
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  // Some answers (204, a HEAD) have no body.
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: response.headers,
  };
}

const YO = path.join(PACKAGE_ROOT, 'node_modules', '.bin', 'yo');

/** `yo` refuses to work as root, so when the tests run as root, yo runs as the first regular user. */
export function yoCommand(args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [YO, args];
  const quoted = [YO, ...args].map((arg) => `'${arg.replace(/'/g, "'\\''")}'`).join(' ');
  return ['su', ['-s', '/bin/sh', '-c', quoted, regularUser()]];
}

function regularUser(): string {
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const entry = passwd.split('\n').find((line) => line.split(':')[2] === '1000');
  if (!entry) throw new Error('running as root and no user with uid 1000 exists to run yo as');
  return entry.split(':')[0] ?? '';
}
