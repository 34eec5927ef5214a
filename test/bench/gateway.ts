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
import { aim, BENCH_SOURCES, cpuMs, median, pairedRatio, type Row, serverPid } from './support.js';
import { CONNECTIONS, DURATION, wrkRun, type WrkResult } from './wrk.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? '3');
const SERVICE = 'orders';

interface Compared {
  measured: WrkResult[];
  baseline: WrkResult[];
  /** Per side, the CPU milliseconds per request of each process watched on that side. */
  cpu: { measured: number[]; baseline: number[] };
}

/** The server processes whose CPU each side of a comparison uses (uvicorn's, under `uv run`). */
interface Watched {
  measured: RunningServer[];
  baseline: RunningServer[];
}

/**
 * wrk against two URLs in alternate order, round after round; one warm-up second each first. The CPU each
 * request costs the servers is steadier than throughput on a loaded machine, where a request that crosses
 * two processes also waits twice for a core.
 */
function compare(
  wrk: string,
  measured: string,
  baseline: string,
  headers: Record<string, string>,
  watched: Watched = { measured: [], baseline: [] },
): Compared {
  wrkRun(wrk, measured, { headers, duration: '1' });
  wrkRun(wrk, baseline, { headers, duration: '1' });
  const pids = {
    measured: watched.measured.map((server) => serverPid(server.process.pid as number)),
    baseline: watched.baseline.map((server) => serverPid(server.process.pid as number)),
  };
  const spent = { measured: pids.measured.map(() => 0), baseline: pids.baseline.map(() => 0) };
  const result: Compared = { measured: [], baseline: [], cpu: { measured: [], baseline: [] } };
  const step = (side: 'measured' | 'baseline', url: string) => () => {
    const before = pids[side].map(cpuMs);
    result[side].push(wrkRun(wrk, url, { headers }));
    pids[side].forEach((pid, index) => {
      spent[side][index] = (spent[side][index] as number) + cpuMs(pid) - (before[index] as number);
    });
  };
  for (let round = 0; round < ROUNDS; round++) {
    const pair = [step('measured', measured), step('baseline', baseline)];
    for (const run of round % 2 === 0 ? pair : pair.reverse()) run();
  }
  for (const side of ['measured', 'baseline'] as const) {
    const requests = result[side].reduce((sum, round) => sum + round.requests, 0);
    result.cpu[side] = spent[side].map((ms) => ms / requests);
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
    const gatewayDir = path.join(dir, 'gateway');
    copyFileSync(path.join(BENCH_SOURCES, 'bare_proxy.py'), path.join(gatewayDir, 'bare_proxy.py'));
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
    const gateway = await serve(gatewayDir, 'bench_gw_gateway.main:create_app', {
      ...common,
      [`${SERVICE.toUpperCase()}_URL`]: service.baseUrl,
    });
    servers.push(gateway);
    const bare = await serve(serviceDir, 'bare_service:create_app', {
      BENCH_DATABASE_URL: database.url,
      BENCH_OWNER: subject,
    });
    servers.push(bare);
    // The least a Python proxy does, from the gateway's virtualenv (the same aiohttp and uvicorn).
    const bareProxy = await serve(gatewayDir, 'bare_proxy:create_app', {
      BENCH_UPSTREAM_URL: service.baseUrl,
      BENCH_PREFIX: `/${SERVICE}`,
    });
    servers.push(bareProxy);

    const health = compare(
      wrk,
      `${gateway.baseUrl}/${SERVICE}/health`,
      `${service.baseUrl}/health`,
      headers,
      {
        measured: [gateway, service],
        baseline: [service],
      },
    );
    const ceiling = compare(
      wrk,
      `${bareProxy.baseUrl}/${SERVICE}/health`,
      `${service.baseUrl}/health`,
      headers,
      { measured: [bareProxy, service], baseline: [service] },
    );
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
    const [gatewayCpu = 0, behindCpu = 0] = health.cpu.measured;
    const directCpu = health.cpu.baseline[0] ?? 0;
    const [proxyCpu = 0] = ceiling.cpu.measured;
    const rows: Row[] = [
      healthRow,
      {
        measure: `CPU per request of GET /${SERVICE}/health through the gateway: gateway + service`,
        generated: `${gatewayCpu.toFixed(2)} + ${behindCpu.toFixed(2)} ms`,
        baseline: `${directCpu.toFixed(2)} ms (the service, called directly)`,
        ratio: (directCpu / (gatewayCpu + behindCpu)).toFixed(2),
        aim: 'none: read with the row above (the CPU share of the two-process ceiling)',
      },
      {
        ...row(
          `GET /${SERVICE}/health through test/bench/bare_proxy.py (aiohttp relay only: no middleware, auth, limit, retry)`,
          ceiling,
          'the service, called directly',
          '',
          0,
        ),
        aim: 'none: the ceiling of a Python proxy on this machine, in this run',
      },
      {
        measure: `CPU per request of the gateway against the bare proxy, on GET /${SERVICE}/health`,
        generated: `${gatewayCpu.toFixed(3)} ms`,
        baseline: `${proxyCpu.toFixed(3)} ms (bare_proxy.py)`,
        ratio: (proxyCpu / gatewayCpu).toFixed(2),
        aim: 'none: what the gateway adds to the relay (middleware, auth, rate limit, resilience)',
      },
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
