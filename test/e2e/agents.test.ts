import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { nowSeconds, randomSecret, signJwt } from './fakes.js';
import {
  run,
  type RunningServer,
  startServer,
  startWorker,
  UV,
  type Worker,
  requestJson,
} from './processes.js';
import { generateProject } from './projects.js';
import { startOwnRedis } from './redis-server.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const LONG_INPUT = Array.from({ length: 120 }, (_, index) => `word${index}`).join(' ');

type Json = Record<string, unknown>;

/** The item at `index` (negative: from the end); a missing one fails the test. */
function at<T>(items: T[], index: number): T {
  const item = items.at(index);
  if (item === undefined) throw new Error(`no item ${index} in ${JSON.stringify(items)}`);
  return item;
}

async function waitForJob(
  server: RunningServer,
  jobId: string,
  headers: Record<string, string>,
  done: (job: Json) => boolean,
  seconds = 60,
): Promise<Json> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const { status, body } = await requestJson(server, 'GET', `/agents/jobs/${jobId}`, headers);
    expect(status, JSON.stringify(body)).to.equal(200);
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`job ${jobId} is still ${String(body.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface SseEvent {
  event: string;
  id?: string;
  data: Json;
  /** Milliseconds since the request was sent. */
  at: number;
}

/** Reads an SSE response chunk by chunk, noting when each event arrived. */
async function readSse(url: string, headers: Record<string, string>): Promise<SseEvent[]> {
  const started = Date.now();
  const response = await fetch(url, { headers });
  expect(response.status).to.equal(200);
  expect(response.headers.get('content-type')).to.match(/^text\/event-stream/);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((line) => !line.startsWith(':'))
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart()]),
      ) as Record<string, string>;
      if (fields.data !== undefined) {
        events.push({
          event: fields.event ?? 'message',
          id: fields.id,
          data: JSON.parse(fields.data) as Json,
          at: Date.now() - started,
        });
      }
    }
  }
  return events;
}

/**
 * A WebSocket session from a Python client (the `websockets` package the project installs with uvicorn):
 * a refused connection without credentials, then run, ping and cancel over one authenticated socket.
 */
const WEBSOCKET_CLIENT = `
import asyncio, json, sys
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

async def main(url, token, long_input):
    report = {}
    try:
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            await ws.recv()
        report["anonymous"] = "accepted"
    except InvalidStatus as exc:
        report["anonymous"] = exc.response.status_code
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        async def until(done):
            seen = []
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                seen.append(message)
                if done(message):
                    return seen
        await ws.send(json.dumps({"type": "ping"}))
        report["ping"] = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "run", "input": "What is 6 * 7?", "run_id": "calc"}))
        report["run"] = await until(lambda m: m["type"] in ("result", "error"))
        await ws.send(json.dumps({"type": "run", "input": long_input, "run_id": "long"}))
        await until(lambda m: m["type"] == "token")
        await ws.send(json.dumps({"type": "cancel", "run_id": "long"}))
        report["cancelled"] = await until(lambda m: m["type"] in ("result", "error"))
        await ws.send(json.dumps({"type": "ping"}))
        report["after_cancel"] = json.loads(await ws.recv())
    print(json.dumps(report))

asyncio.run(main(*sys.argv[1:]))
`;

/**
 * Every agent SDK is generated, installed, linted, type-checked, tested (the real SDK against the project's
 * fake provider API) and served through a fake provider process by the option matrix, where each SDK is a
 * value of the agents dimension (test/e2e/matrix-suite.ts). This file follows one served project through
 * REST, SSE, WebSocket and Redis jobs.
 */
describe('agents end to end: REST, SSE, WebSocket and Redis jobs on real sockets', function () {
  this.timeout(60 * 60_000);

  describe('served: the deterministic local agent behind JWT auth, jobs through Redis and a worker process', () => {
    const name = 'e2e-agents-served';
    const packageName = name.replace(/-/g, '_');
    let dir = '';
    let server: RunningServer | undefined;
    let worker: Worker | undefined;
    const secret = randomSecret();
    const issuer = 'https://auth.example.com';
    const token = signJwt(
      { sub: 'e2e-user', iss: issuer, aud: name, iat: nowSeconds(), exp: nowSeconds() + 3600 },
      { secret },
    );
    const auth = { authorization: `Bearer ${token}` };
    const env: Record<string, string> = {
      ENVIRONMENT: 'production',
      CORS_ORIGINS: 'https://app.example.com',
      LOG_JSON: 'true',
      JWT_SECRET: secret,
      JWT_ISSUER: issuer,
      REDIS_URL,
      AGENT_PROVIDER: 'local',
      AGENT_LOCAL_TOKEN_DELAY_SECONDS: '0.05',
      AGENT_QUEUE_NAME: `e2e-agents-${randomSecret().slice(0, 12)}`,
      RATE_LIMIT: '1000/minute',
      RATE_LIMIT_PREFIX: `e2e-${randomSecret().slice(0, 12)}`,
    };

    const live = (): RunningServer => {
      if (!server) throw new Error('the API is not running');
      return server;
    };
    const runningWorker = (): Worker => {
      if (!worker) throw new Error('the worker is not running');
      return worker;
    };

    before(async () => {
      dir = generateProject(name, ['--agent-sdk', 'none', '--db', 'none', '--auth', 'jwt']);
      run(UV, ['sync', '--quiet'], dir);
      server = await startServer(dir, packageName, env);
    });

    after(async () => {
      await server?.stop();
      await worker?.stop();
      const logs = `${server?.logs() ?? ''}${worker?.logs() ?? ''}`;
      expect(logs, 'the bearer token appears in a log').to.not.include(token);
    });

    it('POST /agents/run answers with the output, usage, tool calls and run id', async () => {
      const anonymous = await requestJson(live(), 'POST', '/agents/run', {}, { input: 'What is 6 * 7?' });
      expect(anonymous.status).to.equal(401);
      const { status, body } = await requestJson(live(), 'POST', '/agents/run', auth, {
        input: 'What is 6 * 7?',
      });
      expect(status, JSON.stringify(body)).to.equal(200);
      expect(body.output).to.equal('The result is 42.');
      expect(body.run_id).to.match(/^[0-9a-f]{32}$/);
      expect((body.tool_calls as Json[])[0]).to.include({ name: 'calculator', output: '42' });
      expect((body.usage as Json).output_tokens).to.be.greaterThan(0);
    });

    it('streams a run over SSE, the first event long before the last', async () => {
      const input = Array.from({ length: 40 }, (_, index) => `w${index}`).join(' ');
      const events = await readSse(
        `${live().baseUrl}/agents/run/stream?input=${encodeURIComponent(input)}`,
        auth,
      );
      const last = at(events, -1);
      expect(last.event).to.equal('result');
      expect(events.filter((event) => event.event === 'token')).to.have.length(42);
      // 42 words, 50 ms apart: about two seconds from the first to the last.
      expect(last.at - at(events, 0).at).to.be.greaterThan(1500);
      expect(at(events, 0).at).to.be.lessThan(last.at / 2);
    });

    it('runs, pings and cancels over a WebSocket; refuses it without credentials', () => {
      const script = path.join(dir, 'ws_client.py');
      writeFileSync(script, WEBSOCKET_CLIENT);
      const wsUrl = `${live().baseUrl.replace('http', 'ws')}/agents/ws`;
      const { output } = run(UV, ['run', '--no-sync', 'python', script, wsUrl, token, LONG_INPUT], dir);
      const report = JSON.parse(output.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
      expect(report.anonymous).to.equal(403);
      expect(report.ping).to.deep.equal({ type: 'pong' });
      const runEvents = report.run as Json[];
      expect(runEvents[0]).to.deep.equal({ type: 'run_started', run_id: 'calc', agent: 'assistant' });
      expect(runEvents[runEvents.length - 1]).to.deep.include({ type: 'result', run_id: 'calc' });
      const cancelled = report.cancelled as Json[];
      expect(cancelled[cancelled.length - 1]).to.include({
        type: 'error',
        code: 'cancelled',
        run_id: 'long',
      });
      expect(cancelled.filter((message) => message.type === 'token').length).to.be.lessThan(120);
      expect(report.after_cancel).to.deep.equal({ type: 'pong' });
    });

    it('runs a background job through Redis and a separate worker process', async () => {
      worker = await startWorker(dir, packageName, env);
      const accepted = await requestJson(live(), 'POST', '/agents/run/async', auth, {
        input: 'What is 6 * 7?',
      });
      expect(accepted.status).to.equal(202);
      const jobId = String(accepted.body.job_id);
      expect(accepted.headers.get('location')).to.equal(`/agents/jobs/${jobId}`);
      const job = await waitForJob(live(), jobId, auth, (candidate) => candidate.status === 'succeeded');
      expect((job.result as Json).output).to.equal('The result is 42.');
      expect(worker.logs()).to.include(jobId);
      // The job's events, replayed from Redis, and resumed after the second one.
      const events = await readSse(`${live().baseUrl}/agents/run/stream?job_id=${jobId}`, auth);
      expect(at(events, -1).event).to.equal('result');
      const resumed = await readSse(`${live().baseUrl}/agents/run/stream?job_id=${jobId}`, {
        ...auth,
        'last-event-id': at(events, 1).id ?? '',
      });
      expect(resumed.map((event) => event.data)).to.deep.equal(events.slice(2).map((event) => event.data));
    });

    it('cancels a running job: the worker stops it', async () => {
      const accepted = await requestJson(live(), 'POST', '/agents/run/async', auth, { input: LONG_INPUT });
      const jobId = String(accepted.body.job_id);
      await waitForJob(live(), jobId, auth, (job) => job.status === 'running');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const cancelled = await requestJson(live(), 'DELETE', `/agents/jobs/${jobId}`, auth);
      expect(cancelled.status, JSON.stringify(cancelled.body)).to.equal(200);
      expect(cancelled.body.status).to.equal('cancelled');
      const events = await readSse(`${live().baseUrl}/agents/run/stream?job_id=${jobId}`, auth);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const later = await readSse(`${live().baseUrl}/agents/run/stream?job_id=${jobId}`, auth);
      const tokens = events.filter((event) => event.event === 'token').length;
      expect(tokens).to.be.within(1, 119);
      expect(at(events, -1).data).to.include({ code: 'cancelled' });
      expect(later.map((event) => event.data)).to.deep.equal(events.map((event) => event.data));
      expect(runningWorker().logs()).to.match(new RegExp(`"job_id": "${jobId}"[^\\n]*"status": "cancelled"`));
    });

    it('keeps a job queued across a restart of the API, and the worker started later completes it', async () => {
      await runningWorker().stop();
      const accepted = await requestJson(live(), 'POST', '/agents/run/async', auth, {
        input: 'What is 2 + 3?',
      });
      const jobId = String(accepted.body.job_id);
      await live().stop();
      server = await startServer(dir, packageName, env);
      const queued = await requestJson(server, 'GET', `/agents/jobs/${jobId}`, auth);
      expect(queued.body.status).to.equal('queued');
      worker = await startWorker(dir, packageName, env);
      const job = await waitForJob(server, jobId, auth, (candidate) => candidate.status === 'succeeded');
      expect((job.result as Json).output).to.equal('The result is 5.');
    });

    it('takes jobs again by itself once a Redis without persistence restarts empty', async () => {
      const redis = await startOwnRedis();
      const ownEnv = { ...env, REDIS_URL: redis.url };
      const api = await startServer(dir, packageName, ownEnv);
      let ownWorker: Worker | undefined;
      try {
        const submit = (): Promise<{ status: number; body: Json }> =>
          requestJson(api, 'POST', '/agents/run/async', auth, { input: 'What is 2 + 3?' });
        expect((await submit()).status).to.equal(202);
        await redis.restartEmpty(); // streaQ's library and queue are gone; no process restarts
        const after = await submit();
        expect(after.status, JSON.stringify(after.body)).to.equal(202);
        expect(api.logs()).to.include('job_queue_library_lost');
        ownWorker = await startWorker(dir, packageName, ownEnv);
        const job = await waitForJob(
          api,
          String(after.body.job_id),
          auth,
          (candidate) => candidate.status === 'succeeded',
        );
        expect((job.result as Json).output).to.equal('The result is 5.');
      } finally {
        await ownWorker?.stop();
        await api.stop();
        await redis.stop();
      }
    });
  });
});
