import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../lib/templates.js';

/** One line of the results table: the generated project's figure against its baseline, and the aim. */
export interface Row {
  measure: string;
  generated: string;
  baseline: string;
  ratio: string;
  aim: string;
}

/** The Python files of the benchmark, read from the source tree (tsc does not copy them to dist/). */
export const BENCH_SOURCES = path.join(PACKAGE_ROOT, 'test', 'bench');

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The median of the ratios of figures taken side by side (`a[i]` next to `b[i]`). */
export function pairedRatio(a: number[], b: number[]): number {
  return median(a.map((value, index) => value / (b[index] as number)));
}

/**
 * Runs the generated app's measure and the baseline's one after the other, `times` times, the order
 * alternating, after one discarded run of each (it writes bytecode and fills caches). Both then see the
 * same load from the rest of the machine, which on a shared machine moves more than the figures do.
 */
export async function alternate<T>(
  forged: () => T | Promise<T>,
  bare: () => T | Promise<T>,
  times = 5,
): Promise<{ forged: T[]; bare: T[] }> {
  await forged();
  await bare();
  const result = { forged: [] as T[], bare: [] as T[] };
  for (let round = 0; round < times; round++) {
    if (round % 2 === 0) {
      result.forged.push(await forged());
      result.bare.push(await bare());
    } else {
      result.bare.push(await bare());
      result.forged.push(await forged());
    }
  }
  return result;
}

export const seconds = (value: number, digits = 2): string => `${value.toFixed(digits)} s`;

/** "<= 1 s: met" or "... missed": the aim and whether this run reached it. */
export const aim = (text: string, met: boolean): string => `${text}: ${met ? 'met' : 'missed'}`;

/** The first line of an error's message, for a table cell. */
export const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]?.trim() ?? '';

const children = (pid: number): number[] => {
  const taskDir = `/proc/${pid}/task`;
  if (!existsSync(taskDir)) return [];
  return readdirSync(taskDir).flatMap((task) => {
    const file = path.join(taskDir, task, 'children');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  });
};

/**
 * The uvicorn process under `root` (the server is started through `uv run`, which waits on its child).
 * Its memory is the server's, not uv's.
 */
export function serverPid(root: number): number {
  const queue = [root];
  let found: number | undefined;
  while (queue.length) {
    const pid = queue.shift() as number;
    const comm = existsSync(`/proc/${pid}/comm`) ? readFileSync(`/proc/${pid}/comm`, 'utf8').trim() : '';
    if (comm && comm !== 'uv') found = pid;
    queue.push(...children(pid));
  }
  if (found === undefined) throw new Error(`no server process under pid ${root}`);
  return found;
}

/** The CPU time (user and system) a process has used, in ms: fields 14 and 15 of /proc/<pid>/stat, in 10 ms ticks. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name before the fields may hold spaces: they are counted from its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A field of /proc/<pid>/status in MiB: VmHWM is the peak resident set size, VmRSS the current one. */
export function memoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/**
 * The CPU time (user and system, in seconds) of this process's finished and reaped children: fields 16 and 17
 * of /proc/self/stat, in 10 ms ticks. Read before and after a synchronous child, it is that child's.
 */
export function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/**
 * PATH without the folders that hold a `uv`. The CLI then skips the `uv lock` it runs after generating (and
 * says what to run): generation is timed on its own, as the peers' are without their uv steps.
 */
export function pathWithoutUv(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir && !existsSync(path.join(dir, 'uv')))
    .join(path.delimiter);
}
