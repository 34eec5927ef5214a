import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, snapshotTree } from '../helpers.js';
import { nowSeconds, randomSecret, signJwt } from './fakes.js';
import { freePort, run, type RunningServer, startServer, startWorker, UV, type Worker } from './processes.js';
import { generateProject, installProject, verifyProject } from './projects.js';

const PG_HOST = '127.0.0.1';
const PG_PORT = 5432;
const SERVER_URL = `postgresql+asyncpg://postgres@${PG_HOST}:${PG_PORT}`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const PRODUCTION = {
  ENVIRONMENT: 'production',
  CORS_ORIGINS: 'https://app.example.com',
  RATE_LIMIT: '1000/minute',
};

/** Runs SQL on the real PostgreSQL server as the postgres user. */
function psql(sql: string, database = 'test'): string {
  const result = spawnSync('psql', ['-h', PG_HOST, '-U', 'postgres', '-d', database, '-Atc', sql], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** A fresh database on the real server; `drop` removes it. */
function freshDatabase(): { name: string; url: string; drop: () => void } {
  const name = `forge_e2e_${randomBytes(6).toString('hex')}`;
  psql(`CREATE DATABASE ${name}`);
  return {
    name,
    url: `${SERVER_URL}/${name}`,
    drop: () => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** A TCP proxy to PostgreSQL that the test can stop (refusing and cutting connections) and start again. */
class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function call(
  server: RunningServer,
  method: string,
  urlPath: string,
  options: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const response = await fetch(`${server.baseUrl}${urlPath}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** `NAME=value` of a generated `.env.example`. */
function envExample(dir: string, name: string): string {
  const match = new RegExp(`^${name}=(.*)$`, 'm').exec(readFileSync(path.join(dir, '.env.example'), 'utf8'));
  return match?.[1] ?? '';
}

describe('db end to end: generate, install, lint, type-check, test against real services, serve', function () {
  this.timeout(15 * 60_000);

  describe('--db postgres with agents (and --auth jwt)', () => {
    const databases: { drop: () => void }[] = [];
    let dir = '';
    let server: RunningServer | undefined;
    let proxy: TcpProxy | undefined;
    let api: RunningServer | undefined;
    let worker: Worker | undefined;

    after(async () => {
      await server?.stop();
      await proxy?.stop();
      await api?.stop();
      await worker?.stop();
      for (const database of databases) database.drop();
    });

    it('passes ruff, mypy --strict and its pytest suite against the real PostgreSQL and Redis', () => {
      // The agents application type (the default): agent runs and jobs are recorded in PostgreSQL.
      dir = generateProject('e2e-pg', ['--db', 'postgres', '--auth', 'jwt', '--agent-sdk', 'none']);
      const server = freshDatabase();
      databases.push(server);
      // The project's tests create (and drop) their own databases on this server.
      const summary = verifyProject(dir, { TEST_DATABASE_URL: server.url, REDIS_URL });
      console.log(`      e2e-pg: ${summary}`);
      expect(psql(`SELECT count(*) FROM pg_database WHERE datname LIKE '${server.name}_%'`)).to.equal('0');
    });

    it('runs `alembic upgrade head` on a fresh database', () => {
      const database = freshDatabase();
      databases.push(database);
      const output = run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, {
        DATABASE_URL: database.url,
      }).output;
      expect(output).to.include('Running upgrade 0001 -> 0002');
      expect(output).to.include('Running upgrade 0002 -> 0003');
      expect(output).to.include('Running upgrade 0003 -> 0004');
      expect(
        psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", database.name),
      ).to.equal('agent_jobs\nalembic_version\nnotes\nusers');
      expect(psql('SELECT version_num FROM alembic_version', database.name)).to.equal('0004');
      const ownerColumn = "SELECT count(*) FROM information_schema.columns WHERE column_name = 'owner'";
      expect(psql(`${ownerColumn} AND table_name = 'agent_jobs'`, database.name)).to.equal('1');
      // And back: one step down drops only the owner column, two steps the history, `base` everything.
      run(UV, ['run', '--no-sync', 'alembic', 'downgrade', '-1'], dir, { DATABASE_URL: database.url });
      expect(psql(`${ownerColumn} AND table_name = 'agent_jobs'`, database.name)).to.equal('0');
      run(UV, ['run', '--no-sync', 'alembic', 'downgrade', '-1'], dir, { DATABASE_URL: database.url });
      expect(
        psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", database.name),
      ).to.equal('alembic_version\nnotes\nusers');
      run(UV, ['run', '--no-sync', 'alembic', 'downgrade', 'base'], dir, { DATABASE_URL: database.url });
      expect(psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database.name)).to.equal('1');
    });

    it('serves jobs run by a worker process and pages through their records in PostgreSQL over HTTP', async () => {
      const database = freshDatabase();
      databases.push(database);
      run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, { DATABASE_URL: database.url });
      const secret = randomSecret();
      const issuer = 'https://auth.example.com';
      const env = {
        ...PRODUCTION,
        JWT_SECRET: secret,
        JWT_ISSUER: issuer,
        DATABASE_URL: database.url,
        REDIS_URL,
        AGENT_PROVIDER: 'local',
        AGENT_LOCAL_TOKEN_DELAY_SECONDS: '0',
        AGENT_QUEUE_NAME: `e2e-pg-${randomSecret().slice(0, 12)}`,
      };
      const token = signJwt(
        { sub: 'e2e-user', iss: issuer, aud: 'e2e-pg', iat: nowSeconds(), exp: nowSeconds() + 3600 },
        { secret },
      );
      const headers = { authorization: `Bearer ${token}` };
      worker = await startWorker(dir, 'e2e_pg', env);
      api = await startServer(dir, 'e2e_pg', env);

      const jobIds: string[] = [];
      for (let index = 0; index < 5; index++) {
        const accepted = await call(api, 'POST', '/agents/run/async', {
          json: { input: `What is ${index} + 1?` },
          headers,
        });
        expect(accepted.status, JSON.stringify(accepted.body)).to.equal(202);
        jobIds.push(String(accepted.body.job_id));
      }
      const runIds: string[] = [];
      for (let index = 0; index < 2; index++) {
        const ran = await call(api, 'POST', '/agents/run', { json: { input: `hello ${index}` }, headers });
        expect(ran.status, JSON.stringify(ran.body)).to.equal(200);
        runIds.push(String(ran.body.run_id));
      }
      for (const jobId of jobIds) {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const job = await call(api, 'GET', `/agents/jobs/${jobId}`, { headers });
          if (job.body.status === 'succeeded') break;
          expect(job.body.status, JSON.stringify(job.body)).to.be.oneOf(['queued', 'running']);
          if (Date.now() > deadline) throw new Error(`job ${jobId} is still ${String(job.body.status)}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }

      // Two at a time, following next_cursor: every record once, newest first.
      const paged: Record<string, unknown>[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page = await call(api, 'GET', `/agents/jobs?limit=2${query}`, { headers });
        expect(page.status, JSON.stringify(page.body)).to.equal(200);
        const items = page.body.items as Record<string, unknown>[];
        expect(items.length).to.be.at.most(2);
        paged.push(...items);
        cursor = page.body.next_cursor as string | null;
        pages++;
      } while (cursor !== null);
      const newestFirst = [...runIds].reverse().concat([...jobIds].reverse());
      expect(paged.map((item) => item.id)).to.deep.equal(newestFirst);
      expect(pages).to.equal(4);
      expect(paged.map((item) => item.kind)).to.deep.equal(['run', 'run', 'job', 'job', 'job', 'job', 'job']);
      const jobOutputs = paged.slice(2).map((item) => (item.result as { output: string }).output);
      expect(jobOutputs).to.deep.equal([5, 4, 3, 2, 1].map((sum) => `The result is ${sum}.`));

      const succeeded = await call(api, 'GET', '/agents/jobs?status=succeeded&limit=100', { headers });
      expect((succeeded.body.items as unknown[]).length).to.equal(7);
      const queued = await call(api, 'GET', '/agents/jobs?status=queued', { headers });
      expect(queued.body).to.deep.equal({ items: [], next_cursor: null });
      const badCursor = await call(api, 'GET', '/agents/jobs?cursor=not-a-cursor', { headers });
      expect(badCursor.status).to.equal(422);
      expect(badCursor.body).to.include({ code: 'validation_error', retryable: false });
      expect((await call(api, 'GET', '/agents/jobs')).status).to.equal(401);

      // The rows, read with SQL: the worker process wrote the jobs' results, the API the runs'.
      const rows = psql(
        'SELECT id, kind, status, input_tokens > 0, output_tokens > 0, started_at IS NOT NULL, version ' +
          'FROM agent_jobs ORDER BY created_at DESC, id DESC',
        database.name,
      ).split('\n');
      expect(rows).to.deep.equal(
        newestFirst.map(
          (id) => `${id}|${runIds.includes(id) ? 'run|succeeded|t|t|t|2' : 'job|succeeded|t|t|t|3'}`,
        ),
      );
      for (const jobId of jobIds) {
        expect(worker.logs()).to.match(
          new RegExp(`"job_finished"[^\n]*"job_id": "${jobId}"|"job_id": "${jobId}"[^\n]*"job_finished"`),
        );
      }
      expect(api.logs()).to.not.include('"job_finished"');
    });

    it('serves stored users and notes, answers 503 retryable while PostgreSQL is cut off, and recovers', async () => {
      const database = freshDatabase();
      databases.push(database);
      run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, { DATABASE_URL: database.url });

      const jwtSettings = { JWT_SECRET: randomSecret(), JWT_ISSUER: envExample(dir, 'JWT_ISSUER') };
      const password = `pw-${randomSecret()}`;
      const created = spawnSync(
        UV,
        ['run', '--no-sync', 'python', '-m', 'e2e_pg.users_cli', 'create-user', 'erin', '--password-stdin'],
        {
          cwd: dir,
          input: `${password}\n`,
          encoding: 'utf8',
          env: { ...process.env, ...PRODUCTION, ...jwtSettings, DATABASE_URL: database.url },
        },
      );
      expect(created.status, created.stderr).to.equal(0);
      expect(created.stdout).to.include('created user erin');

      proxy = new TcpProxy(await freePort(), { host: PG_HOST, port: PG_PORT });
      await proxy.start();
      server = await startServer(dir, 'e2e_pg', {
        ...PRODUCTION,
        ...jwtSettings,
        DATABASE_URL: `${SERVER_URL.replace(String(PG_PORT), String(proxy.port))}/${database.name}`,
        DATABASE_TIMEOUT_SECONDS: '2',
      });

      const token = await call(server, 'POST', '/auth/token', { form: { username: 'erin', password } });
      expect(token.status, JSON.stringify(token.body)).to.equal(200);
      const headers = { authorization: `Bearer ${String(token.body.access_token)}` };
      const wrong = await call(server, 'POST', '/auth/token', {
        form: { username: 'erin', password: 'nope' },
      });
      expect(wrong.status).to.equal(401);
      const me = await call(server, 'GET', '/users/me', { headers });
      expect(me.body.username).to.equal('erin');

      const note = await call(server, 'POST', '/notes', { json: { title: 'before the outage' }, headers });
      expect(note.status, JSON.stringify(note.body)).to.equal(201);
      expect((await call(server, 'GET', '/health/ready')).status).to.equal(200);

      await proxy.stop();
      const down = await call(server, 'POST', '/notes', { json: { title: 'during' }, headers });
      expect(down.status, JSON.stringify(down.body)).to.equal(503);
      expect(down.body).to.include({ code: 'service_unavailable', retryable: true });
      const notReady = await call(server, 'GET', '/health/ready');
      expect(notReady.status).to.equal(503);
      expect((notReady.body.details as { checks: Record<string, string> }).checks.database).to.not.equal(
        'ok',
      );
      expect((await call(server, 'GET', '/health')).status).to.equal(200);

      await proxy.start();
      let after: Reply | undefined;
      for (let attempt = 0; attempt < 20; attempt++) {
        after = await call(server, 'POST', '/notes', { json: { title: 'after the outage' }, headers });
        if (after.status === 201) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(after?.status, JSON.stringify(after?.body)).to.equal(201);
      expect((await call(server, 'GET', '/health/ready')).status).to.equal(200);
      const listed = await call(server, 'GET', '/notes', { headers });
      expect((listed.body.items as { title: string }[]).map((item) => item.title)).to.deep.equal([
        'after the outage',
        'before the outage',
      ]);
      expect(server.logs()).to.include('"database_unavailable"');
    });
  });

  describe('--db redis', () => {
    let server: RunningServer | undefined;
    after(async () => server?.stop());

    // Its lint, type and test checks run in the option matrix's --db redis combinations.
    it('serves the cache over HTTP from the real Redis', async () => {
      const dir = generateProject('e2e-redis-db', [
        '--db',
        'redis',
        '--auth',
        'none',
        '--app-type',
        'microservice',
      ]);
      installProject(dir);
      server = await startServer(dir, 'e2e_redis_db', {
        ...PRODUCTION,
        REDIS_URL,
        CACHE_PREFIX: `e2e-${randomSecret().slice(0, 12)}`,
      });
      const ready = await call(server, 'GET', '/health/ready');
      expect(ready.body.checks).to.deep.equal({ database: 'ok', redis: 'ok' });
      expect(
        (await call(server, 'PUT', '/cache/greeting', { json: { value: { hello: 'world' } } })).status,
      ).to.equal(200);
      const read = await call(server, 'GET', '/cache/greeting');
      expect(read.body).to.deep.equal({ key: 'greeting', value: { hello: 'world' } });
    });
  });

  describe('--db none', () => {
    // Its lint, type and test checks run in the option matrix's --db none combinations.
    it('generates no database code', () => {
      const dir = generateProject('e2e-nodb', [
        '--db',
        'none',
        '--auth',
        'apikey',
        '--app-type',
        'microservice',
      ]);
      expect(Object.keys(snapshotTree(dir)).some((file) => file.includes('/db/'))).to.equal(false);
    });
  });

  describe('--db mongo', () => {
    // Its lint, type and test checks run in the option matrix's --db mongo combinations.
    it('passes its repository contract tests, saying no MongoDB server was used', () => {
      const dir = generateProject('e2e-mongo', [
        '--db',
        'mongo',
        '--auth',
        'jwt',
        '--app-type',
        'microservice',
      ]);
      installProject(dir);
      const contract = run(
        UV,
        ['run', '--no-sync', 'pytest', '-v', '-p', 'no:cacheprovider', 'tests/test_note_repository.py'],
        dir,
      ).output;
      expect(contract).to.match(/test_note_repository\.py::\S+\[memory\] PASSED/);
      expect(contract).to.include('MongoDB: no server was available');
      console.log(
        '      e2e-mongo: no MongoDB server here; its repository contract ran against the in-memory implementation',
      );
    });
  });

  describe('growing a tier-1 agents project with `add db --db postgres`', () => {
    const databases: { drop: () => void }[] = [];
    after(() => databases.forEach((database) => database.drop()));

    it('wires everything, keeps user edits, changes nothing the second time, and stays green', () => {
      // The agents application type (the default): their runs and jobs move to PostgreSQL.
      const dir = generateProject('e2e-grow', ['--db', 'none', '--auth', 'jwt', '--agent-sdk', 'none']);
      const main = path.join(dir, 'src/e2e_grow/main.py');
      appendFileSync(main, '\n\nGREETING = "kept across generator runs"\n');
      const edited = readFileSync(main, 'utf8');

      run(process.execPath, [CLI, 'add', 'db', '--db', 'postgres', '--yes', '--skip-install'], dir);
      const files = snapshotTree(dir);
      expect(files['src/e2e_grow/settings/__init__.py']).to.include('DatabaseSettings');
      expect(files['src/e2e_grow/lifespan.py']).to.include('database_resource(settings, readiness)');
      expect(files['src/e2e_grow/db/__init__.py']).to.include('readiness.register("database"');
      // The request's unit of work (SessionDep) is declared with the session, and the core's routes use it.
      expect(files['src/e2e_grow/db/session.py']).to.include('SessionDep = ');
      expect(files['src/e2e_grow/dependencies.py']).to.include('from e2e_grow.db.session import SessionDep');
      expect(files['.env.example']).to.match(/^DATABASE_URL=$/m);
      expect(files['src/e2e_grow/migrations/versions/0001_notes.py']).to.be.a('string');
      expect(files['src/e2e_grow/migrations/versions/0002_users.py']).to.be.a('string');
      expect(files['src/e2e_grow/migrations/versions/0003_agent_jobs.py']).to.include(
        'down_revision: str | Sequence[str] | None = "0002"',
      );
      expect(files['src/e2e_grow/models/database.py']).to.include('class AgentJobRow(Base)');
      expect(files['src/e2e_grow/lifespan.py']).to.include(
        'agent_service_resource(settings, readiness, database)',
      );
      expect(files['src/e2e_grow/agents/service.py']).to.include('SqlJobStore(database.sessions)');
      expect(files['src/e2e_grow/worker.py']).to.include('database_resource(settings, readiness)');
      expect(files['src/e2e_grow/main.py']).to.equal(edited);

      run(process.execPath, [CLI, 'add', 'db', '--yes', '--skip-install'], dir);
      expect(snapshotTree(dir)).to.deep.equal(files);

      const server = freshDatabase();
      databases.push(server);
      console.log(`      e2e-grow: ${verifyProject(dir, { TEST_DATABASE_URL: server.url, REDIS_URL })}`);
      expect(readFileSync(main, 'utf8')).to.equal(edited);
    });
  });
});
