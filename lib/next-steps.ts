import type { ForgeConfig } from './config.js';

/** The port `make dev` serves on unless PORT is given (`make dev PORT=8001`). */
export const DEV_PORT = 8000;

interface NextStepsInput {
  config: Pick<ForgeConfig, 'packageName' | 'services'>;
  /** The project directory as the user would type it. */
  where: string;
  /** False with --skip-install: the first command installs. */
  installed: boolean;
  /** The schema is migrated before the app serves (a SQL database): `make migrate` comes first. */
  migrated: boolean;
  /** Lines before the server starts (a first user, say). */
  setup: string[];
  /**
   * The lines that take the running server to a 200 from a protected route (or, without one, from its
   * readiness probe): the authentication kind's, for the project's sample request (generators/auth).
   */
  request: string[];
}

export const BASE_URL = `http://127.0.0.1:${DEV_PORT}`;

/** A request the project serves, as the database or feature that serves it gives it. */
export interface SampleRequest {
  method: string;
  path: string;
  /** A JSON body; none for a GET. */
  body?: string;
}

/** curl's arguments for a sample request. */
export function curlArguments({ method, path, body }: SampleRequest): string {
  if (body === undefined) return `${BASE_URL}${path}`;
  return `-X ${method} ${BASE_URL}${path} -H 'content-type: application/json' -d '${body}'`;
}

/**
 * The commands that take a new project to a 200 from a protected route (or, without one, from its readiness
 * probe), exactly for its options: each line runs as it is, in order, in one shell (a test does just that).
 * Comments say what a line is for.
 */
export function nextSteps({ config, where, installed, migrated, setup, request }: NextStepsInput): string[] {
  const workspace = config.services.length > 0;
  const lines = [`cd ${shellWord(where)}`];
  if (!installed) lines.push(workspace ? 'uv sync --all-packages' : 'uv sync');
  lines.push('cp .env.example .env   # development settings: edit them here');
  if (migrated) lines.push('make migrate   # the tables (an SQLite file until DATABASE_URL is set)');
  lines.push(...setup);
  // `&` keeps the shell for the next lines; the server takes a few seconds to listen, so the next line waits.
  lines.push(
    `make dev &   # the server in the background (or without & in a terminal of its own): ${BASE_URL}/docs`,
    `curl -sf --retry 60 --retry-delay 1 --retry-connrefused -o /dev/null ${BASE_URL}/health   # waits until it answers`,
    ...request,
  );
  // `make dev` serves the project's own service; the other members each run in a terminal of their own.
  const rest = workspace ? ', and how to start each service and the gateway' : '';
  lines.push(`make help   # every everyday command; README.md has the rest${rest}`);
  return lines;
}

/** A path as one shell word: as it is when it is plain, else single-quoted. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
