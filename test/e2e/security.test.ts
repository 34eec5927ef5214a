import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { makeLoopbackCertificate } from './fakes.js';
import { freePort, run, type RunningServer, startHttpProcess, startServer, UV } from './processes.js';
import { generateProject } from './projects.js';

/**
 * The generated apps as an outside attacker meets them: `security/attack.py` talks to a served project
 * over HTTP, SSE and WebSocket with two or more identities, and prints one line per case (HELD, BROKEN
 * or SKIP) and a count. One project per authentication kind; the OpenID Connect one trusts
 * `security/fake_idp.py`, a real identity provider over HTTPS whose signing key the test holds.
 */
const SECURITY = path.join(PACKAGE_ROOT, 'test/e2e/security');
const SCRIPT_DEPS = ['--with', 'httpx', '--with', 'websockets', '--with', 'pyjwt', '--with', 'cryptography'];
const PG_HOST = process.env.PGHOST ?? '127.0.0.1';

/** Cases that cannot apply to a tier-1 project served in development; any other SKIP fails the test. */
const NOT_APPLICABLE = [
  'ownership: items of another caller are 404', // tier 2 and 3
  'events: endpoints not open',
  'events: a caller sees only what the caller may see',
  'headers: HSTS behind https (production)', // the run serves in development, so /docs is on
  'headers: no Server header (production)',
  'docs: off in production',
  'headers: security headers and error shape on every 5xx seen', // nothing outside can cause one
];

interface Kind {
  auth: 'jwt' | 'apikey' | 'oidc';
  db: string;
  /** Settings of the server and of the script for this kind; `setUp` may start what it needs. */
  setUp: (
    dir: string,
    packageName: string,
  ) => Promise<{ server: Record<string, string>; script: Record<string, string> }>;
  /** Cases this kind has no part in. */
  notApplicable: string[];
}

const psql = (sql: string, database = 'test'): void => {
  const result = spawnSync('psql', ['-h', PG_HOST, '-U', 'postgres', '-d', database, '-Atc', sql], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
};

const cleanups: (() => Promise<void> | void)[] = [];

const KINDS: Kind[] = [
  {
    auth: 'jwt',
    db: 'postgres',
    notApplicable: ['apikey: wrong/partial keys refused'],
    setUp: async (dir, packageName) => {
      const database = `forge_e2e_security_${randomBytes(5).toString('hex')}`;
      psql(`CREATE DATABASE ${database}`);
      cleanups.push(() => psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
      const secret = randomBytes(32).toString('hex');
      const server = {
        DATABASE_URL: `postgresql+asyncpg://postgres@${PG_HOST}:5432/${database}`,
        JWT_SECRET: secret,
        JWT_ISSUER: 'https://issuer.example',
        JWT_AUDIENCE: packageName,
        JWT_LEEWAY_SECONDS: '2',
      };
      run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, server);
      const password = randomBytes(16).toString('hex');
      const create = [
        'run',
        '--no-sync',
        'python',
        '-m',
        `${packageName}.users_cli`,
        'create-user',
        'victim',
      ];
      spawnSync(UV, [...create, '--password-stdin'], {
        cwd: dir,
        env: { ...process.env, ...server },
        input: password,
      });
      const deactivate = `psql -h ${PG_HOST} -U postgres -d ${database} -c "UPDATE users SET is_active = false WHERE username = 'victim'"`;
      return {
        server,
        script: {
          JWT_SECRET: secret,
          JWT_ISSUER: server.JWT_ISSUER,
          JWT_AUDIENCE: packageName,
          ALGORITHM: 'HS256',
          LOGIN_USER: 'victim',
          LOGIN_PASSWORD: password,
          DEACTIVATE_CMD: deactivate,
        },
      };
    },
  },
  {
    auth: 'apikey',
    db: 'none',
    notApplicable: [
      'token: ', // not a token scheme
      'admin: admin scope sees every job', // API keys carry no scopes
      'admin: near-miss scopes are not admin',
      "users: deactivated user's token stops at once", // no stored users
      'auth: failed logins meet 429',
      'websocket: closed with a clear code when the token expires', // keys do not expire
    ],
    setUp: async () => {
      const keys = Object.fromEntries(
        ['a', 'b', 'c'].map((client) => [`client-${client}`, randomBytes(24).toString('hex')]),
      );
      return {
        server: { API_KEYS: JSON.stringify(keys) },
        script: {
          API_KEY_A: keys['client-a'] ?? '',
          API_KEY_B: keys['client-b'] ?? '',
          API_KEY_C: keys['client-c'] ?? '',
        },
      };
    },
  },
  {
    auth: 'oidc',
    db: 'none',
    notApplicable: [
      'apikey: wrong/partial keys refused',
      "users: deactivated user's token stops at once",
      'auth: failed logins meet 429',
    ],
    setUp: async (_dir, packageName) => {
      const port = await freePort();
      const issuer = `https://127.0.0.1:${port}`;
      // Served over https as a deployed provider is; the app and the script trust its certificate
      // through SSL_CERT_FILE, as they would a private CA.
      const { certFile, keyFile } = makeLoopbackCertificate();
      const tls = ['--tls-cert', certFile, '--tls-key', keyFile];
      const idp = await startHttpProcess(
        UV,
        ['run', '--no-project', ...SCRIPT_DEPS, 'python', 'fake_idp.py', '--port', String(port), ...tls],
        {
          cwd: SECURITY,
          env: process.env,
          baseUrl: issuer,
          ca: readFileSync(certFile),
        },
      );
      cleanups.push(() => idp.stop());
      const trust = { SSL_CERT_FILE: certFile };
      return {
        server: { OIDC_ISSUER: issuer, OIDC_AUDIENCE: packageName, OIDC_LEEWAY_SECONDS: '2', ...trust },
        script: { IDP_URL: issuer, OIDC_AUDIENCE: packageName, ...trust },
      };
    },
  },
];

for (const kind of KINDS) {
  describe(`security of a served --auth ${kind.auth} project, tried from outside`, function () {
    const name = `e2e-security-${kind.auth}`;
    const packageName = name.replace(/-/g, '_');
    let server: RunningServer | undefined;
    let scriptEnv: Record<string, string> = {};

    before(async () => {
      const dir = generateProject(name, ['--agent-sdk', 'none', '--db', kind.db, '--auth', kind.auth]);
      run(UV, ['sync', '--quiet'], dir);
      const settings = await kind.setUp(dir, packageName);
      server = await startServer(dir, packageName, {
        ENVIRONMENT: 'development',
        LOG_JSON: 'true',
        CORS_ORIGINS: 'http://allowed.example',
        RATE_LIMIT: '120/minute',
        // Over the few dozen refusals of the other cases, so that this limit's own case finds it.
        FAILED_AUTH_RATE_LIMIT: '60/minute',
        AGENT_ADMIN_SCOPE: 'agents:admin',
        AGENT_MAX_TIMEOUT_SECONDS: '600',
        ...settings.server,
      });
      scriptEnv = {
        BASE_URL: server.baseUrl,
        AUTH_KIND: kind.auth,
        LOG_FILE: server.logFile,
        ADMIN_SCOPE: kind.auth === 'apikey' ? '' : 'agents:admin',
        ALLOWED_ORIGIN: 'http://allowed.example',
        RATE_LIMIT: '120/minute',
        LEEWAY_SECONDS: '2',
        MAX_TIMEOUT_SECONDS: '600',
        ...settings.script,
      };
    });

    after(async () => {
      await server?.stop();
      for (const cleanup of cleanups.splice(0)) await cleanup();
    });

    it('holds every case that applies, and reports how many it tried', () => {
      const result = spawnSync(UV, ['run', '--no-project', ...SCRIPT_DEPS, 'python', 'attack.py'], {
        cwd: SECURITY,
        env: { ...process.env, ...scriptEnv },
        encoding: 'utf8',
        timeout: 10 * 60_000,
      });
      const output = `${result.stdout}${result.stderr}`;
      const summary = /tried=(\d+) held=(\d+) broken=(\d+) skipped=(\d+)/.exec(output);
      expect(summary, output).to.not.equal(null);
      console.log(`  --auth ${kind.auth}: ${summary?.[0]}`);
      const broken = output.split('\n').filter((line) => line.startsWith('BROKEN'));
      expect(broken, output).to.deep.equal([]);
      const expected = [...NOT_APPLICABLE, ...kind.notApplicable];
      const unexpected = output
        .split('\n')
        .filter(
          (line) => line.startsWith('SKIP ') && !expected.some((skip) => line.startsWith(`SKIP ${skip}`)),
        );
      expect(unexpected, output).to.deep.equal([]);
      // The script ran: most of its cases apply to every kind (API keys skip the token cases).
      expect(Number(summary?.[2])).to.be.greaterThan(30);
      expect(result.status, output).to.equal(0);
    });
  });
}
