import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { CLI } from '../helpers.js';
import { recordTiming } from '../timing/record.js';
import { type Combination, describeRow, optionMatrix } from '../matrix/combinations.js';
import { type JwtTarget, jwtAttacks, runJwtAttacks, validClaims, validToken } from './jwt-attacks.js';
import { installedModules } from '../../lib/python-modules.js';
import { DEFAULT_TIER2_SERVICES } from '../../lib/workspace.js';
import { checkGenerated, checkInstalled, checkRoutes, type Features } from './manifest.js';
import { fuzzApi, SCHEMATHESIS } from './schemathesis.js';
import {
  type FakeIdentityProvider,
  PROVIDER_API,
  randomSecret,
  startFakeIdentityProvider,
  startFakeProvider,
} from './fakes.js';
import {
  run,
  type RunningServer,
  startServer,
  startWorker,
  UV,
  type Worker,
  requestJson,
} from './processes.js';
import {
  freshDatabase,
  generateProject,
  installedDistributionModules,
  installProject,
  sharedToolEnv,
  verifyMember,
  verifyProject,
  workspaceMembers,
} from './projects.js';

/**
 * The option matrix end to end: a pairwise set of combinations of every option (test/matrix), each one
 * generated through the CLI, checked against its features' manifests, installed, linted, type-checked,
 * tested, served in production mode and talked to over HTTP; Schemathesis against its OpenAPI schema, and
 * the JWT attack suite against its bearer-token authentication.
 *
 * MATRIX_ONLY=3,mx-07 runs some combinations; MATRIX_FAST=1 stops after generation and the checks that need
 * no install (`npm run test:matrix:fast`).
 */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const FAST = process.env.MATRIX_FAST === '1';
const ONLY = (process.env.MATRIX_ONLY ?? '')
  .split(',')
  .map((item) => item.trim())
  .filter(Boolean);

const matrix = optionMatrix();
const selected = matrix.combinations.filter(
  (combination) =>
    ONLY.length === 0 || ONLY.includes(String(combination.index)) || ONLY.includes(combination.name),
);

type Json = Record<string, unknown>;

/** `NAME=value` of a generated `.env.example`. */
function envExample(dir: string, name: string): string {
  const match = new RegExp(`^${name}=(.*)$`, 'm').exec(readFileSync(path.join(dir, '.env.example'), 'utf8'));
  return match?.[1] ?? '';
}

/** A credential the served project accepts, the settings that make it so, and what the attack suite needs. */
interface Credentials {
  env: Record<string, string>;
  headers: Record<string, string>;
  target?: JwtTarget;
  close: () => Promise<void>;
}

/** A token for the whole run of a combination (the fuzzing takes minutes). */
const bearerFor = (target: JwtTarget): Record<string, string> => ({
  authorization: `Bearer ${validToken(target, validClaims(target, 3600))}`,
});

async function credentials(dir: string, combination: Combination): Promise<Credentials> {
  const close = async (): Promise<void> => undefined;
  switch (combination.config.auth) {
    case 'jwt': {
      const target: JwtTarget = {
        kind: 'jwt',
        secret: randomSecret(),
        issuer: envExample(dir, 'JWT_ISSUER'),
        // JWT_AUDIENCE is empty in .env.example: the project name.
        audience: combination.name,
      };
      const env = { JWT_SECRET: target.secret, JWT_ISSUER: target.issuer };
      return { env, headers: bearerFor(target), target, close };
    }
    case 'oidc': {
      const provider: FakeIdentityProvider = await startFakeIdentityProvider();
      const target: JwtTarget = { kind: 'oidc', provider, audience: 'forge-matrix' };
      const env = {
        OIDC_ISSUER: provider.issuer,
        OIDC_AUDIENCE: target.audience,
        SSL_CERT_FILE: provider.caFile,
      };
      return {
        env,
        headers: bearerFor(target),
        target,
        close: provider.close,
      };
    }
    case 'apikey': {
      const key = randomSecret();
      const header = envExample(dir, 'API_KEY_HEADER') || 'X-API-Key';
      return { env: { API_KEYS: JSON.stringify({ matrix: key }) }, headers: { [header]: key }, close };
    }
    default:
      return { env: {}, headers: {}, close };
  }
}

/**
 * The combinations Schemathesis runs against: enough that every authentication kind, database, tier, and
 * agents and observability on and off each meet it (the deployment target and agent SDK change no route;
 * fuzzed runs use the local agent). MATRIX_FUZZ=all fuzzes every combination.
 */
const FUZZ_ALL = process.env.MATRIX_FUZZ === 'all';
const fuzzed = new Set<string>();
const fuzzedValues = new Set<string>();
for (const combination of selected) {
  const { auth, agents, db, tier, observability } = combination.config;
  const values = [
    `auth=${auth}`,
    `agents=${agents}`,
    `db=${db}`,
    `tier=${tier}`,
    `observability=${observability}`,
  ];
  if (FUZZ_ALL || values.some((value) => !fuzzedValues.has(value))) {
    fuzzed.add(combination.name);
    for (const value of values) fuzzedValues.add(value);
  }
}

/**
 * The one workspace combination whose first service also gets a resource of every kind of field: the first
 * at tier 3 (its writes emit events, projected into a read model) with the SQL database.
 */
const SERVICE_RESOURCE_COMBINATION = matrix.combinations.find(
  (combination) => combination.config.tier === 3 && combination.config.db === 'postgres',
)?.name;
const SERVICE_RESOURCE = [
  'Invoice',
  '--field',
  'code:str:20!',
  '--field',
  'total:decimal',
  '--field',
  'status:enum(open,paid)',
  '--field',
  'due_on:date?',
  '--field',
  'sent_at:datetime?',
  '--field',
  'note:text?',
  '--field',
  'extra:json?',
];

/**
 * The matrix runs in parts, each a test file of its own (matrix-part-N.test.ts), so that the parts run side
 * by side in mocha's parallel mode, each with its own shared virtualenv. A combination
 * belongs to part ((index - 1) mod MATRIX_PARTS) + 1, so every combination is in exactly one part.
 */
export const MATRIX_PARTS = 6;

const partFiles = readdirSync(path.dirname(fileURLToPath(import.meta.url))).filter((file) =>
  /^matrix-part-\d+\.test\.js$/.test(file),
);
if (partFiles.length !== MATRIX_PARTS) {
  throw new Error(`expected ${MATRIX_PARTS} matrix-part-N.test files, found ${partFiles.length}`);
}

/** Declares one part of the matrix (1 to MATRIX_PARTS). */
export function describeOptionMatrix(shard: number): void {
  const shards = MATRIX_PARTS;
  const timings: { name: string; row: string; seconds: number; outcome: string }[] = [];
  const mine = selected.filter((combination) => (combination.index - 1) % shards === shard - 1);
  describe(`option matrix, part ${shard} of ${shards}: ${mine.map((c) => c.name).join(', ') || 'none selected'}${FAST ? ' (generation and manifests only)' : ''}`, function () {
    this.timeout(30 * 60_000);
    const toolEnv = sharedToolEnv();

    before(() => {
      console.log(
        `      dimensions: ${matrix.dimensions.map((d) => `${d.name} (${d.values.join(', ')})`).join('; ')}`,
      );
      if (FAST)
        console.log(
          '      MATRIX_FAST: nothing is installed, so imports, settings and routes are not checked',
        );
    });

    after(() => {
      const total = timings.reduce((sum, timing) => sum + timing.seconds, 0);
      // Two combinations have names as long as a name may be.
      const width = Math.max('combination'.length, ...timings.map((timing) => timing.name.length));
      console.log(`\n      ${'combination'.padEnd(width)}  seconds  outcome  options`);
      for (const timing of timings) {
        console.log(
          `      ${timing.name.padEnd(width)}  ${timing.seconds.toFixed(0).padStart(7)}  ${timing.outcome.padEnd(7)}  ${timing.row}`,
        );
      }
      console.log(`      total: ${total.toFixed(0)} s for ${timings.length} combinations`);
    });

    /** The list routes of the resources below, whose cursors Schemathesis is told are opaque. */
    const RESOURCE_LISTS = ['GET /customers', 'GET /orders', 'GET /customers/{customer_id}/orders'];
    /** The writes of the resource with a JSON field (Order's `extra`). */
    const JSON_WRITES = ['POST /orders', 'PATCH /orders/{order_id}'];
    /** The README's example resources: every kind of field, and one belonging to the other. */
    const RESOURCES = [
      [
        'Customer',
        '--field',
        'name:str:120',
        '--field',
        'email:str!',
        '--field',
        'vip:bool',
        '--field',
        'bio:text?',
      ],
      [
        'Order',
        '--field',
        'total:decimal',
        '--field',
        'status:enum(new,paid,shipped)',
        '--field',
        'placed_on:date',
        '--field',
        'due_at:datetime?',
        '--field',
        'ref:uuid?',
        '--field',
        'items:int',
        '--field',
        'extra:json?',
        '--belongs-to',
        'customer',
      ],
    ];

    for (const combination of mine) {
      const { name, packageName, config, flags } = combination;
      // Tier 1 on the SQL database: two related resources too, so the checks, the served app, the JWT
      // attacks and Schemathesis cover `add resource`'s code in every option they are combined with.
      const withResources = config.tier === 1 && config.db === 'postgres';
      // One workspace: a resource in a service, whose tests and checks run with the service's.
      const serviceResource = name === SERVICE_RESOURCE_COMBINATION;
      const features: Features = { ...config, resources: withResources ? ['customers', 'orders'] : [] };
      describe(`${name}: ${describeRow(combination.row)}`, () => {
        let dir = '';
        let started = 0;
        let server: RunningServer | undefined;
        let auth: Credentials | undefined;
        /** The production settings the project is served with (without the agent provider's). */
        let served: Record<string, string> = {};
        /** The agent job worker: with REDIS_URL, jobs are queued in Redis for it, as in a deployment. */
        let worker: Worker | undefined;

        /** Serves the project (and its job worker) with `env`, after stopping what served it before. */
        const serve = async (env: Record<string, string>): Promise<RunningServer> => {
          await server?.stop();
          await worker?.stop();
          if (config.agents) worker = await startWorker(project(), packageName, env);
          server = await startServer(project(), packageName, env);
          return server;
        };
        const cleanups: (() => Promise<void> | void)[] = [];

        before(() => {
          started = Date.now();
        });

        after(async function () {
          await server?.stop();
          await worker?.stop();
          await auth?.close();
          for (const cleanup of cleanups.reverse()) await cleanup();
          const failed = this.test?.parent?.tests.some((test) => test.state === 'failed') ?? false;
          recordTiming({
            file: `test/e2e/matrix-part-${shard}.test.ts`,
            scenario: `${name} (${describeRow(combination.row)})`,
            seconds: (Date.now() - started) / 1000,
          });
          timings.push({
            name,
            row: describeRow(combination.row),
            seconds: (Date.now() - started) / 1000,
            outcome: failed ? 'FAILED' : 'passed',
          });
        });

        const project = (): string => {
          if (!dir) throw new Error(`${name} was not generated`);
          return dir;
        };

        it(`generates with ${flags.join(' ')}: every file, dependency, env var and service of its features, nothing else`, () => {
          dir = generateProject(name, flags);
          const stored = JSON.parse(readFileSync(path.join(dir, '.yo-rc.json'), 'utf8')) as Record<
            string,
            Json
          >;
          const answers = stored['generator-fastapi-forge'] ?? {};
          for (const [key, value] of Object.entries(config)) {
            // Flags that are off may be left unset.
            expect(answers[key] ?? (value === false ? false : undefined), `.yo-rc.json ${key}`).to.deep.equal(
              value,
            );
          }
          expect(checkGenerated(dir, packageName, features)).to.deep.equal([]);
        });

        if (withResources) {
          it('adds two related resources', () => {
            for (const args of RESOURCES) {
              run(process.execPath, [CLI, 'add', 'resource', ...args, '--yes', '--skip-install'], project());
            }
          });
        }

        if (serviceResource) {
          it('adds a resource to a service (`add resource --service`): its events and read model at tier 3', () => {
            const service: string = config.services?.[0] ?? DEFAULT_TIER2_SERVICES[0];
            const args = [...SERVICE_RESOURCE, '--service', service, '--yes', '--skip-install'];
            run(process.execPath, [CLI, 'add', 'resource', ...args], project());
            const member = path.join(project(), 'services', service, 'src', service);
            expect(readdirSync(path.join(member, 'migrations', 'versions'))).to.include('0005_invoices.py');
            expect(readFileSync(path.join(member, 'resources', 'read_model.py'), 'utf8')).to.include(
              '"invoice": view_table("read_invoices")',
            );
          });
        }

        if (FAST) return;

        it('passes ruff, ruff format, mypy --strict and its pytest suite against PostgreSQL and Redis', () => {
          const env: Record<string, string> = { REDIS_URL };
          if (config.db === 'postgres') {
            const server = freshDatabase('forge_matrix');
            cleanups.push(server.drop);
            // The project's tests create (and drop) their own databases on this server.
            env.TEST_DATABASE_URL = server.url;
          }
          const summary = verifyProject(project(), env, toolEnv);
          console.log(`        pytest: ${summary}`);
          const members = workspaceMembers(project());
          if (members.length > 0) {
            run(UV, ['sync', '--all-packages', '--quiet'], project(), toolEnv);
            // Services keep their own SQL database whatever the root's is: PostgreSQL here too.
            const memberEnv = { ...env };
            if (memberEnv.TEST_DATABASE_URL === undefined) {
              const server = freshDatabase('forge_matrix');
              cleanups.push(server.drop);
              memberEnv.TEST_DATABASE_URL = server.url;
            }
            for (const member of members) {
              console.log(
                `        ${member}: ${verifyMember(path.join(project(), member), memberEnv, toolEnv)}`,
              );
            }
          }
          if (config.db === 'mongo') {
            console.log('        MongoDB is not available here: its tests ran on the in-memory repository');
          }
        });

        it('imports only declared dependencies; reads only its features’ settings', () => {
          expect(checkInstalled(project(), packageName, features, toolEnv)).to.deep.equal([]);
        });

        it('reserves as service names every module its installed dependencies provide', () => {
          // Every member's dependencies installed (a no-op after the checks above).
          installProject(project(), toolEnv);
          const reserved = installedModules(project(), []);
          const installed = installedDistributionModules(project(), toolEnv);
          const missing = Object.entries(installed).flatMap(([distribution, modules]) =>
            modules.filter((module) => !reserved.has(module)).map((module) => `${module} (${distribution})`),
          );
          expect(Object.keys(installed).length).to.be.greaterThan(20);
          expect(missing, 'add them to lib/python-modules.ts').to.deep.equal([]);
        });

        it('serves in production mode: health, readiness, authentication, agents, and only its features’ routes', async () => {
          auth = await credentials(project(), combination);
          const env: Record<string, string> = {
            ...toolEnv,
            ENVIRONMENT: 'production',
            // Off by default in production; the routes are read from it, and Schemathesis fuzzes it.
            API_DOCS: 'true',
            CORS_ORIGINS: 'https://app.example.com',
            LOG_JSON: 'true',
            REDIS_URL,
            RATE_LIMIT: '100000/minute',
            // The attacks and the fuzzer fail authentication on purpose, far more often than a client.
            FAILED_AUTH_RATE_LIMIT: '100000/minute',
            RATE_LIMIT_PREFIX: `matrix-${randomSecret().slice(0, 12)}`,
            ...auth.env,
          };
          if (config.db === 'postgres') {
            const database = freshDatabase('forge_matrix_app');
            cleanups.push(database.drop);
            run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], project(), {
              ...toolEnv,
              DATABASE_URL: database.url,
            });
            env.DATABASE_URL = database.url;
          }
          if (config.db === 'redis') env.CACHE_PREFIX = `matrix-${randomSecret().slice(0, 12)}`;
          if (config.db === 'mongo') {
            // Production refuses to start without MONGODB_URL, and no MongoDB server can be had here.
            env.ENVIRONMENT = 'test';
            console.log('        served with ENVIRONMENT=test: notes in memory (no MongoDB server here)');
          }
          if (config.agents) {
            env.AGENT_QUEUE_NAME = `matrix-${randomSecret().slice(0, 12)}`;
            env.AGENT_LOCAL_TOKEN_DELAY_SECONDS = '0';
            env.AGENT_PROVIDER = 'local';
          }
          served = env;
          if (config.agents && config.agentSdk !== 'none') {
            // The SDK the project was generated with, against the fake provider API of its own tests.
            const provider = await startFakeProvider(project(), config.agentSdk, toolEnv);
            cleanups.push(provider.stop);
            await serve({ ...env, ...provider.env });
          } else await serve(env);
          const live = server as RunningServer;

          expect((await requestJson(live, 'GET', '/health', {})).body).to.include({ status: 'ok' });
          const ready = await requestJson(live, 'GET', '/health/ready', {});
          expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
          // Served without MongoDB, its notes live in memory, with no database to check.
          if (config.db !== 'none' && config.db !== 'mongo') {
            expect(ready.body.checks).to.have.property('database', 'ok');
          }

          const message = { message: 'hello from the matrix' };
          if (config.auth !== 'none') {
            const anonymous = await requestJson(live, 'POST', '/echo', {}, message);
            expect(anonymous.status).to.equal(401);
            expect(anonymous.body).to.include.keys('code', 'message', 'details', 'request_id', 'retryable');
            expect(anonymous.headers.get('www-authenticate')).to.be.a('string');
          }
          const echoed = await requestJson(live, 'POST', '/echo', auth.headers, message);
          expect(echoed.status, JSON.stringify(echoed.body)).to.equal(200);
          expect(echoed.body.message).to.equal(message.message);

          if (config.agents) {
            const ran = await requestJson(live, 'POST', '/agents/run', auth.headers, {
              input: 'What is 6 * 7?',
            });
            expect(ran.status, JSON.stringify(ran.body)).to.equal(200);
            expect(ran.body.output).to.be.a('string').and.include('The result is 42.');
            expect((ran.body.tool_calls as Json[])[0]).to.include({ name: 'calculator', output: '42' });
            const via =
              config.agentSdk === 'none'
                ? 'the local agent'
                : `${config.agentSdk} and a fake ${PROVIDER_API[config.agentSdk]} API on 127.0.0.1`;
            console.log(`        POST /agents/run answered through ${via}`);
          }

          const schema = await requestJson(live, 'GET', '/openapi.json', {});
          expect(checkRoutes(Object.keys(schema.body.paths as Json), features)).to.deep.equal([]);
        });

        if (combination.config.auth === 'jwt' || combination.config.auth === 'oidc') {
          it(`answers every JWT attack with 401, the error shape and a challenge (${combination.config.auth})`, async () => {
            if (!server || !auth?.target) throw new Error('the project is not being served');
            const outcomes = await runJwtAttacks(
              server.baseUrl,
              '/echo',
              { message: 'attack' },
              jwtAttacks(auth.target),
            );
            const failures = outcomes.filter((outcome) => outcome.problems.length > 0);
            expect(
              failures.map((outcome) => `${outcome.name}: ${outcome.problems.join('; ')}`),
            ).to.deep.equal([]);
            console.log(`        ${outcomes.length} attacks, each answered 401`);
            const control = await requestJson(server, 'POST', '/echo', auth.headers, {
              message: 'after the attacks',
            });
            expect(control.status).to.equal(200);
            const sent = auth.headers.authorization?.split('.')[2] ?? '';
            expect(sent).to.not.equal('');
            expect(server.logs(), 'a token appears in the logs').to.not.include(sent);
          });
        }

        if (fuzzed.has(name)) {
          it(`holds up under ${SCHEMATHESIS} with every check: no 5xx, every answer as documented`, async () => {
            if (!server || !auth) throw new Error('the project is not being served');
            if (served.AGENT_PROVIDER === 'local' && config.agentSdk !== 'none') {
              // Fuzzed runs go to the deterministic local agent: quick, and the same routes and schemas.
              await serve(served);
            }
            const lists = withResources ? RESOURCE_LISTS : [];
            const writes = withResources ? JSON_WRITES : [];
            const result = await fuzzApi((server as RunningServer).baseUrl, auth.headers, 15, lists, writes);
            expect(result.ok, result.report).to.equal(true);
            const counts = result.report
              .split('\n')
              .filter((line) => /generated|passed in|failures? in/.test(line));
            console.log(`        ${counts.join(' / ').trim()}`);
          });
        }
      });
    }
  });
}
