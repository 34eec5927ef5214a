import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { makeTempDir } from '../helpers.js';
import { OtlpReceiver, nowSeconds, randomSecret, signJwt } from './fakes.js';
import { run, type RunningServer, startServer, UV } from './processes.js';
import {
  type ExportedSpan,
  PARSE_METRICS,
  type Sample,
  generateProject,
  installProject,
  projectPython,
} from './projects.js';

const PG = 'postgresql+asyncpg://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const NAME = 'obs-e2e';
const PKG = 'obs_e2e';

type Json = Record<string, unknown>;

function psql(sql: string): void {
  const result = spawnSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-Atc', sql], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
}

function jsonLines(text: string): Json[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Json);
}

const accessLine = (logs: string, requestId: string): Json | undefined =>
  jsonLines(logs).find((line) => line.event === 'request' && line.request_id === requestId);

describe('observability: metrics and tracing of a served project', function () {
  this.timeout(900_000);
  const secret = randomSecret();
  const issuer = 'https://auth.example.com';
  const database = `forge_obs_${randomBytes(6).toString('hex')}`;
  const token = signJwt(
    { sub: 'e2e-user', iss: issuer, aud: NAME, iat: nowSeconds(), exp: nowSeconds() + 3600 },
    { secret },
  );
  let dir = '';
  let env: Record<string, string> = {};

  before(() => {
    dir = generateProject(NAME, [
      '--agent-sdk',
      'none',
      '--db',
      'postgres',
      '--auth',
      'jwt',
      '--observability',
    ]);
    psql(`CREATE DATABASE ${database}`);
    env = {
      LOG_JSON: 'true',
      JWT_SECRET: secret,
      JWT_ISSUER: issuer,
      DATABASE_URL: `${PG}/${database}`,
      REDIS_URL,
      RATE_LIMIT: '1000/minute',
      RATE_LIMIT_PREFIX: `obs-e2e-${randomBytes(4).toString('hex')}`,
      AGENT_QUEUE_NAME: `obs-e2e-${randomBytes(4).toString('hex')}`,
      AGENT_LOCAL_TOKEN_DELAY_SECONDS: '0',
    };
  });

  after(() => psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));

  // Its lint, type and test checks run in the option matrix's --observability combinations.
  it('installs', () => installProject(dir));

  describe('one worker, exporting spans to an OTLP/HTTP receiver', () => {
    const receiver = new OtlpReceiver();
    let server: RunningServer;
    const auth = (): Record<string, string> => ({ authorization: `Bearer ${token}` });
    const callerTrace = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');

    before(async () => {
      // The database the served app uses, migrated as a deployment does it.
      run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, {
        DATABASE_URL: env.DATABASE_URL ?? '',
      });
      await receiver.start();
      server = await startServer(dir, PKG, {
        ...env,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '200',
      });
      const agent = await fetch(`${server.baseUrl}/agents/run`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json', 'x-request-id': 'obs-agent-run-1' },
        body: JSON.stringify({ agent: 'assistant', input: 'What is 6 * 7?' }),
      });
      expect(agent.status, await agent.clone().text()).to.equal(200);
      const notes = await fetch(`${server.baseUrl}/notes`, {
        headers: { ...auth(), 'x-request-id': 'obs-notes-list-1' },
      });
      expect(notes.status, await notes.clone().text()).to.equal(200);
      const continued = await fetch(`${server.baseUrl}/notes`, {
        headers: {
          ...auth(),
          'x-request-id': 'obs-notes-list-2',
          traceparent: `00-${callerTrace}-${callerSpan}-01`,
        },
      });
      expect(continued.status).to.equal(200);
      const denied = await fetch(`${server.baseUrl}/notes`);
      expect(denied.status).to.equal(401);
    });

    after(async () => {
      await server?.stop();
      await receiver.close();
    });

    it('serves /metrics to a scraper without credentials, with the expected series', async () => {
      const response = await fetch(`${server.baseUrl}/metrics`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^text\/plain; version=/);
      const samples = projectPython<Sample[]>(dir, PARSE_METRICS, [], await response.text());
      const find = (name: string, labels: Record<string, string>): Sample | undefined =>
        samples.find(
          (sample) =>
            sample.name === name &&
            Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
        );
      expect(
        find('http_requests_total', { method: 'POST', route: '/agents/run', status: '200' })?.value,
      ).to.equal(1);
      expect(find('http_requests_total', { method: 'GET', route: '/notes', status: '200' })?.value).to.equal(
        2,
      );
      // Refused by the route's security dependency, so the answer carries the route it was refused on.
      expect(find('http_requests_total', { method: 'GET', route: '/notes', status: '401' })?.value).to.equal(
        1,
      );
      expect(find('http_request_duration_seconds_count', { method: 'GET', route: '/notes' })?.value).to.equal(
        3,
      );
      expect(find('http_request_duration_seconds_bucket', { route: '/notes', le: '+Inf' })).to.not.equal(
        undefined,
      );
      expect(find('agent_runs_total', { agent: 'assistant', outcome: 'completed' })?.value).to.equal(1);
      expect(find('agent_run_duration_seconds_count', { agent: 'assistant' })?.value).to.equal(1);
      expect(find('agent_tokens_total', { agent: 'assistant', direction: 'input' })?.value).to.be.greaterThan(
        0,
      );
      expect(
        find('agent_tokens_total', { agent: 'assistant', direction: 'output' })?.value,
      ).to.be.greaterThan(0);
      // Read from the streaQ queue in Redis at this scrape.
      expect(find('job_queue_depth', { queue: env.AGENT_QUEUE_NAME ?? '' })?.value).to.equal(0);
      expect(find('process_resident_memory_bytes', {})).to.not.equal(undefined);
      // Scrapes are neither access-logged nor counted under a raw path.
      expect(jsonLines(server.logs()).filter((line) => line.path === '/metrics')).to.deep.equal([]);
      expect(samples.filter((sample) => sample.labels.route?.startsWith('/notes/'))).to.deep.equal([]);
    });

    it('exports the spans of a request with the trace id its log lines carry', async () => {
      const agentLine = accessLine(server.logs(), 'obs-agent-run-1');
      const notesLine = accessLine(server.logs(), 'obs-notes-list-1');
      expect(agentLine?.trace_id, server.logs()).to.match(/^[0-9a-f]{32}$/);
      expect(notesLine?.trace_id).to.match(/^[0-9a-f]{32}$/);
      expect(notesLine?.trace_id).to.not.equal(agentLine?.trace_id);

      // The batch processor exports every 200 ms (OTEL_BSP_SCHEDULE_DELAY).
      const deadline = Date.now() + 30_000;
      let spans: ExportedSpan[] = [];
      while (Date.now() < deadline) {
        spans = receiver.spans(dir);
        // A request's child spans can land in an earlier batch than its server span, which ends last.
        const traces = new Set(
          spans.filter((span) => span.kind === 'SPAN_KIND_SERVER').map((span) => span.traceId),
        );
        if (
          traces.has(String(agentLine?.trace_id)) &&
          traces.has(String(notesLine?.trace_id)) &&
          traces.has(callerTrace)
        )
          break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const inTrace = (traceId: unknown): ExportedSpan[] => spans.filter((span) => span.traceId === traceId);

      const agentServer = inTrace(agentLine?.trace_id).filter((span) => span.kind === 'SPAN_KIND_SERVER');
      expect(
        agentServer.map((span) => span.name),
        JSON.stringify(spans),
      ).to.deep.equal(['POST /agents/run']);
      expect(agentServer[0]?.service).to.equal(NAME);
      expect(agentServer[0]?.spanId).to.equal(agentLine?.span_id);

      const notes = inTrace(notesLine?.trace_id);
      const notesServer = notes.find((span) => span.kind === 'SPAN_KIND_SERVER');
      expect(notesServer?.name).to.equal('GET /notes');
      expect(notesServer?.attributes['http.route']).to.equal('/notes');
      const children = notes.filter((span) => span.parentSpanId === notesServer?.spanId);
      const sql = children.filter((span) => Object.values(span.attributes).includes('postgresql'));
      expect(sql.length, JSON.stringify(notes)).to.be.greaterThan(0);
      expect(sql.every((span) => span.kind === 'SPAN_KIND_CLIENT')).to.equal(true);
      // The rate limiter's Redis commands are spans of the request too.
      const redis = children.filter((span) => Object.values(span.attributes).includes('redis'));
      expect(redis.length, JSON.stringify(notes)).to.be.greaterThan(0);

      // A caller's traceparent is continued, not replaced.
      const continued = inTrace(callerTrace).find((span) => span.kind === 'SPAN_KIND_SERVER');
      expect(continued?.parentSpanId).to.equal(callerSpan);
      expect(accessLine(server.logs(), 'obs-notes-list-2')?.trace_id).to.equal(callerTrace);

      // Probes and scrapes are not traced.
      expect(spans.filter((span) => /health|metrics/.test(span.name))).to.deep.equal([]);
      process.stdout.write(
        `      OTLP receiver got ${spans.length} spans in ${receiver.bodies.length} requests\n`,
      );
    });
  });

  it('adds up the workers of `uvicorn --workers 2` with PROMETHEUS_MULTIPROC_DIR', async () => {
    const multiproc = path.join(makeTempDir('multiproc'), 'metrics');
    mkdirSync(multiproc);
    const server = await startServer(dir, PKG, { ...env, PROMETHEUS_MULTIPROC_DIR: multiproc }, [
      '--workers',
      '2',
    ]);
    try {
      const requests = 40;
      for (let index = 0; index < requests; index++) {
        // A new connection each time, so the kernel spreads them over both workers.
        const response = await fetch(`${server.baseUrl}/openapi.json`, { headers: { connection: 'close' } });
        expect(response.status).to.equal(200);
        await response.arrayBuffer();
      }
      const pids = new Set(
        jsonLines(server.logs())
          .filter((line) => line.event === 'request' && line.path === '/openapi.json')
          .map((line) => line.pid),
      );
      for (let scrape = 0; scrape < 4; scrape++) {
        const response = await fetch(`${server.baseUrl}/metrics`, { headers: { connection: 'close' } });
        const samples = projectPython<Sample[]>(dir, PARSE_METRICS, [], await response.text());
        const served = samples.filter(
          (sample) =>
            sample.name === 'http_requests_total' &&
            sample.labels.route === '/openapi.json' &&
            sample.labels.status === '200',
        );
        expect(served.map((sample) => sample.value)).to.deep.equal([requests]);
      }
      process.stdout.write(
        `      ${requests} requests served by ${pids.size} worker process(es), counted once\n`,
      );
    } finally {
      await server.stop();
    }
  });
});
