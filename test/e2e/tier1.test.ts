import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  type FakeIdentityProvider,
  nowSeconds,
  randomSecret,
  signJwt,
  startFakeIdentityProvider,
} from './fakes.js';
import { type RunningServer, startServer, UV } from './processes.js';
import { generateProject, installProject } from './projects.js';

/** `NAME=value` pairs of a generated `.env.example`. */
function readEnvExample(dir: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(path.join(dir, '.env.example'), 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1]) values[match[1]] = match[2] ?? '';
  }
  return values;
}

interface AuthCase {
  kind: 'jwt' | 'apikey' | 'oidc' | 'none';
  /** Production settings for the server, and a valid credential for one request. */
  prepare: (dir: string) => Promise<{ env: Record<string, string>; headers: Record<string, string> }>;
}

let identityProvider: FakeIdentityProvider | undefined;

const AUTH_CASES: AuthCase[] = [
  {
    kind: 'jwt',
    prepare: async (dir) => {
      // The issuer documented in .env.example; the audience defaults to the project name.
      const issuer = readEnvExample(dir).JWT_ISSUER ?? '';
      expect(issuer).to.not.equal('');
      const secret = randomSecret();
      const claims = { sub: 'e2e-user', iss: issuer, aud: path.basename(dir), iat: nowSeconds() };
      const token = signJwt({ ...claims, exp: nowSeconds() + 300 }, { secret });
      return {
        env: { JWT_SECRET: secret, JWT_ISSUER: issuer },
        headers: { authorization: `Bearer ${token}` },
      };
    },
  },
  {
    kind: 'apikey',
    prepare: async (dir) => {
      const header = readEnvExample(dir).API_KEY_HEADER || 'X-API-Key';
      const key = randomSecret();
      return { env: { API_KEYS: JSON.stringify({ e2e: key }) }, headers: { [header.toLowerCase()]: key } };
    },
  },
  {
    kind: 'oidc',
    prepare: async () => {
      identityProvider = await startFakeIdentityProvider();
      const audience = 'forge-e2e';
      const token = identityProvider.sign({
        sub: 'e2e-user',
        aud: audience,
        iat: nowSeconds(),
        exp: nowSeconds() + 300,
      });
      return {
        env: {
          OIDC_ISSUER: identityProvider.issuer,
          OIDC_AUDIENCE: audience,
          SSL_CERT_FILE: identityProvider.caFile,
        },
        headers: { authorization: `Bearer ${token}` },
      };
    },
  },
  { kind: 'none', prepare: async () => ({ env: {}, headers: {} }) },
];

const PRODUCTION = { ENVIRONMENT: 'production', CORS_ORIGINS: 'https://app.example.com', LOG_JSON: 'true' };

describe('tier 1 end to end: generate, install, serve', function () {
  this.timeout(15 * 60_000);

  for (const authCase of AUTH_CASES) {
    describe(`--auth ${authCase.kind}`, () => {
      const name = `e2e-${authCase.kind}`;
      const packageName = name.replace(/-/g, '_');
      let dir = '';
      let server: RunningServer | undefined;

      after(async () => {
        await server?.stop();
        await identityProvider?.close();
        identityProvider = undefined;
      });

      // Its lint, type and test checks run in the option matrix, where every kind of authentication is a value.
      it('generates and installs', () => {
        dir = generateProject(name, [
          '--auth',
          authCase.kind,
          '--db',
          'none',
          '--app-type',
          'microservice',
          '--examples',
        ]);
        installProject(dir);
      });

      it('serves /health, /health/ready and an authenticated request over real HTTP', async () => {
        const { env, headers } = await authCase.prepare(dir);
        server = await startServer(dir, packageName, { ...PRODUCTION, ...env });

        const health = await fetch(`${server.baseUrl}/health`);
        expect(health.status).to.equal(200);
        const ready = await fetch(`${server.baseUrl}/health/ready`);
        expect(ready.status, await ready.clone().text()).to.equal(200);

        const body = JSON.stringify({ message: 'hello over HTTP' });
        const post = (extra: Record<string, string>) =>
          fetch(`${server?.baseUrl}/echo`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...extra },
            body,
          });

        if (authCase.kind !== 'none') {
          const anonymous = await post({});
          expect(anonymous.status).to.equal(401);
          const error = (await anonymous.json()) as Record<string, unknown>;
          expect(error).to.include.keys('code', 'message', 'request_id');
        }
        const authenticated = await post(headers);
        const echoed = (await authenticated.json()) as Record<string, unknown>;
        expect(authenticated.status, JSON.stringify(echoed)).to.equal(200);
        expect(echoed.message).to.equal('hello over HTTP');
        if (authCase.kind !== 'none') expect(JSON.stringify(echoed)).to.include('e2e');
        expect(authenticated.headers.get('x-request-id')).to.be.a('string');

        // uvicorn's own log lines come out as JSON too, and our access line carries the request id.
        // That line is written once the response has been sent: wait for it, not a fixed time.
        const requestId = authenticated.headers.get('x-request-id') ?? '';
        const logged = Date.now() + 10_000;
        while (!server.logs().includes(requestId) && Date.now() < logged) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const jsonLines = server
          .logs()
          .split('\n')
          .filter((line) => line.trim().startsWith('{'));
        expect(jsonLines.some((line) => line.includes('"logger": "uvicorn.error"'))).to.equal(true);
        expect(jsonLines.some((line) => line.includes(requestId))).to.equal(true);
        await server.stop();
      });

      if (authCase.kind !== 'none') {
        it('refuses to start in production with a placeholder secret', () => {
          const result = spawnSync(
            UV,
            ['run', '--no-sync', 'python', '-c', `from ${packageName}.config import Settings; Settings()`],
            {
              cwd: dir,
              encoding: 'utf8',
              env: { ...process.env, ...PRODUCTION, ...placeholderSecrets(authCase.kind) },
            },
          );
          expect(result.status).to.not.equal(0);
          expect(result.stderr).to.match(/insecure settings/);
        });
      }
    });
  }
});

function placeholderSecrets(kind: AuthCase['kind']): Record<string, string> {
  if (kind === 'jwt') {
    // The placeholder shipped in .env.example is long enough to pass the key-length check.
    return {
      JWT_SECRET: 'change-me-to-a-random-secret-of-32-bytes-or-more',
      JWT_ISSUER: 'https://auth.example.com',
    };
  }
  if (kind === 'apikey') return { API_KEYS: JSON.stringify({ ci: 'change-me' }) };
  return { OIDC_ISSUER: 'https://idp.example.com', OIDC_AUDIENCE: 'x', CORS_ORIGINS: '*' };
}
