/**
 * `npm run bench`: generation time, throughput of a generated app against a bare FastAPI app under the
 * same uvicorn settings (wrk on loopback), and cold start. Results are ratios measured in the same run,
 * written as a markdown table to bench/results.md. Not part of `npm test`: the machines are shared and
 * noisy, so aims are read off this table rather than asserted by timed tests.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { CLI, makeTempDir } from '../helpers.js';
import {
  generateProject,
  nowSeconds,
  randomSecret,
  run,
  signJwt,
  startServer,
  type RunningServer,
  UV,
} from '../e2e/support.js';

interface Row {
  measure: string;
  value: string;
  baseline: string;
  ratio: string;
  aim: string;
}

const rows: Row[] = [];
const DURATION = process.env.BENCH_SECONDS ?? '8';
const CONNECTIONS = process.env.BENCH_CONNECTIONS ?? '32';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function ensureWrk(): string {
  const found = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (process.getuid?.() === 0) {
    spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit' });
    const installed = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
    if (installed) return installed;
  }
  throw new Error('wrk is required: apt-get install wrk');
}

/** Requests per second reported by wrk for one endpoint. */
function wrkRps(wrk: string, url: string, script?: string): number {
  const args = [
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${DURATION}s`,
    '--latency',
    ...(script ? ['-s', script] : []),
    url,
  ];
  const output = run(wrk, args, PACKAGE_ROOT).output;
  const match = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  if (non2xx) throw new Error(`wrk saw ${non2xx[1]} failed responses on ${url}:\n${output}`);
  if (!match?.[1]) throw new Error(`no Requests/sec in wrk output:\n${output}`);
  return Number(match[1]);
}

function postScript(dir: string, headers: Record<string, string>): string {
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = '{"message": "benchmark"}'`,
    'wrk.headers["Content-Type"] = "application/json"',
    ...Object.entries(headers).map(([name, value]) => `wrk.headers["${name}"] = "${value}"`),
  ];
  const file = path.join(dir, 'post.lua');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** A bare FastAPI app with the same two endpoints, in the generated project's environment. */
function writeBaseline(dir: string): void {
  writeFileSync(
    path.join(dir, 'bare_app.py'),
    [
      'from fastapi import FastAPI',
      'from pydantic import BaseModel',
      '',
      '',
      'class Echo(BaseModel):',
      '    message: str',
      '',
      '',
      'def create_app() -> FastAPI:',
      '    app = FastAPI()',
      '',
      '    @app.get("/health")',
      '    async def health() -> dict[str, str]:',
      '        return {"status": "ok"}',
      '',
      '    @app.post("/echo")',
      '    async def echo(body: Echo) -> Echo:',
      '        return body',
      '',
      '    return app',
      '',
    ].join('\n'),
  );
}

function measureGeneration(): void {
  for (const tier of ['1', '2', '3']) {
    const times: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const parent = makeTempDir('bench-gen');
      const started = process.hrtime.bigint();
      run(process.execPath, [CLI, 'new', 'bench-gen', '--tier', tier, '--yes', '--skip-install'], parent);
      times.push(Number(process.hrtime.bigint() - started) / 1e9);
    }
    const seconds = median(times);
    rows.push({
      measure: `generation, tier ${tier} (CLI process, median of 5)`,
      value: `${seconds.toFixed(2)} s`,
      baseline: '',
      ratio: '',
      aim: tier === '1' ? `<= 1 s: ${seconds <= 1 ? 'met' : 'missed'}` : '',
    });
  }
}

const COLD_START = (module: string) => `
import asyncio, time
started = time.perf_counter()
import httpx
from asgi_lifespan import LifespanManager
from ${module} import create_app

async def first_response() -> None:
    app = create_app()
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            assert (await client.get("/health")).status_code == 200

asyncio.run(first_response())
print(time.perf_counter() - started)
`;

function coldStart(dir: string, module: string, env: Record<string, string>): number {
  const samples: number[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const output = run(UV, ['run', '--no-sync', 'python', '-c', COLD_START(module)], dir, env).output;
    samples.push(Number(output.trim().split('\n').pop()));
  }
  return median(samples);
}

async function measureApp(): Promise<void> {
  const wrk = ensureWrk();
  const dir = generateProject('bench-app', ['--auth', 'jwt', '--db', 'none']);
  run(UV, ['sync', '--quiet'], dir);
  writeBaseline(dir);
  const secret = randomSecret();
  const issuer = 'https://auth.example.com';
  const env = {
    ENVIRONMENT: 'production',
    CORS_ORIGINS: 'https://app.example.com',
    JWT_SECRET: secret,
    JWT_ISSUER: issuer,
    RATE_LIMIT: '100000000/minute',
  };
  const token = signJwt(
    { sub: 'bench', iss: issuer, aud: 'bench-app', iat: nowSeconds(), exp: nowSeconds() + 3600 },
    { secret },
  );
  const uvicornArgs = ['--no-access-log', '--log-level', 'warning'];

  const throughput = async (module: string, serverEnv: Record<string, string>) => {
    let server: RunningServer | undefined;
    try {
      server = await startServer(dir, module, serverEnv, uvicornArgs);
      const health = wrkRps(wrk, `${server.baseUrl}/health`);
      const echo = wrkRps(
        wrk,
        `${server.baseUrl}/echo`,
        postScript(dir, { Authorization: `Bearer ${token}` }),
      );
      return { health, echo };
    } finally {
      await server?.stop();
    }
  };
  const bare = await throughput('bare_app:create_app', {});
  const forged = await throughput('bench_app', env);
  const ratio = (value: number, base: number) => (value / base).toFixed(2);
  rows.push({
    measure: `GET /health, 1 worker, ${CONNECTIONS} connections`,
    value: `${forged.health.toFixed(0)} req/s`,
    baseline: `${bare.health.toFixed(0)} req/s`,
    ratio: ratio(forged.health, bare.health),
    aim: `>= 0.85: ${forged.health / bare.health >= 0.85 ? 'met' : 'missed'}`,
  });
  rows.push({
    measure: 'POST /echo with a JWT (auth, rate limit, logging, errors), 1 worker',
    value: `${forged.echo.toFixed(0)} req/s`,
    baseline: `${bare.echo.toFixed(0)} req/s (no middleware)`,
    ratio: ratio(forged.echo, bare.echo),
    aim: '',
  });

  const cold = coldStart(dir, 'bench_app.main', env);
  const coldBare = coldStart(dir, 'bare_app', {});
  rows.push({
    measure: 'cold start: import + lifespan + first response (median of 5)',
    value: `${cold.toFixed(3)} s`,
    baseline: `${coldBare.toFixed(3)} s`,
    ratio: ratio(cold, coldBare),
    aim: `<= 0.5 s: ${cold <= 0.5 ? 'met' : 'missed'}`,
  });
}

async function main(): Promise<void> {
  measureGeneration();
  await measureApp();
  const table = [
    '| measure | generated | baseline | ratio | aim |',
    '|---|---|---|---|---|',
    ...rows.map((row) => `| ${row.measure} | ${row.value} | ${row.baseline} | ${row.ratio} | ${row.aim} |`),
  ].join('\n');
  const notes = [
    `Measured ${new Date().toISOString()} on ${process.platform}, Node ${process.version}; wrk -t1 -c${CONNECTIONS} -d${DURATION}s on loopback.`,
    'The baseline is a bare FastAPI app with the same endpoints, run by the same uvicorn in the same virtualenv.',
    'Peers (cookiecutter/copier templates) are not timed: their templates are fetched from repositories this machine cannot reach.',
  ];
  const outDir = path.join(PACKAGE_ROOT, 'bench');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'results.md'), `# Benchmarks\n\n${table}\n\n${notes.join('\n')}\n`);
  process.stdout.write(`${table}\n\nWritten to bench/results.md\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
