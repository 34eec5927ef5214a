import { spawnSync } from 'node:child_process';
import { freePort, spawnInBackground } from './processes.js';

/** A `redis-server` of a test's own, on a free port, keeping nothing on disk (as a cache would). */
export interface OwnRedis {
  url: string;
  /** Stops the server without saving, and starts an empty one on the same port: Redis restarted. */
  restartEmpty: () => Promise<void>;
  stop: () => Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const start = async (): Promise<() => Promise<void>> => {
    const server = spawnInBackground(
      'redis-server',
      ['--port', String(port), '--save', '', '--appendonly', 'no'],
      {
        cwd: process.cwd(),
        env: process.env,
      },
    );
    const deadline = Date.now() + 10_000;
    while (
      spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG'
    ) {
      if (server.process.exitCode !== null || Date.now() > deadline) {
        throw new Error(`redis-server did not start on ${port}:\n${server.logs()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return server.stop;
  };
  let stop = await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    restartEmpty: async () => {
      await stop();
      stop = await start();
    },
    stop: () => stop(),
  };
}
