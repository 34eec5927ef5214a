import { request } from 'node:http';
import { expect } from 'chai';
import { generateProject, randomSecret, type RunningServer, startServer, verifyProject } from './support.js';

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

describe('rate limit shared by two uvicorn workers through the real Redis', function () {
  this.timeout(15 * 60_000);
  let server: RunningServer | undefined;

  after(async () => server?.stop());

  it('lets exactly the configured number of requests through, whichever worker answers', async () => {
    const dir = generateProject('e2e-redis', ['--auth', 'apikey', '--db', 'none']);
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
    verifyProject(dir, { REDIS_URL: redisUrl });

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

    const replies: Reply[] = [];
    for (let attempt = 0; attempt < 16; attempt++) {
      replies.push(await postOnNewConnection(server.baseUrl, '/echo', { 'x-api-key': key }));
    }
    const allowed = replies.filter((reply) => reply.status === 200).length;
    const limited = replies.filter((reply) => reply.status === 429);
    expect(allowed, JSON.stringify(replies)).to.equal(limit);
    expect(limited).to.have.length(replies.length - limit);
    for (const reply of limited) expect(Number(reply.retryAfter)).to.be.greaterThan(0);

    // Both worker processes answered: the access log lines of /echo carry two different process ids.
    const workerPids = new Set(
      server
        .logs()
        .split('\n')
        .filter((line) => line.startsWith('{') && line.includes('/echo'))
        .map((line) => (JSON.parse(line) as { pid?: number }).pid)
        .filter((pid) => pid !== undefined),
    );
    expect(workerPids.size, server.logs()).to.equal(2);
  });
});
