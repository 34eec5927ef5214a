/**
 * The tier-2 rows of `npm run bench`: a generated service called directly and through the generated
 * gateway, and the service against a bare FastAPI + SQLAlchemy app serving the same list
 * (test/bench/bare_service.py). One uvicorn worker each, PostgreSQL on this machine, wrk on loopback.
 */
import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { nowSeconds, randomSecret, signJwt } from '../e2e/fakes.js';
import { run, type RunningServer, startHttpProcess, freePort, UV } from '../e2e/processes.js';
import { freshDatabase, generateProject, migrateService } from '../e2e/projects.js';
import { aim, BENCH_SOURCES, median, pairedRatio, type Row } from './support.js';
import { CONNECTIONS, DURATION, wrkRun, type WrkResult } from './wrk.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? '3');
const SERVICE = 'orders';

interface Compared {
  measured: WrkResult[];
  baseline: WrkResult[];
}

/** wrk against two URLs in alternate order, round after round; one warm-up second each first. */
function compare(wrk: string, measured: string, baseline: string, headers: Record<string, string>): Compared {
  wrkRun(wrk, measured, { headers, duration: '1' });
  wrkRun(wrk, baseline, { headers, duration: '1' });
  const result: Compared = { measured: [], baseline: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const pair = [
      () => result.measured.push(wrkRun(wrk, measured, { headers })),
      () => result.baseline.push(wrkRun(wrk, baseline, { headers })),
    ];
    for (const step of round % 2 === 0 ? pair : pair.reverse()) step();
  }
  return result;
}

function row(
  measure: string,
  compared: Compared,
  baselineLabel: string,
  aimText: string,
  floor: number,
): Row {
  const rps = (results: WrkResult[]) => results.map((result) => result.rps);
  const ratio = pairedRatio(rps(compared.measured), rps(compared.baseline));
  return {
    measure,
    generated: `${median(rps(compared.measured)).toFixed(0)} req/s`,
    baseline: `${median(rps(compared.baseline)).toFixed(0)} req/s (${baselineLabel})`,
    ratio: ratio.toFixed(2),
    aim: aim(aimText, ratio >= floor),
  };
}

async function serve(cwd: string, target: string, env: Record<string, string>): Promise<RunningServer> {
  const port = await freePort();
  const args = ['run', '--no-sync', 'uvicorn', target, '--factory', '--no-access-log'];
  return startHttpProcess(UV, [...args, '--host', '127.0.0.1', '--port', String(port)], {
    cwd,
    env: { ...process.env, ...env },
    baseUrl: `http://127.0.0.1:${port}`,
  });
}

export async function measureGateway(wrk: string): Promise<{ rows: Row[]; notes: string[] }> {
  const dir = generateProject('bench-gw', [
    '--tier',
    '2',
    '--services',
    SERVICE,
    '--agent-sdk',
    'none',
    '--auth',
    'jwt',
    '--db',
    'postgres',
  ]);
  const database = freshDatabase('bench_gw');
  const servers: RunningServer[] = [];
  try {
    run(UV, ['sync', '--quiet', '--all-packages', '--compile-bytecode'], dir);
    const serviceDir = path.join(dir, 'services', SERVICE);
    copyFileSync(path.join(BENCH_SOURCES, 'bare_service.py'), path.join(serviceDir, 'bare_service.py'));
    const secret = randomSecret();
    const issuer = 'https://auth.example.com';
    const subject = 'bench';
    const token = signJwt(
      { sub: subject, iss: issuer, aud: 'bench-gw', iat: nowSeconds(), exp: nowSeconds() + 3600 },
      { secret },
    );
    const headers = { Authorization: `Bearer ${token}` };
    const common = {
      ENVIRONMENT: 'production',
      CORS_ORIGINS: 'https://app.example.com',
      JWT_SECRET: secret,
      JWT_ISSUER: issuer,
      LOG_LEVEL: 'WARNING',
      // Every request passes the limiter; the limit is only set high enough not to answer 429.
      RATE_LIMIT: '100000000/minute',
    };
    // A service never changes its database's schema itself: migrated first, as its compose service is.
    migrateService(dir, SERVICE, database.url);
    const service = await serve(serviceDir, `${SERVICE}.main:create_app`, {
      ...common,
      [`${SERVICE.toUpperCase()}_DATABASE_URL`]: database.url,
    });
    servers.push(service);
    // A page of 20 of the caller's items to list.
    for (let index = 0; index < 20; index++) {
      const response = await fetch(`${service.baseUrl}/items`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `item ${index}` }),
      });
      if (response.status !== 201)
        throw new Error(`POST /items: ${response.status} ${await response.text()}`);
    }
    const gateway = await serve(path.join(dir, 'gateway'), 'bench_gw_gateway.main:create_app', {
      ...common,
      [`${SERVICE.toUpperCase()}_URL`]: service.baseUrl,
    });
    servers.push(gateway);
    const bare = await serve(serviceDir, 'bare_service:create_app', {
      BENCH_DATABASE_URL: database.url,
      BENCH_OWNER: subject,
    });
    servers.push(bare);

    const health = compare(wrk, `${gateway.baseUrl}/${SERVICE}/health`, `${service.baseUrl}/health`, headers);
    const p99 = (results: WrkResult[]) => median(results.map((result) => result.p99Ms));
    const p99Ratio = p99(health.measured) / p99(health.baseline);
    const listed = compare(wrk, `${gateway.baseUrl}/${SERVICE}/items`, `${service.baseUrl}/items`, headers);
    const direct = compare(wrk, `${service.baseUrl}/items`, `${bare.baseUrl}/items`, headers);
    const healthRow = row(
      `GET /${SERVICE}/health through the gateway (auth, rate limit, proxy), 1 worker each`,
      health,
      `/health of the service, called directly`,
      '>= 0.45',
      0.45,
    );
    const rows: Row[] = [
      healthRow,
      {
        measure: `p99 latency of GET /${SERVICE}/health through the gateway`,
        generated: `${p99(health.measured).toFixed(1)} ms`,
        baseline: `${p99(health.baseline).toFixed(1)} ms (direct)`,
        ratio: p99Ratio.toFixed(2),
        aim: aim('<= 3', p99Ratio <= 3),
      },
      row(
        `GET /${SERVICE}/items with a JWT through the gateway (20 rows from PostgreSQL)`,
        listed,
        'the service called directly',
        '>= 0.9',
        0.9,
      ),
      row(
        `GET /items of a tier-2 service with a JWT (20 rows from PostgreSQL), 1 worker`,
        direct,
        'bare FastAPI + SQLAlchemy, same query, no middleware',
        '>= 0.5',
        0.5,
      ),
    ];
    const notes = [
      `Tier 2: \`new bench-gw --tier 2 --services ${SERVICE} --agent-sdk none --auth jwt --db postgres\`, ENVIRONMENT=production, the service on its own PostgreSQL database holding 20 items of the caller, the gateway in front of it, and test/bench/bare_service.py (SQLAlchemy's default pool, the same query) from the same virtualenv; wrk -t1 -c${CONNECTIONS} -d${DURATION}s, ${ROUNDS} rounds in alternate order, medians and the median of the paired ratios. The gateway makes two HTTP exchanges for each request it serves, and checks the caller's token and rate limit before it forwards.`,
    ];
    return { rows, notes };
  } finally {
    for (const server of servers) await server.stop();
    database.drop();
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}
