import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHmac, createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { CLI, makeTempDir } from '../helpers.js';

/** uv: $UV_BIN, else the copy `scripts/setup.sh` installs, else the one on PATH. */
export const UV =
  process.env.UV_BIN ??
  (existsSync(path.join(PACKAGE_ROOT, '.tools/python/bin/uv'))
    ? path.join(PACKAGE_ROOT, '.tools/python/bin/uv')
    : 'uv');

export interface CommandResult {
  status: number | null;
  output: string;
}

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
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) throw new Error(`could not run ${command}: ${result.error.message}`);
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

/** Generates a project through the real CLI and returns its directory. */
export function generateProject(name: string, flags: string[]): string {
  const parent = makeTempDir('e2e');
  run(process.execPath, [CLI, 'new', name, '--yes', '--skip-install', ...flags], parent);
  return `${parent}/${name}`;
}

/**
 * The checks every generated project must pass on the day it is generated. Returns pytest's summary line.
 * Nothing may be skipped: the services the tests need run on this machine and are passed in `env`.
 */
export function verifyProject(dir: string, env: Record<string, string> = {}): string {
  run(UV, ['sync', '--quiet'], dir);
  run(UV, ['run', '--no-sync', 'ruff', 'check', '.'], dir);
  run(UV, ['run', '--no-sync', 'ruff', 'format', '--check', '.'], dir);
  run(UV, ['run', '--no-sync', 'mypy', '--strict', 'src', 'tests'], dir);
  const pytest = run(UV, ['run', '--no-sync', 'pytest', '-q', '-p', 'no:cacheprovider'], dir, env);
  const summary = pytest.output.trim().split('\n').pop() ?? '';
  if (!/\d+ passed/.test(summary) || /failed|error|skipped/.test(summary)) {
    throw new Error(`unexpected pytest summary in ${dir}: ${summary}`);
  }
  return summary;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface RunningServer {
  baseUrl: string;
  process: ChildProcess;
  logs: () => string;
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
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves when it has exited. */
  stop: () => Promise<void>;
  /** Set when the command could not be started at all. */
  spawnError: () => Error | undefined;
}

/**
 * Starts a command in its own process group with exactly `env`. Output goes to a file, not a pipe:
 * a busy process never waits for the test to read it.
 */
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
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGTERM');
    const timer = setTimeout(
      () => child.pid && process.kill(-child.pid, 'SIGKILL'),
      options.graceMs ?? 10_000,
    );
    await exited;
    clearTimeout(timer);
  };
  return { process: child, logs: () => readFileSync(logFile, 'utf8'), stop, spawnError: () => spawnError };
}

/** Starts a server process with {@link spawnInBackground} and waits until `/health` at `baseUrl` answers. */
export async function startHttpProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; baseUrl: string },
): Promise<RunningServer> {
  const { baseUrl } = options;
  const { process: child, logs, stop, spawnError } = spawnInBackground(command, args, options);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const error = spawnError();
    if (error) throw new Error(`could not start ${command}: ${error.message}`);
    if (child.exitCode !== null) throw new Error(`server exited early:\n${logs()}`);
    try {
      const response = await fetch(`${baseUrl}/health`);
      if (response.ok) return { baseUrl, process: child, logs, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(`server did not answer /health within 60 s:\n${logs()}`);
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** Signs a JWT with HS256 (the generated project's default) or RS256, independently of the project's code. */
export function signJwt(
  claims: Record<string, unknown>,
  key: { secret: string } | { privateKey: KeyObject; kid: string },
): string {
  const header = 'secret' in key ? { alg: 'HS256', typ: 'JWT' } : { alg: 'RS256', typ: 'JWT', kid: key.kid };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature =
    'secret' in key
      ? createHmac('sha256', key.secret).update(signingInput).digest()
      : createSign('RSA-SHA256').update(signingInput).sign(key.privateKey);
  return `${signingInput}.${base64url(signature)}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export const randomSecret = (): string => randomBytes(32).toString('hex');

/** A tiny OpenID provider on loopback: discovery and JWKS, nothing else, with one RSA key. */
export interface FakeIdentityProvider {
  issuer: string;
  sign: (claims: Record<string, unknown>) => string;
  close: () => Promise<void>;
}

export async function startFakeIdentityProvider(): Promise<FakeIdentityProvider> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `e2e-${randomBytes(4).toString('hex')}`;
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const server: Server = createServer((request, response) => {
    const body =
      request.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/jwks.json`, id_token_signing_alg_values_supported: ['RS256'] }
        : request.url === '/jwks.json'
          ? { keys: [jwk] }
          : undefined;
    response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body ?? { detail: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    sign: (claims) => signJwt({ iss: issuer, ...claims }, { privateKey, kid }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
