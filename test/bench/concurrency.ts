/**
 * Many concurrent agent runs on one uvicorn worker: N SSE streams, or N WebSocket connections that each
 * ping and then run the agent, all opened at once by test/bench/load_client.py (httpx and websockets, in
 * the generated project's virtualenv). Each scenario gets a fresh server, so its peak RSS is its own.
 * Sessions opened and closed in batches show what each leaves behind in the server's memory.
 */
import path from 'node:path';
import { run, type RunningServer, startServer, UV } from '../e2e/processes.js';
import { aim, BENCH_SOURCES, firstLine, memoryMiB, type Row, seconds, serverPid } from './support.js';

/** What load_client.py prints. */
interface LoadReport {
  n: number;
  completed: number;
  failed: number;
  failures: Record<string, number>;
  wall_seconds: number;
  first_event_p50: number | null;
  first_event_p99: number | null;
  client_cpu_seconds: number;
}

export interface App {
  label: string;
  /** uvicorn's target: a package (its main:create_app) or module:factory. */
  target: string;
  env: Record<string, string>;
}

/** The words the local agent streams back: "You said: " and the input, 13 tokens in all. */
export const STREAM_INPUT = 'stream these words to every client at the same time please';

/** The app served by one uvicorn worker, its local agent streaming a token every TOKEN_DELAY_SECONDS. */
function startAgentServer(dir: string, app: App, uvicornArgs: string[]): Promise<RunningServer> {
  const env = { ...app.env, AGENT_LOCAL_TOKEN_DELAY_SECONDS: TOKEN_DELAY_SECONDS };
  return startServer(dir, app.target, env, uvicornArgs);
}

/** test/bench/load_client.py run with `args` (and STREAM_INPUT), in the project's virtualenv: its report. */
function loadClient(dir: string, args: string[]): LoadReport {
  const script = path.join(BENCH_SOURCES, 'load_client.py');
  const command = ['run', '--no-sync', 'python', script, ...args, '--input', STREAM_INPUT];
  const output = run(UV, command, dir).output;
  return JSON.parse(output.trim().split('\n').pop() ?? '{}') as LoadReport;
}
export const TOKEN_DELAY_SECONDS = '0.02';

const optionalSeconds = (value: number | null): string => (value === null ? 'n/a' : seconds(value));

/** The markdown table of every scenario against both apps, and the notes it needs. */
export async function measureConcurrency(
  dir: string,
  apps: App[],
  token: string,
  uvicornArgs: string[],
): Promise<{ table: string; notes: string[] }> {
  const counts = (process.env.BENCH_STREAMS ?? '200,1000').split(',').map(Number);
  const lines = [
    '| scenario | app | completed | failed | wall time | first token p50 | first token p99 | server peak RSS (idle) | client CPU |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const mode of ['sse', 'ws'] as const) {
    for (const n of counts) {
      for (const app of apps) {
        const scenario =
          mode === 'sse' ? `${n} SSE streams (GET /agents/run/stream)` : `${n} WebSockets: ping + run`;
        let server;
        try {
          server = await startAgentServer(dir, app, uvicornArgs);
          const pid = serverPid(server.process.pid as number);
          const idle = memoryMiB(pid, 'VmRSS');
          const report = loadClient(dir, [mode, server.baseUrl, String(n), '--token', token]);
          const peak = memoryMiB(pid, 'VmHWM');
          const reasons = Object.entries(report.failures)
            .map(([reason, count]) => `${count} ${reason}`)
            .join(', ');
          lines.push(
            `| ${scenario} | ${app.label} | ${report.completed}/${n} | ${report.failed}${reasons ? ` (${reasons})` : ''} | ${seconds(report.wall_seconds)} | ${optionalSeconds(report.first_event_p50)} | ${optionalSeconds(report.first_event_p99)} | ${peak.toFixed(0)} MiB (${idle.toFixed(0)} MiB) | ${seconds(report.client_cpu_seconds, 1)} |`,
          );
        } catch (error) {
          lines.push(`| ${scenario} | ${app.label} | not measured: ${firstLine(error)} | | | | | | |`);
        } finally {
          await server?.stop();
        }
      }
    }
  }
  const notes = [
    `Concurrency: every connection is opened at once against one uvicorn worker. The local agent streams ${
      STREAM_INPUT.split(' ').length + 2
    } tokens, ${TOKEN_DELAY_SECONDS} s apart (so a run lasts at least ${(
      (STREAM_INPUT.split(' ').length + 2) *
      Number(TOKEN_DELAY_SECONDS)
    ).toFixed(2)} s); the bare app streams the same tokens with the same pause.`,
    'First token is measured from the start of the connection (TCP connect, HTTP request or WebSocket handshake, and for WebSockets a ping) to the first token of the run; a connection counts as completed when its run ends with a result event. Server peak RSS is VmHWM of the uvicorn process (a fresh process per scenario), idle is its VmRSS before the load. The client runs on the same 2 cores; its CPU time is shown because it competes with the server.',
  ];
  return { table: lines.join('\n'), notes };
}

/** What {@link measureSessions} reports: rows of the results table and their notes. */
export interface SessionsReport {
  rows: Row[];
  notes: string[];
}

/**
 * Many SSE streams, then many WebSocket sessions, opened and closed on one worker of the generated app, a
 * batch at a time; every second session leaves at its run's first token, as a client that goes away. The
 * server's RSS is read after a warm-up of a tenth of the sessions and after all of them: flat memory is a
 * ratio near 1. Each mode gets a fresh server.
 */
export async function measureSessions(
  dir: string,
  app: App,
  token: string,
  uvicornArgs: string[],
): Promise<SessionsReport> {
  const sessions = Number(process.env.BENCH_SESSIONS ?? '10000');
  const batch = Number(process.env.BENCH_SESSION_BATCH ?? '100');
  const warmUp = Math.round(sessions / 10);
  const rows: Row[] = [];
  for (const mode of ['sse', 'ws'] as const) {
    const measure = `RSS over ${sessions} ${mode === 'sse' ? 'SSE streams (GET /agents/run/stream)' : 'WebSocket sessions (/agents/ws: ping + run)'} opened and closed, ${batch} at a time, 1 worker`;
    let server: RunningServer | undefined;
    try {
      server = await startAgentServer(dir, app, uvicornArgs);
      const { baseUrl } = server;
      const pid = serverPid(server.process.pid as number);
      const open = (count: number): LoadReport => {
        const report = loadClient(dir, [
          mode,
          baseUrl,
          String(count),
          '--token',
          token,
          '--batch',
          String(batch),
          '--leave-early',
        ]);
        if (report.failed > 0) {
          throw new Error(`${report.failed} of ${count} sessions failed: ${JSON.stringify(report.failures)}`);
        }
        return report;
      };
      open(warmUp);
      const warm = memoryMiB(pid, 'VmRSS');
      open(sessions - warmUp);
      const after = memoryMiB(pid, 'VmRSS');
      rows.push({
        measure,
        generated: `${after.toFixed(1)} MiB`,
        baseline: `${warm.toFixed(1)} MiB after ${warmUp} sessions`,
        ratio: (after / warm).toFixed(2),
        aim: aim('<= 1.10 (flat)', after / warm <= 1.1),
      });
    } catch (error) {
      rows.push({
        measure,
        generated: `not measured: ${firstLine(error)}`,
        baseline: '',
        ratio: '',
        aim: '',
      });
    } finally {
      await server?.stop();
    }
  }
  const notes = [
    `Sessions: load_client.py opens ${sessions} sessions per mode against one fresh worker of the generated app, ${batch} at a time (a batch once the previous one has closed); every second session closes its connection at its run's first token, the others at the run's result. The local agent streams with ${TOKEN_DELAY_SECONDS} s between tokens. RSS (VmRSS of the uvicorn process) is read after the first ${warmUp} sessions and after all of them. The server runs with the environment of the project's image (the UVICORN_* settings of its Dockerfile).`,
  ];
  return { rows, notes };
}
