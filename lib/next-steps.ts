import type { ForgeConfig } from './config.js';

/** The port `make dev` serves on unless PORT is given (`make dev PORT=8001`). */
export const DEV_PORT = 8000;

/** A password for the first user of the final message: long enough for the users module's rules. */
export const EXAMPLE_PASSWORD = 'change-this-password-now';

interface NextStepsInput {
  config: Pick<ForgeConfig, 'projectName' | 'packageName' | 'auth' | 'services'>;
  /** The database the code is wired to. */
  db: string;
  /** The project directory as the user would type it. */
  where: string;
  /** False with --skip-install: the first command installs. */
  installed: boolean;
}

/**
 * The commands that take a new project to a 200 from a protected route, exactly for its options: each
 * line runs as it is, in order, in one shell (a test does just that). Comments say what a line is for.
 */
export function nextSteps({ config, db, where, installed }: NextStepsInput): string[] {
  const base = `http://127.0.0.1:${DEV_PORT}`;
  const workspace = config.services.length > 0;
  const lines = [`cd ${where}`];
  if (!installed) lines.push(workspace ? 'uv sync --all-packages' : 'uv sync');
  lines.push('cp .env.example .env   # development settings: edit them here');
  if (db === 'postgres') lines.push('make migrate   # the tables (an SQLite file until DATABASE_URL is set)');
  const users = db === 'postgres' && config.auth === 'jwt';
  if (users) {
    lines.push(
      `printf '%s\\n' '${EXAMPLE_PASSWORD}' | uv run python -m ${config.packageName}.users_cli create-user alice --password-stdin`,
    );
  }
  lines.push(`make dev &   # ${base}/docs`);
  const echo = `curl -s -X POST ${base}/echo -H 'content-type: application/json' -d '{"message": "hello"}'`;
  if (users) {
    lines.push(
      `TOKEN=$(curl -s -X POST ${base}/auth/token -d username=alice -d password=${EXAMPLE_PASSWORD} | uv run python -c "import json, sys; print(json.load(sys.stdin)['access_token'])")`,
      `curl -s -H "Authorization: Bearer $TOKEN" ${base}/users/me`,
    );
  } else if (config.auth === 'apikey') {
    lines.push(`${echo} -H 'X-API-Key: change-me-local-development-key'   # a key of API_KEYS in .env`);
  } else if (config.auth === 'none') {
    lines.push(echo);
  } else {
    // No users here to log in: tokens come from the issuer the API trusts.
    const issuer =
      config.auth === 'oidc' ? 'your identity provider (OIDC_ISSUER)' : 'JWT_ISSUER, signed with JWT_SECRET';
    lines.push(`${echo} -H "Authorization: Bearer $TOKEN"   # TOKEN from ${issuer}`);
  }
  // `make dev` serves the project's own service; the other members each run in a terminal of their own.
  const rest = workspace ? ', and how to start each service and the gateway' : '';
  lines.push(`make help   # every everyday command; README.md has the rest${rest}`);
  return lines;
}
