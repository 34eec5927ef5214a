import { request } from 'node:http';
import { expect } from 'chai';
import { randomSecret } from './fakes.js';
import { type RunningServer, startServer } from './processes.js';
import { generateProject, installProject } from './projects.js';

interface Reply {
  status: number;
  retryAfter: string | undefined;
}

/** One POST on a fresh TCP connection, so the kernel may hand it to either worker. */
function postOnNewConnection(baseUrl: string, path: string, headers: Record<string, string>): Promise<Reply> {
  const body = JSON.stringify({ message: 'counted' });
  return new Promise((resolve, reject) => {
    const req = request(
      `${baseUrl}${path}`,
      {
        method: 'POST',
        agent: false,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function startedWorkers(logs: string): number {
  const pids = logs
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"event": "startup_complete"'))
    .map((line) => (JSON.parse(line) as { pid?: number }).pid);
  return new Set(pids).size;
}

/** Process ids in the access-log lines of /echo requests. */
function echoPids(logs: string): number[] {
  return logs
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"path": "/echo"'))
    .map((line) => (JSON.parse(line) as { pid?: number }).pid)
    .filter((pid): pid is number => pid !== undefined);
}

describe('rate limit shared by two uvicorn workers through the real Redis', function () {
  this.timeout(15 * 60_000);
  let server: RunningServer | undefined;

  after(async () => server?.stop());

  it('lets exactly the configured number of requests through, whichever worker answers', async () => {
    const dir = generateProject('e2e-redis', [
      '--auth',
      'apikey',
      '--db',
      'none',
      '--app-type',
      'microservice',
      '--examples',
    ]);
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
    installProject(dir);

    const key = randomSecret();
    const limit = 5;
    server = await startServer(
      dir,
      'e2e_redis',
      {
        ENVIRONMENT: 'production',
        CORS_ORIGINS: 'https://app.example.com',
        API_KEYS: JSON.stringify({ shared: key }),
        REDIS_URL: redisUrl,
        RATE_LIMIT: `${limit}/minute`,
        // A fresh key space per run, so earlier runs in the same minute do not count.
        RATE_LIMIT_PREFIX: `e2e-${randomSecret().slice(0, 12)}`,
      },
      ['--workers', '2'],
    );

    // Both workers must have finished their lifespan startup before the traffic starts.
    const deadline = Date.now() + 60_000;
    while (startedWorkers(server.logs()) < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(startedWorkers(server.logs()), server.logs()).to.equal(2);

    // Concurrent batches on fresh connections until both workers have answered: one worker may
    // accept a whole burst by itself, so a single sequential loop proves nothing about sharing.
    const replies: Reply[] = [];
    const workerPids = new Set<number>();
    for (let batch = 0; batch < 10 && workerPids.size < 2; batch++) {
      const burst = Array.from({ length: 20 }, () =>
        postOnNewConnection(server?.baseUrl ?? '', '/echo', { 'x-api-key': key }),
      );
      replies.push(...(await Promise.all(burst)));
      for (const pid of echoPids(server.logs())) workerPids.add(pid);
    }
    const allowed = replies.filter((reply) => reply.status === 200).length;
    const limited = replies.filter((reply) => reply.status === 429);
    expect(allowed, JSON.stringify(replies)).to.equal(limit);
    expect(limited).to.have.length(replies.length - limit);
    for (const reply of limited) expect(Number(reply.retryAfter)).to.be.greaterThan(0);
    // Both worker processes answered, and still only `limit` requests got through in total.
    expect(workerPids.size, 'both workers answered').to.equal(2);
  });
});
