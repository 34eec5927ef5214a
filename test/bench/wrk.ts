/** wrk, the load generator of `npm run bench`: one place for how it is found, run and read. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { run } from '../e2e/processes.js';

export const DURATION = process.env.BENCH_SECONDS ?? '6';
export const CONNECTIONS = process.env.BENCH_CONNECTIONS ?? '32';

export function ensureWrk(): string {
  const found = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (process.getuid?.() === 0) {
    spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit' });
    const installed = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
    if (installed) return installed;
  }
  throw new Error('wrk is required: apt-get install wrk');
}

export interface WrkResult {
  rps: number;
  p99Ms: number;
  requests: number;
}

export interface WrkOptions {
  /** A Lua script (see {@link postScript}); GET without one. */
  script?: string;
  headers?: Record<string, string>;
  duration?: string;
}

/** One wrk run against one URL; any non-2xx answer fails the run. */
export function wrkRun(wrk: string, url: string, options: WrkOptions = {}): WrkResult {
  const args = [
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${options.duration ?? DURATION}s`,
    '--latency',
    ...Object.entries(options.headers ?? {}).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
    ...(options.script ? ['-s', options.script] : []),
    url,
  ];
  const output = run(wrk, args, PACKAGE_ROOT).output;
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  if (non2xx) throw new Error(`wrk saw ${non2xx[1]} failed responses on ${url}:\n${output}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1];
  const made = /(\d+) requests in/.exec(output)?.[1];
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(output);
  if (!rps || !made || !p99?.[1]) throw new Error(`unexpected wrk output:\n${output}`);
  const unit = { us: 0.001, ms: 1, s: 1000 }[p99[2] as 'us' | 'ms' | 's'];
  return { rps: Number(rps), p99Ms: Number(p99[1]) * unit, requests: Number(made) };
}

/** A wrk script that POSTs `body` as JSON with `headers`. */
export function postScript(dir: string, name: string, body: object, headers: Record<string, string>): string {
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = '${JSON.stringify(body)}'`,
    'wrk.headers["Content-Type"] = "application/json"',
    ...Object.entries(headers).map(([header, value]) => `wrk.headers["${header}"] = "${value}"`),
  ];
  const file = path.join(dir, `${name}.lua`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
