import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { run, UV } from './processes.js';
import { generateProject } from './projects.js';

/** Pinned, so that a new release of a generator cannot change what this test proves. */
const OPENAPI_PYTHON_CLIENT = 'openapi-python-client==0.29.1';
const NODE_BIN = path.join(PACKAGE_ROOT, 'node_modules/.bin');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Clients generated from a project's OpenAPI schema type-check strictly and know how to authenticate:
 * openapi-typescript's types under `tsc --strict`, and openapi-python-client's package under
 * `mypy --strict`. The project has stored users, agents and notes, so its schema holds the OAuth2
 * password flow, SSE and paginated routes.
 */
describe('generated API clients', function () {
  const name = 'e2e-clients';
  const packageName = name.replace(/-/g, '_');
  let dir = '';
  let schema: Json = {};

  before(() => {
    dir = generateProject(name, ['--agent-sdk', 'none', '--db', 'postgres', '--auth', 'jwt']);
    run(UV, ['sync', '--quiet'], dir);
    const dump = [
      'import json',
      `from ${packageName}.config import Settings`,
      `from ${packageName}.main import create_app`,
      'settings = Settings(_env_file=None, environment="test", jwt_secret="x" * 40, jwt_issuer="https://id.example",',
      '    database_url="sqlite+aiosqlite:///unused.sqlite3")',
      'print(json.dumps(create_app(settings).openapi()))',
    ].join('\n');
    const output = run(UV, ['run', '--no-sync', 'python', '-c', dump], dir).output;
    schema = JSON.parse(output.trim().split('\n').pop() ?? '{}') as Json;
    writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(schema));
  });

  it('declares how every protected operation authenticates, with readable operation ids', () => {
    expect(Object.keys(schema.components.securitySchemes)).to.deep.equal(['OAuth2PasswordBearer']);
    expect(schema.components.securitySchemes.OAuth2PasswordBearer.flows.password.tokenUrl).to.equal(
      'auth/token',
    );
    const operations = Object.values(schema.paths as Json).flatMap((methods) =>
      Object.values(methods as Json),
    );
    const ids = operations.map((operation) => (operation as Json).operationId as string);
    expect(ids).to.include.members([
      'agents-run-agent',
      'agents-list-jobs',
      'notes-create-note',
      'users-issue-token',
    ]);
    for (const operation of operations as Json[]) {
      const isPublic = ['health', 'users-issue-token'].some((id) =>
        String(operation.operationId).startsWith(id),
      );
      expect(Boolean(operation.security), operation.operationId).to.equal(!isPublic);
    }
  });

  it('openapi-typescript: the types pass tsc --strict, and name every operation by its id', () => {
    run(
      path.join(NODE_BIN, 'openapi-typescript'),
      ['openapi.json', '--default-non-nullable=false', '-o', 'client/schema.d.ts'],
      dir,
    );
    // Uses the types the way a client would: a request body, a response and an operation by id.
    writeFileSync(
      path.join(dir, 'client/usage.ts'),
      [
        "import type { components, operations, paths } from './schema';",
        "type RunRequest = components['schemas']['RunRequest'];",
        "type RunAgent = operations['agents-run-agent'];",
        "type Token = paths['/auth/token']['post']['responses'][200]['content']['application/json'];",
        "export const request: RunRequest = { input: 'What is 6 * 7?', timeout_seconds: 30 };",
        "export type Answer = RunAgent['responses'][200]['content']['application/json'];",
        'export const bearer = (token: Token): string => `Bearer ${token.access_token}`;',
        '',
      ].join('\n'),
    );
    run(
      path.join(NODE_BIN, 'tsc'),
      [
        '--strict',
        '--noEmit',
        '--skipLibCheck',
        'false',
        '--target',
        'es2022',
        'client/schema.d.ts',
        'client/usage.ts',
      ],
      dir,
    );
  });

  it('openapi-python-client: the package passes mypy --strict, with an authenticated client', () => {
    const generate = [
      'generate',
      '--path',
      'openapi.json',
      '--output-path',
      'python_client',
      '--meta',
      'none',
    ];
    run(UV, ['tool', 'run', '--from', OPENAPI_PYTHON_CLIENT, 'openapi-python-client', ...generate], dir);
    const client = path.join(dir, 'python_client');
    const modules = readdirSync(path.join(client, 'api', 'agents'));
    expect(modules).to.include.members(['agents_run_agent.py', 'agents_list_jobs.py']);
    expect(readFileSync(path.join(client, 'client.py'), 'utf8')).to.include('class AuthenticatedClient');
    const checker = ['--with', 'mypy', '--with', 'httpx', '--with', 'attrs', '--with', 'python-dateutil'];
    run(UV, ['run', '--no-project', ...checker, 'mypy', '--strict', 'python_client'], dir);
  });
});
