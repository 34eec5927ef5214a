import type { ForgeConfig } from './config.js';

/** The port `make dev` serves on unless PORT is given (`make dev PORT=8001`). */
export const DEV_PORT = 8000;

/** A password for the first user of the final message: long enough for the users module's rules. */
export const EXAMPLE_PASSWORD = 'change-this-password-now';

interface NextStepsInput {
  config: Pick<ForgeConfig, 'projectName' | 'packageName' | 'auth' | 'services'> &
    Partial<Pick<ForgeConfig, 'examples' | 'agents'>>;
  /** The database the code is wired to. */
  db: string;
  /** The project directory as the user would type it. */
  where: string;
  /** False with --skip-install: the first command installs. */
  installed: boolean;
}

const BASE_URL = `http://127.0.0.1:${DEV_PORT}`;

/**
 * curl's arguments for a protected request the project serves, for the final message and the README: the
 * example route, else the notes resource, the Redis cache, the agents' jobs; undefined when nothing is
 * protected yet.
 */
export function protectedRequest(
  config: Partial<Pick<ForgeConfig, 'examples' | 'agents'>>,
  db: string,
): string | undefined {
  const json = (method: string, path: string, body: string) =>
    `-X ${method} ${BASE_URL}${path} -H 'content-type: application/json' -d '${body}'`;
  if (config.examples === true) return json('POST', '/echo', '{"message": "hello"}');
  if (db === 'postgres' || db === 'mongo') return json('POST', '/notes', '{"title": "hello"}');
  if (db === 'redis') return json('PUT', '/cache/hello', '{"value": "hello"}');
  if (config.agents === true) return `${BASE_URL}/agents/jobs`;
  return undefined;
}

/**
 * A development token for JWT without stored users: signed with the JWT_SECRET of `.env`, for the issuer and
 * audience the project checks, valid for 15 minutes.
 */
export function signedDevelopmentToken(packageName: string): string {
  const claims =
    '{"sub": "alice", "iss": c.jwt_issuer, "aud": c.jwt_audience, "exp": int(time.time()) + 900}';
  return `TOKEN=$(uv run python -c 'import jwt, time; from ${packageName}.config import get_settings as s; c = s(); print(jwt.encode(${claims}, c.jwt_secret.get_secret_value()))')`;
}

/**
 * The commands that take a new project to a 200 from a protected route (or, without one, from its readiness
 * probe), exactly for its options: each line runs as it is, in order, in one shell (a test does just that).
 * Comments say what a line is for.
 */
export function nextSteps({ config, db, where, installed }: NextStepsInput): string[] {
  const base = BASE_URL;
  const workspace = config.services.length > 0;
  const lines = [`cd ${shellWord(where)}`];
  if (!installed) lines.push(workspace ? 'uv sync --all-packages' : 'uv sync');
  lines.push('cp .env.example .env   # development settings: edit them here');
  if (db === 'postgres') lines.push('make migrate   # the tables (an SQLite file until DATABASE_URL is set)');
  const users = db === 'postgres' && config.auth === 'jwt';
  if (users) {
    lines.push(
      `printf '%s\\n' '${EXAMPLE_PASSWORD}' | uv run python -m ${config.packageName}.users_cli create-user alice --password-stdin`,
    );
  }
  // `&` keeps the shell for the next lines; the server takes a few seconds to listen, so the next line waits.
  lines.push(
    `make dev &   # the server in the background (or without & in a terminal of its own): ${base}/docs`,
    `curl -sf --retry 60 --retry-delay 1 --retry-connrefused -o /dev/null ${base}/health   # waits until it answers`,
  );
  const request = protectedRequest(config, db);
  if (users) {
    lines.push(
      `TOKEN=$(curl -s -X POST ${base}/auth/token -d username=alice -d password=${EXAMPLE_PASSWORD} | uv run python -c "import json, sys; print(json.load(sys.stdin)['access_token'])")`,
      `curl -s -H "Authorization: Bearer $TOKEN" ${base}/users/me`,
    );
  } else if (request === undefined) {
    lines.push(`curl -s ${base}/health/ready   # no protected route yet: --examples adds POST /echo`);
  } else if (config.auth === 'apikey') {
    lines.push(
      `curl -s ${request} -H 'X-API-Key: change-me-local-development-key'   # a key of API_KEYS in .env`,
    );
  } else if (config.auth === 'none') {
    lines.push(`curl -s ${request}`);
  } else if (config.auth === 'jwt') {
    // No users here to log in: a development token signed with the JWT_SECRET of .env.
    lines.push(
      signedDevelopmentToken(config.packageName),
      `curl -s ${request} -H "Authorization: Bearer $TOKEN"`,
    );
  } else {
    // Tokens come from the identity provider the API trusts.
    lines.push(
      `curl -s ${request} -H "Authorization: Bearer $TOKEN"   # TOKEN from your identity provider (OIDC_ISSUER)`,
    );
  }
  // `make dev` serves the project's own service; the other members each run in a terminal of their own.
  const rest = workspace ? ', and how to start each service and the gateway' : '';
  lines.push(`make help   # every everyday command; README.md has the rest${rest}`);
  return lines;
}

/** A path as one shell word: as it is when it is plain, else single-quoted. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
