import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { expectUserError, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';
import { declarationTests } from './declaration.js';

const CORE_FILES = [
  '.yo-rc.json',
  'pyproject.toml',
  '.env.example',
  'README.md',
  'src/demo_svc/main.py',
  'src/demo_svc/config.py',
  'src/demo_svc/lifespan.py',
  'src/demo_svc/routes/health.py',
  'src/demo_svc/rate_limit.py',
  'src/demo_svc/middleware/request_context.py',
  'src/demo_svc/errors.py',
  'tests/conftest.py',
];

describe('app generator', () => {
  declarationTests('app');

  it('writes the tier-1 core with the defaults and stores every answer', async () => {
    const result = await runForge('app').cd(makeTempDir('gen')).withArguments(['demo-svc']);
    result.assertFile(CORE_FILES);
    result.assertFile(['src/demo_svc/auth/dependencies.py', 'src/demo_svc/auth/jwt.py']);
    result.assertFileContent('pyproject.toml', /"pyjwt\[crypto\]/);
    result.assertFileContent('.env.example', /^JWT_SECRET=/m);
    expect(readConfig(result.cwd)).to.include({
      projectName: 'demo-svc',
      packageName: 'demo_svc',
      appType: 'agents',
      tier: 1,
      db: 'postgres',
      auth: 'jwt',
      agentSdk: 'anthropic',
      deploy: 'compose',
    });
  });

  for (const kind of ['apikey', 'oidc'] as const) {
    it(`writes ${kind} auth and nothing of the other kinds`, async () => {
      const result = await runForge('app', { auth: kind }).cd(makeTempDir('gen')).withArguments(['demo-svc']);
      result.assertFile('src/demo_svc/auth/dependencies.py');
      result.assertNoFile('src/demo_svc/auth/jwt.py');
      expect(readConfig(result.cwd).auth).to.equal(kind);
    });
  }

  it('writes no auth code with --auth none', async () => {
    const result = await runForge('app', { auth: 'none' }).cd(makeTempDir('gen')).withArguments(['demo-svc']);
    result.assertFile(CORE_FILES);
    result.assertNoFile(['src/demo_svc/auth/dependencies.py', 'src/demo_svc/settings/auth.py']);
    result.assertNoFileContent('pyproject.toml', /pyjwt/i);
    result.assertNoFileContent('src/demo_svc/dependencies.py', /authenticate/);
  });

  it('asks the clarifications without --yes, then never again', async () => {
    // An application type that generates agents: the Agent SDK question is asked only for those.
    const answers = {
      appType: 'agents',
      tier: 1,
      db: 'none',
      auth: 'apikey',
      agentSdk: 'none',
      deploy: 'k8s',
    };
    const first = await runForge('app', { yes: false })
      .cd(makeTempDir('gen'))
      .withArguments(['demo-svc'])
      .withAnswers(answers);
    expect(first.askedQuestions.map((question) => question.name)).to.deep.equal(Object.keys(answers));
    expect(readConfig(first.cwd)).to.include(answers);

    const again = await runForge('app', { yes: false }).cd(first.cwd).withAnswers(answers);
    expect(again.askedQuestions).to.deep.equal([]);
  });

  it('deploys tier 3 on Kubernetes by default, with compose beside it; tiers 1 and 2 on compose', async () => {
    const lean = { db: 'none', auth: 'none', agentSdk: 'none', appType: 'microservice' };
    const tier3 = await runForge('app', { ...lean, tier: '3' })
      .cd(makeTempDir('gen'))
      .withArguments(['demo-svc']);
    expect(readConfig(tier3.cwd)).to.deep.include({
      deploy: 'k8s',
      deployment: { targets: ['compose', 'k8s'] },
    });
    tier3.assertFile(['docker-compose.yml', 'deploy/k8s/base/kustomization.yaml']);
    tier3.assertFile('deploy/k8s/base/orders/consumer-deployment.yaml');

    for (const [options, deploy] of [
      [{ tier: '2' }, 'compose'],
      [{ tier: '3', deploy: 'compose' }, 'compose'],
    ] as const) {
      const result = await runForge('app', { ...lean, ...options })
        .cd(makeTempDir('gen'))
        .withArguments(['demo-svc']);
      expect(readConfig(result.cwd), JSON.stringify(options)).to.include({ deploy });
      result.assertNoFile('deploy/k8s/base/kustomization.yaml');
    }

    // Asked in a terminal, the deployment question offers the tier's default.
    const asked = await runForge('app', { yes: false })
      .cd(makeTempDir('gen'))
      .withArguments(['demo-svc'])
      .withAnswers({ appType: 'microservice', tier: 3, db: 'none', auth: 'none' });
    expect(asked.askedQuestions.map((question) => question.name)).to.include('deploy');
    expect(readConfig(asked.cwd)).to.include({ deploy: 'k8s' });
  });

  it('changes nothing when run twice', async () => {
    const first = await runForge('app').cd(makeTempDir('gen')).withArguments(['demo-svc']);
    const before = snapshotTree(first.cwd);
    const again = await runForge('app').cd(first.cwd).withArguments(['demo-svc']);
    expect(snapshotTree(again.cwd)).to.deep.equal(before);
    expect(again.askedQuestions).to.deep.equal([]);
  });

  it('keeps a user-owned file the user edited, without asking', async () => {
    const first = await runForge('app').cd(makeTempDir('gen')).withArguments(['demo-svc']);
    const main = path.join(first.cwd, 'src/demo_svc/main.py');
    const edited = `${readFileSync(main, 'utf8')}\n# my own change\n`;
    writeFileSync(main, edited);
    const again = await runForge('app').cd(first.cwd);
    expect(readFileSync(main, 'utf8')).to.equal(edited);
    expect(again.askedQuestions).to.deep.equal([]);
  });

  it('reports a conflict on an edited owned file and keeps the edit when told to skip', async () => {
    const first = await runForge('app').cd(makeTempDir('gen')).withArguments(['demo-svc']);
    const health = path.join(first.cwd, 'src/demo_svc/routes/health.py');
    const edited = `${readFileSync(health, 'utf8')}\n# my own change\n`;
    writeFileSync(health, edited);
    const again = await runForge('app').cd(first.cwd).withAnswers({ action: 'skip' });
    expect(again.askedQuestions.map((question) => question.name)).to.deep.equal(['action']);
    expect(readFileSync(health, 'utf8')).to.equal(edited);
  });

  it('overwrites an edited owned file with --force', async () => {
    const first = await runForge('app').cd(makeTempDir('gen')).withArguments(['demo-svc']);
    const health = path.join(first.cwd, 'src/demo_svc/routes/health.py');
    const original = readFileSync(health, 'utf8');
    writeFileSync(health, `${original}\n# my own change\n`);
    await runForge('app', { force: true }).cd(first.cwd);
    expect(readFileSync(health, 'utf8')).to.equal(original);
  });

  describe('bad input writes nothing', () => {
    it('rejects an invalid project name', async () => {
      const dir = makeTempDir('bad-name');
      await expectUserError(runForge('app').cd(dir).withArguments(['my app!']).run(), /invalid project name/);
      expect(snapshotTree(dir)).to.deep.equal({});
    });

    it('rejects an unknown option value', async () => {
      const dir = makeTempDir('bad-option');
      await expectUserError(
        runForge('app', { db: 'mysql' }).cd(dir).withArguments(['demo-svc']).run(),
        /invalid --db "mysql"/,
      );
      expect(snapshotTree(dir)).to.deep.equal({});
    });

    it('rejects a broken .yo-rc.json and leaves it as it was', async () => {
      const dir = makeTempDir('broken-yo-rc');
      writeFileSync(path.join(dir, '.yo-rc.json'), '{"generator-fastapi-forge": {');
      await expectUserError(runForge('app').cd(dir).withArguments(['demo-svc']).run(), /not valid JSON/);
      expect(snapshotTree(dir)).to.deep.equal({ '.yo-rc.json': '{"generator-fastapi-forge": {' });
    });

    it('rejects a .yo-rc.json with a value outside the schema', async () => {
      const dir = makeTempDir('bad-yo-rc');
      const content = JSON.stringify({
        'generator-fastapi-forge': { projectName: 'demo-svc', auth: 'basic' },
      });
      writeFileSync(path.join(dir, '.yo-rc.json'), content);
      await expectUserError(runForge('app').cd(dir).run(), /"basic" for authentication/);
      expect(snapshotTree(dir)).to.deep.equal({ '.yo-rc.json': content });
    });

    it('rejects a directory that holds another project', async () => {
      const dir = makeTempDir('foreign');
      writeFileSync(path.join(dir, 'app.py'), 'print("mine")\n');
      await expectUserError(
        runForge('app').cd(dir).withArguments(['demo-svc']).run(),
        /not a fastapi-forge project/,
      );
      expect(snapshotTree(dir)).to.deep.equal({ 'app.py': 'print("mine")\n' });
    });

    it('refuses to switch an auth kind already in use', async () => {
      const first = await runForge('app').cd(makeTempDir('gen')).withArguments(['demo-svc']);
      const before = snapshotTree(first.cwd);
      await expectUserError(runForge('app', { auth: 'apikey' }).cd(first.cwd).run(), /already "jwt"/);
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });
  });
});

describe("the README's generated section", () => {
  const newProject = async () => {
    const project = await runForge('app', { appType: 'microservice', db: 'none', auth: 'none' })
      .cd(makeTempDir('readme'))
      .withArguments(['demo-svc']);
    return path.join(project.cwd, 'README.md');
  };

  it('follows the project as it grows, and keeps the text the user wrote around it', async () => {
    const readme = await newProject();
    const generated = readFileSync(readme, 'utf8');
    expect(generated).not.to.include('## Metrics and tracing');
    const edited = `${generated.replace('# Demo Svc\n', '# Demo Svc, our own title\n')}\n## Our notes\n\nKeep this.\n`;
    writeFileSync(readme, edited);
    await runForge('observability').cd(path.dirname(readme));
    const grown = readFileSync(readme, 'utf8');
    expect(grown).to.include('## Metrics and tracing');
    expect(grown.startsWith('# Demo Svc, our own title\n')).to.equal(true);
    expect(grown.endsWith('\n## Our notes\n\nKeep this.\n')).to.equal(true);

    const before = snapshotTree(path.dirname(readme));
    await runForge('observability').cd(path.dirname(readme));
    expect(snapshotTree(path.dirname(readme))).to.deep.equal(before);
  });

  it("keeps the user's edits inside it, unless --force", async () => {
    const readme = await newProject();
    const edited = readFileSync(readme, 'utf8').replace('\n## Run\n', '\n## Running it\n');
    writeFileSync(readme, edited);
    await runForge('observability').cd(path.dirname(readme));
    expect(readFileSync(readme, 'utf8')).to.equal(edited);
    await runForge('observability', { force: true }).cd(path.dirname(readme));
    const forced = readFileSync(readme, 'utf8');
    expect(forced)
      .to.include('\n## Run\n')
      .and.include('## Metrics and tracing')
      .and.not.include('Running it');
  });

  it('is left alone once the user removed its markers', async () => {
    const readme = await newProject();
    const unmarked = readFileSync(readme, 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('<!-- fastapi-forge:'))
      .join('\n');
    writeFileSync(readme, unmarked);
    await runForge('observability').cd(path.dirname(readme));
    expect(readFileSync(readme, 'utf8')).to.equal(unmarked);
  });
});
