import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { EXAMPLE_PASSWORD } from '../../generators/auth/wiring.js';
import { finalSteps } from '../../generators/features.js';
import { makeTempDir, readConfig, runForge } from '../helpers.js';

const config = (auth: 'jwt' | 'apikey' | 'oidc' | 'none', services: string[] = [], examples = true) => ({
  packageName: 'shop',
  auth,
  services,
  examples,
});

/** The final message of a project wired to `db`; stored users come with JWT on PostgreSQL, as in a run. */
function nextSteps(input: {
  config: ReturnType<typeof config> & { agents?: boolean };
  db: string;
  where: string;
  installed: boolean;
}): string[] {
  const users = input.db === 'postgres' && input.config.auth === 'jwt';
  return finalSteps({ ...input.config, db: input.db, users }, input.where, input.installed);
}

describe('the final message of new', () => {
  it('takes the default project from install to a token and /users/me', () => {
    const lines = nextSteps({ config: config('jwt'), db: 'postgres', where: 'shop', installed: false });
    expect(lines.slice(0, 4)).to.deep.equal([
      'cd shop',
      'uv sync',
      'cp .env.example .env   # development settings: edit them here',
      'make migrate   # the tables (an SQLite file until DATABASE_URL is set)',
    ]);
    expect(lines[4]).to.include(`'${EXAMPLE_PASSWORD}' | uv run python -m shop.users_cli create-user alice`);
    expect(lines[5]).to.match(
      /^make dev & {3}# the server in the background \(or without & in a terminal of its own\)/,
    );
    // The server takes a few seconds to listen: the next line waits for it before the first request.
    expect(lines[6]).to.match(
      /^curl -sf --retry 60 --retry-delay 1 --retry-connrefused -o \/dev\/null http:\/\/127\.0\.0\.1:8000\/health /,
    );
    expect(lines[7]).to.match(/^TOKEN=\$\(curl -s -X POST http:\/\/127\.0\.0\.1:8000\/auth\/token /);
    expect(lines[8]).to.equal('curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/users/me');
  });

  it('skips the install line once new has installed, and installs every member of a workspace', () => {
    const installed = nextSteps({ config: config('none'), db: 'none', where: 'shop', installed: true });
    expect(installed).to.not.include('uv sync');
    expect(installed.join('\n')).to.not.include('migrate');
    const workspace = nextSteps({
      config: config('none', ['orders']),
      db: 'none',
      where: 'x',
      installed: false,
    });
    expect(workspace[1]).to.equal('uv sync --all-packages');
    expect(workspace.at(-1)).to.equal(
      'make help   # every everyday command; README.md has the rest, and how to start each service and the gateway',
    );
  });

  it('gives the project folder as one shell word, quoted when it has spaces or quotes', () => {
    const parent = makeTempDir('forge-next-steps-');
    for (const where of ['my dir/sp', "it's here", 'plain/path-1.0']) {
      mkdirSync(path.join(parent, where), { recursive: true });
      const [cd] = nextSteps({ config: config('none'), db: 'none', where, installed: true });
      const shell = spawnSync('bash', ['-e', '-c', `${cd}\npwd`], { cwd: parent, encoding: 'utf8' });
      expect(shell.stdout.trim(), cd).to.equal(path.join(parent, where));
    }
  });

  it('says where the credential comes from for each kind of authentication', () => {
    const last = (auth: 'jwt' | 'apikey' | 'oidc' | 'none'): string => {
      const lines = nextSteps({ config: config(auth), db: 'none', where: 'shop', installed: true });
      return lines[lines.length - 2] ?? '';
    };
    expect(last('apikey')).to.include("-H 'X-API-Key: change-me-local-development-key'");
    expect(last('oidc')).to.include('TOKEN from your identity provider (OIDC_ISSUER)');
    // Without stored users, a development token signed with the JWT_SECRET of .env, then the request.
    const jwt = nextSteps({ config: config('jwt'), db: 'none', where: 'shop', installed: true });
    expect(jwt.at(-3)).to.match(/^TOKEN=\$\(uv run python -c 'import jwt, time; from shop\.config import /);
    expect(jwt.at(-2)).to.match(/^curl -s -X POST .*\/echo .* -H "Authorization: Bearer \$TOKEN"$/);
    expect(last('none')).to.match(/^curl -s -X POST http:\/\/127\.0\.0\.1:8000\/echo .*hello"}'$/);
  });

  it('without the example route, writes a note, caches a value or lists agent jobs, or asks for readiness', () => {
    const last = (db: string, agents = false): string => {
      const project = { ...config('apikey', [], false), agents };
      const lines = nextSteps({ config: project, db, where: 'shop', installed: true });
      return lines[lines.length - 2] ?? '';
    };
    expect(last('mongo')).to.match(
      /^curl -s -X POST http:\/\/127\.0\.0\.1:8000\/notes .*"title": "hello"}' -H 'X-API-Key: /,
    );
    expect(last('redis')).to.match(
      /^curl -s -X PUT http:\/\/127\.0\.0\.1:8000\/cache\/hello .*"value": "hello"}' -H 'X-API-Key: /,
    );
    expect(last('none', true)).to.match(/^curl -s http:\/\/127\.0\.0\.1:8000\/agents\/jobs -H 'X-API-Key: /);
    expect(last('none')).to.match(/^curl -s http:\/\/127\.0\.0\.1:8000\/health\/ready /);
  });
});

describe('the questions of new', () => {
  it('asks for the Agent SDK only where agents are generated, and makes multi-service tier 2', async () => {
    const service = await runForge('app', { yes: false })
      .cd(makeTempDir('questions'))
      .withArguments(['plain'])
      .withAnswers({ appType: 'microservice', tier: 1, db: 'none', auth: 'none', deploy: 'compose' });
    expect(service.askedQuestions.map((question) => question.name)).to.not.include('agentSdk');
    expect(readConfig(service.cwd)).to.not.have.key('agentSdk');

    const agents = await runForge('app', { yes: false })
      .cd(makeTempDir('questions'))
      .withArguments(['smart'])
      .withAnswers({
        appType: 'agents',
        tier: 1,
        db: 'none',
        auth: 'none',
        agentSdk: 'none',
        deploy: 'compose',
      });
    expect(agents.askedQuestions.map((question) => question.name)).to.include('agentSdk');

    const system = await runForge('app', { yes: false })
      .cd(makeTempDir('questions'))
      .withArguments(['system'])
      .withAnswers({
        appType: 'multi-service',
        db: 'none',
        auth: 'none',
        agentSdk: 'none',
        deploy: 'compose',
      });
    expect(system.askedQuestions.map((question) => question.name)).to.not.include('tier');
    expect(readConfig(system.cwd)).to.include({ tier: 2 });
  });
});
