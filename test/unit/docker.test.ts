import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  expectUserError,
  makeTempDir,
  readConfig,
  runForge,
  snapshotTree,
  updateConfig,
} from '../helpers.js';
import { DOCKER_FILES, K8S_BASE, readYaml, configuredProject, newProject } from './deploy-support.js';
import { declarationTests } from './declaration.js';

describe('docker generator', () => {
  declarationTests('docker');

  it('is composed by app for the default target and records it', async () => {
    const result = await newProject();
    result.assertFile(DOCKER_FILES);
    result.assertNoFile(K8S_BASE);
    expect(readConfig(result.cwd).deployment).to.deep.equal({ targets: ['compose'] });
    result.assertFileContent('Dockerfile', /^FROM python:\$\{PYTHON_VERSION\}-slim AS builder$/m);
    result.assertFileContent('Dockerfile', /^ARG PYTHON_VERSION=3\.13$/m);
    result.assertFileContent('Dockerfile', /uv sync --locked --no-install-project --no-dev/);
    result.assertFileContent('Dockerfile', /^USER 10001:10001$/m);
    result.assertFileContent('Dockerfile', /^HEALTHCHECK /m);
    result.assertFileContent('Dockerfile', /WEB_CONCURRENCY=4/);
    const compose = readYaml(result.cwd, 'docker-compose.yml');
    expect(Object.keys(compose.services)).to.deep.equal(['app', 'redis']);
    expect(compose.services.app.depends_on).to.deep.equal({ redis: { condition: 'service_healthy' } });
    expect(compose.services.app.healthcheck.test[0]).to.equal('CMD');
    expect(compose.services.redis.healthcheck.test).to.deep.equal(['CMD', 'redis-cli', 'ping']);
  });

  it('serves WebSockets of an agents project without per-message deflate, which holds memory per connection', async () => {
    const agents = await newProject({ appType: 'agents', agentSdk: 'none' });
    agents.assertFileContent('Dockerfile', /^ {4}UVICORN_WS_PER_MESSAGE_DEFLATE=false \\$/m);
    const service = await newProject();
    service.assertNoFileContent('Dockerfile', /UVICORN_WS_PER_MESSAGE_DEFLATE/);
  });

  it('runs alone on a project that has no deployment files, and changes nothing when run again', async () => {
    const first = await newProject();
    // As a project generated before it had deployment files: no file, and no record of one in .forge/.
    for (const file of DOCKER_FILES) rmSync(path.join(first.cwd, file));
    rmSync(path.join(first.cwd, '.forge/structured.json'));
    const checksums = path.join(first.cwd, '.forge/checksums.json');
    const recorded = JSON.parse(readFileSync(checksums, 'utf8')) as Record<string, string>;
    const kept = Object.entries(recorded).filter(([file]) => !DOCKER_FILES.includes(file));
    writeFileSync(checksums, JSON.stringify(Object.fromEntries(kept)));
    updateConfig(first.cwd, { deployment: undefined });
    const added = await runForge('docker', { python: '3.12' }).cd(first.cwd);
    added.assertFile(DOCKER_FILES);
    added.assertFileContent('Dockerfile', /^ARG PYTHON_VERSION=3\.12$/m);
    // The README names the image's Python: it follows in the same run.
    added.assertFileContent('README.md', /The Docker image runs Python\n {2}3\.12 /);
    expect(readConfig(first.cwd).deployment).to.deep.equal({ targets: ['compose'], python: '3.12' });
    const before = snapshotTree(first.cwd);
    const again = await runForge('docker').cd(first.cwd);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
    expect(again.askedQuestions).to.deep.equal([]);
  });

  it('keeps a compose service the user added, and their edits, when the config changes', async () => {
    const first = await newProject();
    const composePath = path.join(first.cwd, 'docker-compose.yml');
    const edited = readFileSync(composePath, 'utf8')
      .replace('      - "8000:8000"', '      - "8080:8000" # another port')
      .concat('\n  # my own mail catcher\n  mailpit:\n    image: axllent/mailpit:v1.27\n');
    writeFileSync(composePath, edited);
    updateConfig(first.cwd, { agents: true });
    await runForge('api').cd(first.cwd);
    const compose = readYaml(first.cwd, 'docker-compose.yml');
    expect(compose.services.mailpit).to.deep.equal({ image: 'axllent/mailpit:v1.27' });
    expect(compose.services.app.ports).to.deep.equal(['8080:8000']);
    expect(compose.services.worker.command).to.deep.equal(['python', '-m', 'demo_svc.worker']);
    const text = readFileSync(composePath, 'utf8');
    expect(text).to.include('# my own mail catcher');
    expect(text).to.include('# another port');

    const before = snapshotTree(first.cwd);
    await runForge('docker').cd(first.cwd);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
  });

  it('reports a conflict on an edited Dockerfile and keeps the edit when told to skip', async () => {
    const first = await newProject();
    const dockerfile = path.join(first.cwd, 'Dockerfile');
    const edited = `${readFileSync(dockerfile, 'utf8')}LABEL org.opencontainers.image.vendor="me"\n`;
    writeFileSync(dockerfile, edited);
    const again = await runForge('docker', { python: '3.12' }).cd(first.cwd).withAnswers({ action: 'skip' });
    expect(again.askedQuestions.map((question) => question.name)).to.deep.equal(['action']);
    expect(readFileSync(dockerfile, 'utf8')).to.equal(edited);
  });

  describe('bad input writes nothing', () => {
    it('rejects an image Python the project cannot run on', async () => {
      const first = await newProject();
      const before = snapshotTree(first.cwd);
      await expectUserError(
        runForge('docker', { python: '3.9' }).cd(first.cwd).run(),
        /^invalid --python "3\.9": the image's Python must be one of 3\.11, 3\.12, 3\.13, 3\.14/,
      );
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });

    it('refuses to run outside a forge project', async () => {
      const dir = makeTempDir('docker-outside');
      await expectUserError(runForge('docker').cd(dir).run(), /not a fastapi-forge project/);
      expect(snapshotTree(dir)).to.deep.equal({});
    });

    it('rejects a stored deployment setting outside the schema', async () => {
      const dir = configuredProject({ deployment: { targets: ['heroku'] } });
      const before = snapshotTree(dir);
      await expectUserError(runForge('docker').cd(dir).run(), /"heroku" for deployment target/);
      expect(snapshotTree(dir)).to.deep.equal(before);
    });

    it('rejects a docker-compose.yml that is not YAML, and leaves it as it was', async () => {
      const first = await newProject();
      writeFileSync(path.join(first.cwd, 'docker-compose.yml'), 'services: [unclosed\n');
      await expectUserError(runForge('docker').cd(first.cwd).run(), /docker-compose\.yml is not valid YAML/);
      expect(readFileSync(path.join(first.cwd, 'docker-compose.yml'), 'utf8')).to.equal(
        'services: [unclosed\n',
      );
    });
  });
});
