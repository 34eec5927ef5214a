import { expect } from 'chai';
import { EXAMPLE_PASSWORD, nextSteps } from '../../lib/next-steps.js';
import { makeTempDir, readConfig, runForge } from '../helpers.js';

const config = (auth: 'jwt' | 'apikey' | 'oidc' | 'none', services: string[] = []) => ({
  projectName: 'shop',
  packageName: 'shop',
  auth,
  services,
});

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
    expect(lines[5]).to.match(/^make dev &/);
    expect(lines[6]).to.match(/^TOKEN=\$\(curl -s -X POST http:\/\/127\.0\.0\.1:8000\/auth\/token /);
    expect(lines[7]).to.equal('curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/users/me');
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

  it('says where the credential comes from for each kind of authentication', () => {
    const last = (auth: 'jwt' | 'apikey' | 'oidc' | 'none'): string => {
      const lines = nextSteps({ config: config(auth), db: 'none', where: 'shop', installed: true });
      return lines[lines.length - 2] ?? '';
    };
    expect(last('apikey')).to.include("-H 'X-API-Key: change-me-local-development-key'");
    expect(last('oidc')).to.include('TOKEN from your identity provider (OIDC_ISSUER)');
    expect(last('jwt')).to.include('TOKEN from JWT_ISSUER, signed with JWT_SECRET');
    expect(last('none')).to.match(/^curl -s -X POST http:\/\/127\.0\.0\.1:8000\/echo .*hello"}'$/);
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
