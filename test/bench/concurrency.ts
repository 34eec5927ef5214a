/**
 * Many concurrent agent runs on one uvicorn worker: N SSE streams, or N WebSocket connections that each
 * ping and then run the agent, all opened at once by test/bench/load_client.py (httpx and websockets, in
 * the generated project's virtualenv). Each scenario gets a fresh server, so its peak RSS is its own.
 */
import path from 'node:path';
import { run, startServer, UV } from '../e2e/processes.js';
import { BENCH_SOURCES, firstLine, memoryMiB, seconds, serverPid } from './support.js';

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
          server = await startServer(
            dir,
            app.target,
            { ...app.env, AGENT_LOCAL_TOKEN_DELAY_SECONDS: TOKEN_DELAY_SECONDS },
            uvicornArgs,
          );
          const pid = serverPid(server.process.pid as number);
          const idle = memoryMiB(pid, 'VmRSS');
          const output = run(
            UV,
            [
              'run',
              '--no-sync',
              'python',
              path.join(BENCH_SOURCES, 'load_client.py'),
              mode,
              server.baseUrl,
              String(n),
              '--token',
              token,
              '--input',
              STREAM_INPUT,
            ],
            dir,
          ).output;
          const report = JSON.parse(output.trim().split('\n').pop() ?? '{}') as LoadReport;
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
