/**
 * `npm run bench`: generation time per tier (next to peer generators), throughput of a generated app against
 * a bare FastAPI app under the same uvicorn settings (wrk on loopback), cold start, and many concurrent SSE
 * streams and WebSocket connections on one worker. Results are measured in the same run and written as
 * markdown tables to bench/results.md. Not part of `npm test`: the machines are shared and noisy, so aims are
 * read off these tables rather than asserted by timed tests.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { CLI, makeTempDir } from '../helpers.js';
import { nowSeconds, randomSecret, signJwt } from '../e2e/fakes.js';
import { freePort, run, spawnInBackground, startServer, type RunningServer, UV } from '../e2e/processes.js';
import { generateProject } from '../e2e/projects.js';
import { type App, measureConcurrency, measureSessions } from './concurrency.js';
import { measureGateway } from './gateway.js';
import { measurePeers } from './peers.js';
import { CONNECTIONS, DURATION, ensureWrk, postScript, wrkRun } from './wrk.js';
import {
  aim,
  alternate,
  BENCH_SOURCES,
  childrenCpuSeconds,
  pathWithoutUv,
  firstLine,
  median,
  pairedRatio,
  type Row,
  seconds,
} from './support.js';

const rows: Row[] = [];
const notes: string[] = [];
/** The figures of every wrk round, shown after the note on throughput. */
const roundNotes: string[] = [];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? '3');
const ratio = (value: number, base: number): string => (value / base).toFixed(2);

/** The resident memory (KiB) of the largest process of a server's process group: its Python process. */
function serverRssKiB(server: RunningServer): number {
  const group = server.process.pid;
  let largest = 0;
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      // Field 5 of /proc/PID/stat is the process group; the command name before it may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== group) continue;
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      largest = Math.max(largest, Number(rss?.[1] ?? 0));
    } catch {
      // The process ended while it was being read.
    }
  }
  return largest;
}

/**
 * Synchronous agent runs without Redis, whose job records live in memory: the server's RSS after a warm-up
 * of a tenth of the runs, and after all of them. Flat memory is a ratio near 1.
 */
async function measureMemory(
  wrk: string,
  dir: string,
  env: Record<string, string>,
  script: string,
  uvicornArgs: string[],
): Promise<void> {
  const runs = Number(process.env.BENCH_MEMORY_RUNS ?? '100000');
  const warmUp = Math.round(runs / 10);
  const server = await startServer(dir, 'bench_app', env, uvicornArgs);
  try {
    const url = `${server.baseUrl}/agents/run`;
    // wrk runs for a time, not a number of requests: runs of 10 s until the count is reached.
    let made = 0;
    while (made < warmUp) made += wrkRun(wrk, url, { script, duration: '10' }).requests;
    const [warm, warmRuns] = [serverRssKiB(server), made];
    while (made < runs) made += wrkRun(wrk, url, { script, duration: '10' }).requests;
    const after = serverRssKiB(server);
    const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
    rows.push({
      measure: `RSS of POST /agents/run without Redis (jobs in memory), after ${made} synchronous runs`,
      generated: mib(after),
      baseline: `${mib(warm)} after ${warmRuns} runs`,
      ratio: (after / warm).toFixed(2),
      aim: aim('<= 1.10 (flat)', after / warm <= 1.1),
    });
    notes.push(
      `Memory: ${made} POST /agents/run with a JWT to one worker without REDIS_URL (job records in memory, at most AGENT_MEMORY_MAX_JOBS kept); RSS of its Python process read from /proc after ${warmRuns} runs and after all of them: ${(((after - warm) * 1024) / (made - warmRuns)).toFixed(0)} bytes per run in between.`,
    );
  } finally {
    await server.stop();
  }
}

/** The CPU time of each tier-1 generation, next to its wall time (which other work on the machine moves more). */
const generationCpu: number[] = [];

/** One `new --tier N` through the CLI process, in a fresh directory: its wall time in seconds. */
function generateTier(tier: number): number {
  const parent = makeTempDir('bench-gen');
  try {
    const cpuBefore = childrenCpuSeconds();
    const started = process.hrtime.bigint();
    run(
      process.execPath,
      [CLI, 'new', 'bench-gen', '--tier', String(tier), '--yes', '--skip-install'],
      parent,
      { PATH: pathWithoutUv() },
    );
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    if (tier === 1) generationCpu.push(childrenCpuSeconds() - cpuBefore);
    return wall;
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

/** Generation per tier. Returns whether tier 1 is generated, so the peers can be timed next to it. */
function measureGeneration(): boolean {
  let tierOne = false;
  for (const tier of [1, 2, 3]) {
    const measure = `generation, tier ${tier} (\`new --tier ${tier} --yes --skip-install\`, CLI process, median of 5)`;
    const times: number[] = [];
    try {
      for (let attempt = 0; attempt < 5; attempt++) times.push(generateTier(tier));
    } catch (error) {
      rows.push({ measure, generated: `failed: ${firstLine(error)}`, baseline: '', ratio: '', aim: '' });
      continue;
    }
    const took = median(times);
    if (tier === 1) tierOne = true;
    rows.push({
      measure,
      generated: tier === 1 ? `${seconds(took)} (CPU ${seconds(median(generationCpu))})` : seconds(took),
      baseline: '',
      ratio: '',
      aim: tier === 1 ? aim('<= 0.7 s', took <= 0.7) : '',
    });
  }
  notes.push(
    "Generation: wall time of the CLI process from spawn to exit; beside it for tier 1, its CPU time (user and system, read from /proc), which other work on a shared machine moves less. uv is left off its PATH, so the `uv lock` that `new` runs after writing the files (a resolution against the package index, about 2 s here) is skipped and not counted, as the peers' uv steps are not. The CLI keeps V8 code of its bundle in the user cache folder, so the first run after a build compiles it and the median of 5 is taken from warm runs, as a user sees them.",
  );
  return tierOne;
}

/** CPU time per request of both apps called in process (test/bench/asgi_cost.py): what the stack itself costs. */
function asgiCost(dir: string, env: Record<string, string>, token: string): Row[] {
  const measure = (target: string, serverEnv: Record<string, string>): Record<string, number> => {
    const output = run(
      UV,
      ['run', '--no-sync', 'python', path.join(BENCH_SOURCES, 'asgi_cost.py'), target, '--token', token],
      dir,
      { ...serverEnv, AGENT_LOCAL_TOKEN_DELAY_SECONDS: '0' },
    ).output;
    const line = output.split('\n').find((text) => text.startsWith('BENCH_ASGI_COST '));
    if (!line) throw new Error(`no figures from asgi_cost.py in:\n${output}`);
    return JSON.parse(line.slice('BENCH_ASGI_COST '.length)) as Record<string, number>;
  };
  const forged = measure('bench_app.main:create_app', env);
  const bare = measure('bare_app:create_app', {});
  return Object.keys(bare).map((endpoint) => ({
    measure: `CPU time per request in process (no server, no socket): ${endpoint === '/health' ? 'GET' : 'POST'} ${endpoint}`,
    generated: `${(forged[endpoint] ?? Number.NaN).toFixed(0)} µs`,
    baseline: `${(bare[endpoint] ?? Number.NaN).toFixed(0)} µs`,
    ratio: ratio(forged[endpoint] ?? Number.NaN, bare[endpoint] ?? Number.NaN),
    aim: '',
  }));
}

/** Prints the time of import, and of create_app + lifespan + first response, after the harness's imports. */
const COLD_START = (module: string) => `
import asyncio, json, time
import httpx
from asgi_lifespan import LifespanManager

started = time.perf_counter()
from ${module} import create_app
imported = time.perf_counter()

async def first_response() -> None:
    app = create_app()
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            assert (await client.get("/health")).status_code == 200

asyncio.run(first_response())
done = time.perf_counter()
print("BENCH_COLD_START", json.dumps({"import": imported - started, "total": done - started}))
`;

interface ColdStart {
  import: number;
  total: number;
}

function coldStartOnce(dir: string, module: string, env: Record<string, string>): ColdStart {
  const output = run(UV, ['run', '--no-sync', 'python', '-c', COLD_START(module)], dir, env).output;
  const line = output.split('\n').find((text) => text.startsWith('BENCH_COLD_START '));
  if (!line) throw new Error(`no cold start figure in:\n${output}`);
  return JSON.parse(line.slice('BENCH_COLD_START '.length)) as ColdStart;
}

/** From spawning uvicorn (the virtualenv's, without uv) to the first 200 from /health over HTTP. */
async function processStartOnce(dir: string, target: string, env: Record<string, string>): Promise<number> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const server = spawnInBackground(
    path.join(dir, '.venv', 'bin', 'uvicorn'),
    [target, '--factory', '--host', '127.0.0.1', '--port', String(port), '--no-access-log'],
    { cwd: dir, env: { ...process.env, ...env } },
  );
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (server.process.exitCode !== null) throw new Error(`uvicorn exited:\n${server.logs()}`);
      if (Date.now() > deadline) throw new Error(`no answer from /health within 30 s:\n${server.logs()}`);
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await server.stop();
  }
}

/** One endpoint measured on both apps: the median of each, and the median of the paired ratios. */
interface Paired {
  forged: number;
  bare: number;
  ratio: number;
}

/**
 * The settings of the uvicorn process in the project's image: the UVICORN_* variables its Dockerfile
 * sets, but host and port (the bench's own). The generated app is run with them.
 */
function imageServerEnv(dir: string): Record<string, string> {
  let dockerfile: string;
  try {
    dockerfile = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
  } catch {
    return {};
  }
  const env: Record<string, string> = {};
  for (const match of dockerfile.matchAll(/^\s*(?:ENV\s+)?(UVICORN_[A-Z_]+)=(\S+?)\s*\\?$/gm)) {
    const [, name, value] = match as unknown as [string, string, string];
    if (name !== 'UVICORN_HOST' && name !== 'UVICORN_PORT') env[name] = value;
  }
  return env;
}

/** `full`: every row of the app; otherwise only its memory rows (BENCH_ONLY=memory). */
async function measureApp(full: boolean): Promise<{ concurrency: string }> {
  const wrk = ensureWrk();
  // The agents app with the `none` provider: its local agent needs no API key and no network. --examples
  // for POST /echo, the authenticated route measured.
  const dir = generateProject('bench-app', [
    '--app-type',
    'agents',
    '--agent-sdk',
    'none',
    '--auth',
    'jwt',
    '--db',
    'none',
    '--examples',
  ]);
  try {
    return await measureProject(wrk, dir, full);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}

async function measureProject(wrk: string, dir: string, full: boolean): Promise<{ concurrency: string }> {
  // Bytecode compiled, as in the project's Docker image.
  run(UV, ['sync', '--quiet', '--compile-bytecode'], dir);
  copyFileSync(path.join(BENCH_SOURCES, 'bare_app.py'), path.join(dir, 'bare_app.py'));
  const secret = randomSecret();
  const issuer = 'https://auth.example.com';
  const env = {
    ...imageServerEnv(dir),
    ENVIRONMENT: 'production',
    CORS_ORIGINS: 'https://app.example.com',
    JWT_SECRET: secret,
    JWT_ISSUER: issuer,
    // The limiter runs on every request; the limit is only set high enough not to answer 429.
    RATE_LIMIT: '100000000/minute',
  };
  const token = signJwt(
    { sub: 'bench', iss: issuer, aud: 'bench-app', iat: nowSeconds(), exp: nowSeconds() + 3600 },
    { secret },
  );
  const uvicornArgs = ['--no-access-log', '--log-level', 'warning'];
  const auth = { Authorization: `Bearer ${token}` };
  const endpoints = [
    { key: 'health', path: '/health', script: undefined },
    {
      key: 'agentRun',
      path: '/agents/run',
      script: postScript(dir, 'agent-run', { input: 'benchmark' }, auth),
    },
    { key: 'echo', path: '/echo', script: postScript(dir, 'echo', { message: 'benchmark' }, auth) },
  ] as const;

  // POST /agents/run does the trivial work: the local agent answers at once, without a tool.
  const throughputEnv = { AGENT_LOCAL_TOKEN_DELAY_SECONDS: '0' };
  const agentRun = endpoints.find((endpoint) => endpoint.key === 'agentRun')?.script ?? '';
  // RSS over many agent runs, then over many SSE and WebSocket sessions opened and closed.
  const measureAllMemory = async (): Promise<void> => {
    await measureMemory(wrk, dir, { ...env, ...throughputEnv }, agentRun, uvicornArgs);
    const app = { label: 'generated', target: 'bench_app', env };
    const sessions = await measureSessions(dir, app, token, uvicornArgs);
    rows.push(...sessions.rows);
    notes.push(...sessions.notes);
  };
  if (!full) {
    await measureAllMemory();
    return { concurrency: '(not measured)' };
  }
  const results = {} as Record<(typeof endpoints)[number]['key'], Paired>;
  let forgedServer: RunningServer | undefined;
  let bareServer: RunningServer | undefined;
  try {
    // Both servers are up (an idle one costs nothing); wrk alternates between them, so the two figures of
    // a round are taken side by side and a burst of load from elsewhere does not favour one app.
    forgedServer = await startServer(dir, 'bench_app', { ...env, ...throughputEnv }, uvicornArgs);
    bareServer = await startServer(dir, 'bare_app:create_app', throughputEnv, uvicornArgs);
    for (const endpoint of endpoints) {
      const forgedUrl = `${forgedServer.baseUrl}${endpoint.path}`;
      const bareUrl = `${bareServer.baseUrl}${endpoint.path}`;
      // One second of warm-up each, not counted.
      wrkRun(wrk, forgedUrl, { script: endpoint.script, duration: '1' });
      wrkRun(wrk, bareUrl, { script: endpoint.script, duration: '1' });
      const forged: number[] = [];
      const bare: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) {
          bare.push(wrkRun(wrk, bareUrl, { script: endpoint.script }).rps);
          forged.push(wrkRun(wrk, forgedUrl, { script: endpoint.script }).rps);
        } else {
          forged.push(wrkRun(wrk, forgedUrl, { script: endpoint.script }).rps);
          bare.push(wrkRun(wrk, bareUrl, { script: endpoint.script }).rps);
        }
      }
      results[endpoint.key] = {
        forged: median(forged),
        bare: median(bare),
        ratio: pairedRatio(forged, bare),
      };
      const list = (values: number[]) => values.map((value) => value.toFixed(0)).join(', ');
      roundNotes.push(`Rounds of ${endpoint.path} (req/s): generated ${list(forged)}; bare ${list(bare)}.`);
    }
  } finally {
    await forgedServer?.stop();
    await bareServer?.stop();
  }
  const rps = (value: number): string => `${value.toFixed(0)} req/s`;
  rows.push({
    measure: `GET /health, 1 worker, ${CONNECTIONS} connections`,
    generated: rps(results.health.forged),
    baseline: rps(results.health.bare),
    ratio: results.health.ratio.toFixed(2),
    aim: aim('>= 0.85', results.health.ratio >= 0.85),
  });
  rows.push({
    measure:
      'POST /agents/run with a JWT, `none` provider (auth, rate limit, access log, agent runner), 1 worker',
    generated: rps(results.agentRun.forged),
    baseline: `${rps(results.agentRun.bare)} (same request and response models, no middleware)`,
    ratio: results.agentRun.ratio.toFixed(2),
    aim: aim('>= 0.5', results.agentRun.ratio >= 0.5),
  });
  rows.push({
    measure: 'POST /echo with a JWT (auth, rate limit, access log), 1 worker',
    generated: rps(results.echo.forged),
    baseline: `${rps(results.echo.bare)} (no middleware)`,
    ratio: results.echo.ratio.toFixed(2),
    aim: aim('>= 0.6', results.echo.ratio >= 0.6),
  });
  rows.push(...asgiCost(dir, env, token));
  await measureAllMemory();

  // The first, discarded run writes the bytecode of the project's own modules (an editable install) too.
  const writeBytecode = { PYTHONDONTWRITEBYTECODE: '' };
  const cold = await alternate(
    () => coldStartOnce(dir, 'bench_app.main', { ...env, ...writeBytecode }),
    () => coldStartOnce(dir, 'bare_app', writeBytecode),
  );
  const coldTotal = {
    forged: cold.forged.map((sample) => sample.total),
    bare: cold.bare.map((sample) => sample.total),
  };
  const coldImport = (samples: ColdStart[]) => seconds(median(samples.map((sample) => sample.import)), 3);
  rows.push({
    measure: 'cold start in process: import + create_app + lifespan + first response (median of 5)',
    generated: `${seconds(median(coldTotal.forged), 3)} (import ${coldImport(cold.forged)})`,
    baseline: `${seconds(median(coldTotal.bare), 3)} (import ${coldImport(cold.bare)})`,
    ratio: pairedRatio(coldTotal.forged, coldTotal.bare).toFixed(2),
    aim: aim('<= 0.5 s', median(coldTotal.forged) <= 0.5),
  });
  const started = await alternate(
    () => processStartOnce(dir, 'bench_app.main:create_app', env),
    () => processStartOnce(dir, 'bare_app:create_app', {}),
  );
  rows.push({
    measure: 'cold start of a uvicorn process: spawn to the first 200 from /health over HTTP (median of 5)',
    generated: seconds(median(started.forged), 3),
    baseline: seconds(median(started.bare), 3),
    ratio: pairedRatio(started.forged, started.bare).toFixed(2),
    aim: aim('<= 1.2x bare', pairedRatio(started.forged, started.bare) <= 1.2),
  });

  const apps: App[] = [
    { label: 'generated', target: 'bench_app', env },
    { label: 'bare FastAPI', target: 'bare_app:create_app', env: {} },
  ];
  const concurrency = await measureConcurrency(dir, apps, token, uvicornArgs);
  notes.push(...concurrency.notes);
  return { concurrency: concurrency.table };
}

/**
 * BENCH_ONLY=generation,app,gateway runs some parts of the bench; all of them by default. `memory` runs only
 * the memory rows of `app` (which holds them too).
 */
const PARTS = new Set((process.env.BENCH_ONLY ?? 'generation,app,gateway').split(','));

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const peerNotes: string[] = [];
  if (PARTS.has('generation')) {
    const tierOne = measureGeneration();
    const peers = await measurePeers(tierOne ? () => generateTier(1) : undefined);
    rows.push(...peers.rows);
    peerNotes.push(
      'Peers: each is installed by this run, pinned, with its template engine pinned, in a uv tool environment of its own.',
      ...peers.notes,
    );
  }
  const { concurrency } =
    PARTS.has('app') || PARTS.has('memory')
      ? await measureApp(PARTS.has('app'))
      : { concurrency: '(not measured)' };
  if (PARTS.has('gateway')) {
    const tierTwo = await measureGateway(ensureWrk());
    rows.push(...tierTwo.rows);
    notes.push(...tierTwo.notes);
  }
  const loadAfter = loadavg();

  const table = [
    '| measure | generated | baseline | ratio | aim |',
    '|---|---|---|---|---|',
    ...rows.map(
      (row) => `| ${row.measure} | ${row.generated} | ${row.baseline} | ${row.ratio} | ${row.aim} |`,
    ),
  ].join('\n');
  const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(', ');
  const allNotes = [
    `Measured ${new Date().toISOString()} on ${process.platform}, Node ${process.version}, one run of \`npm run bench\`. The machine has 2 cores shared with other work: load average ${load(loadBefore)} at the start and ${load(loadAfter)} at the end. Read the ratios, which compare figures taken in the same run, rather than the absolute figures.`,
    `Servers listen on loopback ports of the fixed range ${process.env.FORGE_PORT_RANGE ?? '(none: FORGE_PORT_RANGE unset, so any free port)'}, handed out in order.`,
    `Throughput: wrk -t1 -c${CONNECTIONS} -d${DURATION}s on loopback, one uvicorn worker (\`--no-access-log --log-level warning\`), both servers up at once, ${ROUNDS} rounds: in each round wrk runs against one app and then the other (the order alternates), the figures shown are the medians, and the ratio is the median of the rounds' ratios. The generated app is \`new bench-app --app-type agents --agent-sdk none --auth jwt --db none\` with ENVIRONMENT=production, its JSON access log at INFO (written to a file) and AGENT_LOCAL_TOKEN_DELAY_SECONDS=0 for /agents/run. The baseline (test/bench/bare_app.py) is a bare FastAPI app with the same endpoints, request and response models, served by the same uvicorn from the same virtualenv.`,
    ...roundNotes,
    'CPU time per request (test/bench/asgi_cost.py): each app is called in process through ASGI, the same requests as above, the lowest of three batches of 2000; CPU time of the process, not wall time, so other work on the machine moves it less than req/s. Its ratio is a cost: generated over bare, higher is slower.',
    'Cold start in process: the time to import the app module, build the app, run its lifespan and answer GET /health through httpx.ASGITransport, in a fresh interpreter (interpreter start-up and the harness imports of httpx and asgi-lifespan not counted). Bytecode is compiled beforehand, as in the Docker image: `uv sync --compile-bytecode` for the dependencies, and a first, discarded run for the modules of the project.',
    ...notes,
    ...peerNotes,
  ];
  const outDir = path.join(PACKAGE_ROOT, 'bench');
  mkdirSync(outDir, { recursive: true });
  const document = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (test/bench/run.ts).',
    '',
    table,
    '',
    '## Many concurrent streams on one worker',
    '',
    concurrency,
    '',
    '## Notes',
    '',
    ...allNotes.map((note) => `- ${note}`),
    '',
  ].join('\n');
  writeFileSync(path.join(outDir, 'results.md'), document);
  process.stdout.write(`${table}\n\n${concurrency}\n\nWritten to bench/results.md\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
