/**
 * Stand-ins for what cannot be had on this machine: LLM provider APIs, an OpenID provider and an OTLP
 * receiver, with the JWTs and certificates a run makes for them.
 */
import { createHmac, createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir } from '../helpers.js';
import { UV, freePort, run, spawnInBackground } from './processes.js';
import { DECODE_OTLP, type ExportedSpan, projectPython } from './projects.js';

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
