import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHmac, createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { createServer, get as httpGet, type Server } from 'node:http';
import { createServer as createHttpsServer, get as httpsGet } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
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
 * `new NAME --yes --skip-install FLAGS` through the real CLI, in a fresh directory: the project's directory,
 * the one `new` ran in, and what `new` printed (its final message included).
 */
export function newProject(name: string, flags: string[]): { parent: string; dir: string; output: string } {
  const parent = makeTempDir('e2e');
  const { output } = run(process.execPath, [CLI, 'new', name, '--yes', '--skip-install', ...flags], parent);
  return { parent, dir: path.join(parent, name), output };
}

/** Generates a project through the real CLI and returns its directory. */
export const generateProject = (name: string, flags: string[]): string => newProject(name, flags).dir;

/**
 * The checks every generated project must pass on the day it is generated. Returns pytest's summary line.
 * Nothing may be skipped: the services the tests need run on this machine and are passed in `env`.
 * `toolEnv` applies to every step, e.g. a virtualenv and mypy cache shared by many projects
 * ({@link sharedToolEnv}).
 */
export function verifyProject(
  dir: string,
  env: Record<string, string> = {},
  toolEnv: Record<string, string> = {},
): string {
  run(UV, ['sync', '--quiet'], dir, toolEnv);
  return verifyMember(dir, env, toolEnv);
}

/**
 * Installs a generated project (every member of a workspace) for a test that serves it or runs its tools.
 * The lint, type and test checks of each shape of project run once, in the option matrix (every value of
 * every option), the README commands and the growth tests; files that exercise behaviour only install.
 */
export function installProject(dir: string, toolEnv: Record<string, string> = {}): void {
  const all = workspaceMembers(dir).length > 0 ? ['--all-packages'] : [];
  run(UV, ['sync', '--quiet', ...all], dir, toolEnv);
}

/** The members of a uv workspace (a tier-2 project), from its root pyproject.toml; none for a single project. */
export function workspaceMembers(dir: string): string[] {
  const pyproject = parseToml(readFileSync(path.join(dir, 'pyproject.toml'), 'utf8')) as {
    tool?: { uv?: { workspace?: { members?: string[] } } };
  };
  return pyproject.tool?.uv?.workspace?.members ?? [];
}

/**
 * ruff, mypy --strict and pytest of an installed project, or of one workspace member (installed with
 * `uv sync --all-packages`). Returns pytest's summary line.
 */
export function verifyMember(
  dir: string,
  env: Record<string, string>,
  toolEnv: Record<string, string> = {},
): string {
  run(UV, ['run', '--no-sync', 'ruff', 'check', '.'], dir, toolEnv);
  run(UV, ['run', '--no-sync', 'ruff', 'format', '--check', '.'], dir, toolEnv);
  run(UV, ['run', '--no-sync', 'mypy', '--strict', 'src', 'tests'], dir, toolEnv);
  const pytest = run(UV, ['run', '--no-sync', 'pytest', '-q', '-p', 'no:cacheprovider'], dir, {
    ...toolEnv,
    ...env,
  });
  const summary = pytest.output.trim().split('\n').pop() ?? '';
  if (!/\d+ passed/.test(summary) || /failed|error|skipped/.test(summary)) {
    throw new Error(`unexpected pytest summary in ${dir}: ${summary}`);
  }
  return summary;
}

/**
 * One virtualenv and one mypy cache for many projects verified one after the other: `uv sync` makes the
 * virtualenv exactly the project's locked dependencies (it removes what another project left), and mypy
 * re-checks only what changed, so the dependencies the projects share are type-checked once.
 * A project's server must be stopped before the next project is synced into the same virtualenv.
 */
export function sharedToolEnv(): Record<string, string> {
  const root = makeTempDir('shared-venv');
  return { UV_PROJECT_ENVIRONMENT: path.join(root, 'venv'), MYPY_CACHE_DIR: path.join(root, 'mypy-cache') };
}

/** The local PostgreSQL server, as a libpq URL (`TEST_POSTGRES_URL` overrides it). */
export const POSTGRES_SERVER = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** A fresh database on the local PostgreSQL server, as an asyncpg URL; `drop` removes it. */
export function freshDatabase(prefix: string): { name: string; url: string; drop: () => void } {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const server = new URL(POSTGRES_SERVER);
  run('psql', [POSTGRES_SERVER, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`], process.cwd());
  return {
    name,
    url: `postgresql+asyncpg://${server.username}@${server.host}/${name}`,
    drop: () =>
      run('psql', [POSTGRES_SERVER, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], process.cwd()),
  };
}

/**
 * `alembic upgrade head` of a workspace service on its database, as its one-shot compose service or its
 * migration Job runs it: a service never changes the schema of a real database itself.
 */
export function migrateService(project: string, service: string, databaseUrl: string): void {
  run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], path.join(project, 'services', service), {
    [`${service.toUpperCase()}_DATABASE_URL`]: databaseUrl,
  });
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

function unusedPort(): Promise<number> {
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

/** The fake provider API each SDK talks to, from the generated project's own tests. */
export const FAKE_PROVIDERS: Record<
  string,
  // `apiPath`: what the SDK expects at the end of its base URL.
  { module: string; cls: string; key: string; keyEnv: string; urlEnv: string; apiPath: string }
> = {
  anthropic: {
    module: 'tests.fake_anthropic',
    cls: 'FakeAnthropic',
    key: 'tests-only-anthropic-key',
    keyEnv: 'ANTHROPIC_API_KEY',
    urlEnv: 'ANTHROPIC_BASE_URL',
    apiPath: '',
  },
  openai: {
    module: 'tests.fake_openai',
    cls: 'FakeOpenAI',
    key: 'tests-only-openai-key',
    keyEnv: 'OPENAI_API_KEY',
    urlEnv: 'OPENAI_BASE_URL',
    apiPath: '/v1',
  },
};
export const PROVIDER_API: Record<string, string> = {
  anthropic: 'anthropic',
  langgraph: 'anthropic',
  'claude-agent-sdk': 'anthropic',
  openai: 'openai',
  crewai: 'openai',
};

/**
 * Runs a generated project's fake provider API (from its tests) as its own process on a free loopback port,
 * and returns the settings that point the project's SDK at it.
 */
export async function startFakeProvider(
  dir: string,
  sdk: string,
  toolEnv: Record<string, string> = {},
): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const fake = FAKE_PROVIDERS[PROVIDER_API[sdk] ?? ''];
  if (!fake) throw new Error(`no fake provider for ${sdk}`);
  const port = await freePort();
  const script = [
    'import uvicorn',
    `from ${fake.module} import ${fake.cls}`,
    `uvicorn.run(${fake.cls}().app, host="127.0.0.1", port=${port}, log_level="warning")`,
  ].join('\n');
  const { stop, logs } = spawnInBackground(UV, ['run', '--no-sync', 'python', '-c', script], {
    cwd: dir,
    env: { ...process.env, ...toolEnv },
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      await fetch(url);
      return {
        env: { [fake.keyEnv]: fake.key, [fake.urlEnv]: `${url}${fake.apiPath}`, AGENT_PROVIDER: sdk },
        stop,
      };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  await stop();
  throw new Error(`the fake ${PROVIDER_API[sdk]} API did not start:\n${logs()}`);
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

/** A self-signed certificate for 127.0.0.1, made for this run; `certFile` is the CA bundle that trusts it. */
export interface LoopbackCertificate {
  keyFile: string;
  certFile: string;
}

export function makeLoopbackCertificate(): LoopbackCertificate {
  const dir = makeTempDir('loopback-tls');
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  // The address in subjectAltName: clients check it against the host they connected to.
  run(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ]),
    dir,
  );
  return { keyFile, certFile };
}

/**
 * A tiny OpenID provider on loopback: discovery and JWKS over https, nothing else, with one RSA key.
 * The served app trusts its certificate as a deployment trusts a private CA: SSL_CERT_FILE=caFile.
 */
export interface FakeIdentityProvider {
  issuer: string;
  caFile: string;
  /** The key id and public key the JWKS publishes (e.g. for algorithm-confusion attacks). */
  kid: string;
  publicKeyPem: string;
  sign: (claims: Record<string, unknown>) => string;
  close: () => Promise<void>;
}

export async function startFakeIdentityProvider(): Promise<FakeIdentityProvider> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `e2e-${randomBytes(4).toString('hex')}`;
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
  const port = await freePort();
  const issuer = `https://127.0.0.1:${port}`;
  const certificate = makeLoopbackCertificate();
  const tls = { key: readFileSync(certificate.keyFile), cert: readFileSync(certificate.certFile) };
  const server: Server = createHttpsServer(tls, (request, response) => {
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
    caFile: certificate.certFile,
    kid,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    sign: (claims) => signJwt({ iss: issuer, ...claims }, { privateKey, kid }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  attributes: Record<string, string>;
}

/** Parses /metrics with prometheus_client's parser, in the project's own virtualenv. */
export const PARSE_METRICS = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
print(json.dumps([
    {"name": s.name, "labels": s.labels, "value": s.value}
    for family in text_string_to_metric_families(sys.stdin.read())
    for s in family.samples
]))
`;

/** Decodes OTLP/HTTP protobuf bodies (files named on the command line) with opentelemetry-proto. */
export const DECODE_OTLP = `
import json, sys
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
spans = []
for name in sys.argv[1:]:
    with open(name, "rb") as f:
        request = ExportTraceServiceRequest.FromString(f.read())
    for resource_spans in request.resource_spans:
        service = next((a.value.string_value for a in resource_spans.resource.attributes
                        if a.key == "service.name"), "")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append({
                    "service": service,
                    "traceId": span.trace_id.hex(),
                    "spanId": span.span_id.hex(),
                    "parentSpanId": span.parent_span_id.hex(),
                    "name": span.name,
                    "kind": Span.SpanKind.Name(span.kind),
                    "attributes": {a.key: str(getattr(a.value, a.value.WhichOneof("value")))
                                   for a in span.attributes if a.value.WhichOneof("value")},
                })
print(json.dumps(spans))
`;

/** Runs `script` with the project's Python (its virtualenv) and parses what it prints as JSON. */
export function projectPython<T>(dir: string, script: string, args: string[] = [], input?: string): T {
  const result = spawnSync(UV, ['run', '--no-sync', 'python', '-c', script, ...args], {
    cwd: dir,
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A tiny OTLP/HTTP receiver on loopback: keeps every POST /v1/traces body, answers 200. */
export class OtlpReceiver {
  readonly bodies: Buffer[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    const port = await freePort();
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const ok =
          request.method === 'POST' &&
          request.url === '/v1/traces' &&
          request.headers['content-type'] === 'application/x-protobuf';
        if (ok) this.bodies.push(Buffer.concat(chunks));
        response.writeHead(ok ? 200 : 404, { 'content-type': 'application/x-protobuf' });
        response.end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Every span received so far, decoded by the project's Python. */
  spans(dir: string): ExportedSpan[] {
    const folder = makeTempDir('otlp');
    const files = this.bodies.map((body, index) => {
      const file = path.join(folder, `${index}.bin`);
      writeFileSync(file, body);
      return file;
    });
    return files.length === 0 ? [] : projectPython<ExportedSpan[]>(dir, DECODE_OTLP, files);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
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
