import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, makeTempDir, snapshotTree } from '../helpers.js';
import { buildContext, hadolint, imageStart, validateCompose } from './deploy-support.js';
import { nowSeconds, randomSecret, signJwt } from './fakes.js';
import { freePort, run, type RunningServer, startHttpProcess, UV } from './processes.js';
import {
  PARSE_METRICS,
  type Sample,
  freshDatabase,
  migrateService,
  projectPython,
  installProject,
} from './projects.js';

/**
 * Tier 2 end to end: a tier-1 project grown into a workspace (two services, the gateway), the same generated
 * directly with `new --tier 2`, every package installed, linted, type-checked and tested, then the gateway,
 * both services and the project's own service run as real uvicorn processes on loopback with the real Redis
 * and PostgreSQL (a fresh database per service). With observability on, every member serves its own /metrics
 * and one request is one trace from the gateway to the service.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const SERVICES = ['orders', 'inventory'] as const;
// --examples: POST /echo, the protected route the gateway's checks go through.
const FLAGS = [
  '--app-type',
  'microservice',
  '--auth',
  'jwt',
  '--db',
  'postgres',
  '--observability',
  '--examples',
];
/** Far longer than any answer here takes: a fast 503 cannot have waited for it. */
const UPSTREAM_TIMEOUT_SECONDS = 30;
const BREAKER_RECOVERY_SECONDS = 2;

function forge(args: string[], cwd: string): string {
  return run(process.execPath, [CLI, ...args, '--yes', '--skip-install'], cwd).output;
}

/** `NAME=value` of a generated `.env.example`. */
function envExample(dir: string, name: string): string {
  const match = new RegExp(`^${name}=(.*)$`, 'm').exec(readFileSync(path.join(dir, '.env.example'), 'utf8'));
  return match?.[1] ?? '';
}

/**
 * A project's files for comparison: `.yo-rc.json` as data, since its keys are stored in the order the answers
 * came (a flag or a question), which says nothing about what was generated.
 */
function comparableTree(dir: string): Record<string, unknown> {
  const tree: Record<string, unknown> = snapshotTree(dir);
  tree['.yo-rc.json'] = JSON.parse(String(tree['.yo-rc.json'])) as unknown;
  return tree;
}

/** A TCP listener that counts connections, standing on a stopped service's port. */
async function connectionCounter(port: number): Promise<{ count: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    count: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(
  baseUrl: string,
  method: string,
  urlPath: string,
  headers: Record<string, string>,
  json?: unknown,
): Promise<Reply> {
  const response = await fetch(`${baseUrl}${urlPath}`, {
    method,
    headers: { ...headers, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** Reads server-sent events from a streamed response, one `data:` payload at a time, as they arrive. */
function sseEvents(body: ReadableStream<Uint8Array>): {
  next: () => Promise<Record<string, unknown> | null>;
} {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    next: async () => {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice('data: '.length));
          if (data.length > 0) return JSON.parse(data.join('\n')) as Record<string, unknown>;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) return null;
        buffer += decoder.decode(value, { stream: true });
      }
    },
  };
}

describe('tier 2 end to end: services behind a gateway, Redis events, circuit breakers', function () {
  this.timeout(20 * 60_000);

  let dir = '';
  const databases: { drop: () => void }[] = [];
  const processes = new Map<string, RunningServer>();

  after(async () => {
    for (const server of processes.values()) await server.stop();
    for (const database of databases) database.drop();
  });

  it('grows a tier-1 project into a workspace, keeping its code; every step re-runs without changes', () => {
    const parent = makeTempDir('tier2-grow');
    forge(['new', 'shop', ...FLAGS], parent);
    dir = path.join(parent, 'shop');
    const tier1 = snapshotTree(dir);
    for (const step of [
      ['add', 'microservice', 'orders'],
      ['add', 'microservice', 'inventory'],
      ['add', 'gateway'],
    ]) {
      forge(step, dir);
      const after = snapshotTree(dir);
      forge(step, dir);
      expect(snapshotTree(dir), `re-running ${step.join(' ')}`).to.deep.equal(after);
    }
    const grown = snapshotTree(dir);
    // The tier-1 service's own code and tests are untouched: the workspace grows beside them. The core
    // modules the shared package holds become re-exports of libs' (imports of them keep working), and the
    // settings extend libs' settings.
    const reExports: string[] = [];
    for (const [file, content] of Object.entries(tier1)) {
      if (!file.startsWith('src/') && !file.startsWith('tests/')) continue;
      if (grown[file] === content) continue;
      if (file === 'src/shop/settings/__init__.py') {
        expect(grown[file], file).to.match(/\nclass ForgeSettings\([^)]*SharedSettings\):/);
        continue;
      }
      const libsModule =
        file === 'tests/auth_support.py'
          ? 'libs/src/shop_libs/testing.py'
          : file.replace(/^src\/shop\//, 'libs/src/shop_libs/');
      const dotted = libsModule
        .replace(/^libs\/src\//, '')
        .replace(/(\/__init__)?\.py$/, '')
        .replaceAll('/', '.');
      expect(grown[file], file).to.match(
        new RegExp(`^"""[^\\n]*"""\\n\\nfrom ${dotted} import \\*  # noqa: F403\\n$`),
      );
      expect(grown[libsModule], libsModule).to.be.a('string');
      reExports.push(file);
    }
    expect(reExports).to.include.members([
      'src/shop/errors.py',
      'src/shop/rate_limit.py',
      'src/shop/db/session.py',
    ]);
    expect(grown['pyproject.toml']).to.match(
      /\[tool\.uv\.workspace\]\nmembers = \[\n {4}"libs",\n {4}"services\/orders",\n {4}"services\/inventory",\n {4}"gateway",\n\]/,
    );
    for (const service of SERVICES) {
      expect(grown['docker-compose.yml'])
        .to.include(`\n  ${service}:\n`)
        .and.include(`\n  ${service}-postgres:\n`);
    }
    expect(grown['docker-compose.yml']).to.include('\n  gateway:\n').and.include('\n  redis:\n');
  });

  it('generates the same project directly with `new --tier 2`, and renders it again without changes', () => {
    const parent = makeTempDir('tier2-new');
    forge(['new', 'shop', '--tier', '2', ...FLAGS], parent);
    const direct = path.join(parent, 'shop');
    // README.md included: its generated section describes the workspace the project grew into.
    const grownTree = comparableTree(dir);
    expect(grownTree['README.md']).to.include('## The workspace');
    expect(comparableTree(direct)).to.deep.equal(grownTree);
    const before = snapshotTree(direct);
    forge(['upgrade', '--path', 'shop'], parent);
    expect(snapshotTree(direct)).to.deep.equal(before);
  });

  // The tree is the one `new --tier 2` makes (above): every member's lint, type and test checks run in
  // the option matrix's tier-2 combinations, the README commands and the growth tests.
  it('installs every package', () => installProject(dir));

  it("passes the compose and Dockerfile validators, installs each image's packages as its Dockerfile does, and starts each image with a missing setting to one line", () => {
    validateCompose(path.join(dir, 'docker-compose.yml'));
    for (const member of ['.', ...SERVICES.map((name) => `services/${name}`), 'gateway']) {
      hadolint(path.join(dir, member, 'Dockerfile'));
    }
    // What `docker build` sees, and the Dockerfiles' `uv sync` steps, each into a virtualenv of its own.
    const context = makeTempDir('tier2-context');
    buildContext(dir, context);
    const lockOnly = makeTempDir('tier2-lock-only');
    for (const file of ['pyproject.toml', 'uv.lock'])
      copyFileSync(path.join(context, file), path.join(lockOnly, file));
    const venv = (name: string) => ({
      UV_PROJECT_ENVIRONMENT: path.join(makeTempDir(`tier2-${name}`), 'venv'),
    });
    const root = venv('root');
    run(UV, ['sync', '--frozen', '--no-install-workspace', '--no-dev', '--quiet'], lockOnly, root);
    run(UV, ['sync', '--locked', '--no-dev', '--no-editable', '--quiet'], context, root);
    // Each image is also started in production with one setting missing: the one it needs besides
    // the token settings, which the services get.
    const tokens = { JWT_ISSUER: 'https://issuer.example', JWT_SECRET: randomSecret() };
    const unsetIssuer = 'JWT_ISSUER must be set for ENVIRONMENT=production';
    const images = [
      {
        packageName: 'shop',
        distribution: 'shop',
        member: '.',
        env: root,
        settings: {},
        missing: unsetIssuer,
      },
      ...SERVICES.map((name) => ({
        packageName: name,
        distribution: `shop-${name}`,
        member: `services/${name}`,
        env: venv(name),
        settings: tokens,
        missing: `${name.toUpperCase()}_DATABASE_URL must be set for ENVIRONMENT=production`,
      })),
      {
        packageName: 'shop_gateway',
        distribution: 'shop-gateway',
        member: 'gateway',
        env: venv('gateway'),
        settings: {},
        missing: unsetIssuer,
      },
    ];
    const elsewhere = makeTempDir('tier2-import');
    for (const { packageName, distribution, member, env, settings, missing } of images) {
      if (packageName !== 'shop') {
        run(
          UV,
          ['sync', '--locked', '--no-dev', '--no-editable', '--package', distribution, '--quiet'],
          context,
          env,
        );
      }
      const bin = path.join(env.UV_PROJECT_ENVIRONMENT ?? '', 'bin');
      run(
        path.join(bin, 'python'),
        ['-c', `import ${packageName}.main; print(${packageName}.main.__file__)`],
        elsewhere,
      );
      // Started as the Dockerfile says (ENTRYPOINT, then CMD): the preflight stops it with one line
      // naming the setting, before uvicorn starts a worker.
      const start = imageStart(path.join(dir, member, 'Dockerfile'));
      const [command = '', ...args] = [...start.entrypoint, ...start.cmd];
      const result = spawnSync(path.join(bin, command), args, {
        cwd: elsewhere,
        env: { ...start.env, ...settings, PATH: `${bin}:/usr/bin:/bin` },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status, `${member}: ${result.stderr}`).to.equal(2);
      expect(result.stdout).to.equal('');
      expect(result.stderr).to.equal(`invalid settings: ${missing}\n`);
    }
  });

  describe('as real processes on loopback', () => {
    let gateway = '';
    let headers: Record<string, string> = {};
    const ports: Record<string, number> = {};
    const serviceEnv: Record<string, Record<string, string>> = {};

    const startService = async (name: string): Promise<RunningServer> => {
      const cwd = name === 'shop' ? dir : path.join(dir, 'services', name);
      const port = ports[name] ?? 0;
      const target = `${name}.main:create_app`;
      const server = await startHttpProcess(
        UV,
        ['run', '--no-sync', 'uvicorn', target, '--factory', '--host', '127.0.0.1', '--port', String(port)],
        { cwd, env: { ...process.env, ...serviceEnv[name] }, baseUrl: `http://127.0.0.1:${port}` },
      );
      processes.set(name, server);
      return server;
    };

    before(async () => {
      const secret = randomSecret();
      const issuer = envExample(dir, 'JWT_ISSUER');
      const common = {
        ENVIRONMENT: 'production',
        CORS_ORIGINS: 'https://app.example.com',
        LOG_JSON: 'true',
        RATE_LIMIT: '1000/minute',
        REDIS_URL,
        JWT_SECRET: secret,
        JWT_ISSUER: issuer,
        // Channels of this run only, whatever else uses the Redis server.
        EVENTS_PREFIX: `e2e-${randomBytes(4).toString('hex')}`,
        // Spans are made (trace ids on the log lines, traceparent passed on) and not exported.
        OTEL_TRACES_EXPORTER: 'none',
      };
      const token = signJwt(
        { sub: 'e2e-user', iss: issuer, aud: 'shop', iat: nowSeconds(), exp: nowSeconds() + 600 },
        { secret },
      );
      headers = { authorization: `Bearer ${token}` };

      const rootDatabase = freshDatabase('forge_tier2_shop');
      databases.push(rootDatabase);
      run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, { DATABASE_URL: rootDatabase.url });
      serviceEnv.shop = { ...common, DATABASE_URL: rootDatabase.url };
      for (const name of SERVICES) {
        const database = freshDatabase(`forge_tier2_${name}`);
        databases.push(database);
        migrateService(dir, name, database.url);
        serviceEnv[name] = { ...common, [`${name.toUpperCase()}_DATABASE_URL`]: database.url };
      }
      for (const name of ['shop', ...SERVICES]) {
        ports[name] = await freePort();
        await startService(name);
      }
      ports.gateway = await freePort();
      const gatewayEnv = {
        ...common,
        ...Object.fromEntries(
          ['shop', ...SERVICES].map((name) => [
            `${name.toUpperCase()}_URL`,
            `http://127.0.0.1:${ports[name]}`,
          ]),
        ),
        GATEWAY_TIMEOUT_SECONDS: String(UPSTREAM_TIMEOUT_SECONDS),
        GATEWAY_BREAKER_FAILURE_THRESHOLD: '3',
        GATEWAY_BREAKER_RECOVERY_SECONDS: String(BREAKER_RECOVERY_SECONDS),
      };
      const server = await startHttpProcess(
        UV,
        [
          'run',
          '--no-sync',
          'uvicorn',
          'shop_gateway.main:create_app',
          '--factory',
          '--host',
          '127.0.0.1',
          '--port',
          String(ports.gateway),
        ],
        {
          cwd: path.join(dir, 'gateway'),
          env: { ...process.env, ...gatewayEnv },
          baseUrl: `http://127.0.0.1:${ports.gateway}`,
        },
      );
      processes.set('gateway', server);
      gateway = server.baseUrl;
    });

    const readiness = async (): Promise<Record<string, { status: string; breaker: string }>> => {
      const reply = await call(gateway, 'GET', '/health/ready', {});
      expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
      return reply.body.upstreams as Record<string, { status: string; breaker: string }>;
    };

    it('is ready, with every upstream ready and its breaker closed', async () => {
      const upstreams = await readiness();
      expect(upstreams).to.deep.equal({
        shop: { status: 'ok', breaker: 'closed', consecutive_failures: 0 },
        orders: { status: 'ok', breaker: 'closed', consecutive_failures: 0 },
        inventory: { status: 'ok', breaker: 'closed', consecutive_failures: 0 },
      });
    });

    it('routes requests to each service, with the caller authenticated at the edge and the request id passed on', async () => {
      const requestId = `e2e-${randomBytes(8).toString('hex')}`;
      const echo = await call(
        gateway,
        'POST',
        '/shop/echo',
        { ...headers, 'x-request-id': requestId },
        {
          message: 'through the gateway',
        },
      );
      expect(echo.status, JSON.stringify(echo.body)).to.equal(200);
      expect(echo.body).to.include({
        message: 'through the gateway',
        subject: 'e2e-user',
        request_id: requestId,
      });
      expect(echo.headers.get('x-request-id')).to.equal(requestId);

      for (const name of SERVICES) {
        const id = `e2e-${name}-${randomBytes(6).toString('hex')}`;
        const created = await call(
          gateway,
          'POST',
          `/${name}/items`,
          { ...headers, 'x-request-id': id },
          {
            name: `${name} item`,
          },
        );
        expect(created.status, JSON.stringify(created.body)).to.equal(201);
        expect(created.body).to.include({ owner: 'e2e-user', name: `${name} item` });
        const read = await call(gateway, 'GET', `/${name}/items/${String(created.body.id)}`, headers);
        expect(read.body).to.deep.equal(created.body);
        // The service logged the request under the id the caller sent to the gateway.
        expect(processes.get(name)?.logs()).to.include(id);
      }

      const anonymous = await call(gateway, 'GET', '/orders/items', {});
      expect(anonymous.status).to.equal(401);
      expect(anonymous.body).to.include({ code: 'unauthorized' });
      // Each service checks the token again: a caller that goes around the gateway is refused too.
      const forged = signJwt(
        {
          sub: 'e2e-user',
          iss: envExample(dir, 'JWT_ISSUER'),
          aud: 'shop',
          iat: nowSeconds(),
          exp: nowSeconds() + 600,
        },
        { secret: randomSecret() },
      );
      const refusals: Record<string, string>[] = [{}, { authorization: `Bearer ${forged}` }];
      for (const credentials of refusals) {
        const direct = await call(`http://127.0.0.1:${ports.orders}`, 'GET', '/items', credentials);
        expect(direct.status, JSON.stringify(direct.body)).to.equal(401);
      }
    });

    it('serves /metrics from every member, and one request is one trace from the gateway to the service', async () => {
      const id = `e2e-trace-${randomBytes(6).toString('hex')}`;
      const listed = await call(gateway, 'GET', '/orders/items', { ...headers, 'x-request-id': id });
      expect(listed.status, JSON.stringify(listed.body)).to.equal(200);

      const scrape = async (baseUrl: string): Promise<Sample[]> => {
        const response = await fetch(`${baseUrl}/metrics`);
        expect(response.status).to.equal(200);
        return projectPython<Sample[]>(dir, PARSE_METRICS, [], await response.text());
      };
      const count = (samples: Sample[], labels: Record<string, string>): number =>
        samples
          .filter(
            (sample) =>
              sample.name === 'http_requests_total' &&
              Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
          )
          .reduce((sum, sample) => sum + sample.value, 0);
      const gatewaySamples = await scrape(gateway);
      expect(count(gatewaySamples, { method: 'GET', route: '/orders/{path}', status: '200' })).to.be.at.least(
        1,
      );
      const breakers = gatewaySamples.filter((sample) => sample.name === 'circuit_breaker_state');
      expect(breakers.map((sample) => sample.labels.target).sort()).to.deep.equal([
        'inventory',
        'orders',
        'shop',
      ]);
      for (const name of SERVICES) {
        const samples = await scrape(processes.get(name)?.baseUrl ?? '');
        expect(count(samples, { method: 'POST', route: '/items', status: '201' }), name).to.be.at.least(1);
      }

      const traceOf = (name: string): unknown =>
        (processes.get(name)?.logs() ?? '')
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((line) => line.event === 'request' && line.request_id === id)?.trace_id;
      expect(traceOf('gateway')).to.match(/^[0-9a-f]{32}$/);
      expect(traceOf('orders')).to.equal(traceOf('gateway'));
    });

    it('carries an event from orders to inventory over Redis, streamed through the gateway as it arrives', async () => {
      // Two events end the stream: the first must come through while the stream is still open.
      const stream = await fetch(`${gateway}/inventory/events/stream?limit=2`, { headers });
      expect(stream.status).to.equal(200);
      expect(stream.headers.get('content-type')).to.match(/^text\/event-stream/);
      const events = sseEvents(stream.body as ReadableStream<Uint8Array>);

      const first = await call(gateway, 'POST', '/orders/items', headers, { name: 'first event' });
      const event = await events.next();
      expect(event).to.include({ type: 'shop.orders.item.created', source: '/orders', specversion: '1.0' });
      expect((event?.data as Record<string, unknown>).id).to.equal(first.body.id);

      const received = await call(gateway, 'GET', '/inventory/events/received', headers);
      const ids = (received.body.events as { id: string }[]).map((recorded) => recorded.id);
      expect(ids).to.include(String(event?.id));

      await call(gateway, 'POST', '/orders/items', headers, { name: 'second event' });
      expect(await events.next()).to.include({ type: 'shop.orders.item.created' });
      expect(await events.next()).to.equal(null);
    });

    it('answers 503 at once while a service is down: its breaker opens and no connection is tried', async () => {
      await processes.get('inventory')?.stop();
      processes.delete('inventory');

      const refused = await call(gateway, 'GET', '/inventory/items', headers);
      expect(refused.status, JSON.stringify(refused.body)).to.equal(503);
      expect(refused.body).to.include({ code: 'upstream_unavailable', retryable: true });
      const upstreams = await readiness();
      expect(upstreams.inventory).to.include({ status: 'failed', breaker: 'open' });
      expect(upstreams.orders).to.include({ status: 'ok', breaker: 'closed' });

      // Something listens on the port again, but the open breaker does not even connect.
      const counter = await connectionCounter(ports.inventory ?? 0);
      try {
        const started = Date.now();
        const fast = await call(gateway, 'GET', '/inventory/items', headers);
        const elapsedSeconds = (Date.now() - started) / 1000;
        expect(fast.status).to.equal(503);
        expect(fast.body.details).to.deep.equal({ upstream: 'inventory', breaker: 'open' });
        expect(Number(fast.headers.get('retry-after'))).to.be.within(1, BREAKER_RECOVERY_SECONDS);
        expect(counter.count(), 'connections to the stopped service').to.equal(0);
        expect(elapsedSeconds).to.be.lessThan(UPSTREAM_TIMEOUT_SECONDS);
      } finally {
        await counter.close();
      }
      // The other routes are served meanwhile.
      expect((await call(gateway, 'GET', '/orders/items', headers)).status).to.equal(200);
    });

    it('half-opens the breaker once the service is back, then closes it on a successful trial', async () => {
      await startService('inventory');
      await new Promise((resolve) => setTimeout(resolve, BREAKER_RECOVERY_SECONDS * 1000 + 200));
      expect((await readiness()).inventory).to.include({ status: 'ok', breaker: 'half_open' });

      const trial = await call(gateway, 'GET', '/inventory/items', headers);
      expect(trial.status, JSON.stringify(trial.body)).to.equal(200);
      expect((await readiness()).inventory).to.include({ status: 'ok', breaker: 'closed' });
    });
  });
});
