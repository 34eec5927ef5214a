import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import helpers from 'yeoman-test';
import { ForgeGenerator } from '../../lib/base-generator.js';
import { deploymentSettings, secretSettings } from '../../lib/deploy.js';
import type { ForgeConfig } from '../../lib/config.js';
import {
  CLI,
  expectUserError,
  forgeGenerators,
  makeTempDir,
  readConfig,
  runForge,
  snapshotTree,
  updateConfig,
} from '../helpers.js';

const DOCKER_FILES = ['Dockerfile', '.dockerignore', 'docker-compose.yml', 'deploy/README.md'];
const K8S_BASE = [
  'kustomization.yaml',
  'serviceaccount.yaml',
  'configmap.yaml',
  'secret.yaml',
  'deployment.yaml',
  'service.yaml',
  'hpa.yaml',
  'pdb.yaml',
  'ingress.yaml',
  'networkpolicy.yaml',
].map((name) => `deploy/k8s/base/${name}`);
const K8S_OVERLAYS = ['dev', 'prod'].map((overlay) => `deploy/k8s/overlays/${overlay}/kustomization.yaml`);

type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const readYaml = (dir: string, file: string): Yaml =>
  parse(readFileSync(path.join(dir, file), 'utf8')) as Yaml;

/** A project holding only its config: the deployment generators read nothing else they need. */
function configuredProject(values: Record<string, unknown>): string {
  const dir = makeTempDir('deploy');
  const config = {
    projectName: 'demo-svc',
    packageName: 'demo_svc',
    description: 'demo',
    appType: 'microservice',
    tier: 1,
    db: 'none',
    auth: 'none',
    agentSdk: 'none',
    deploy: 'compose',
    services: [],
    ...values,
  };
  writeFileSync(
    path.join(dir, '.yo-rc.json'),
    JSON.stringify({ 'generator-fastapi-forge': config }, null, 2),
  );
  return dir;
}

const newProject = (options: Record<string, unknown> = {}) =>
  runForge('app', { auth: 'none', db: 'none', appType: 'microservice', ...options })
    .cd(makeTempDir('deploy'))
    .withArguments(['demo-svc']);

describe('docker generator', () => {
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

describe('deployment files follow the config (db and agents)', () => {
  it('compose: PostgreSQL with migrations, the worker, healthchecks and depends_on conditions', async () => {
    const dir = configuredProject({ db: 'postgres', dbGenerated: true, agents: true, auth: 'jwt' });
    await runForge('docker').cd(dir);
    const compose = readYaml(dir, 'docker-compose.yml');
    expect(Object.keys(compose.services)).to.deep.equal(['app', 'worker', 'migrate', 'postgres', 'redis']);
    const waitsForServices = {
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    };
    expect(compose.services.app.depends_on).to.deep.equal(waitsForServices);
    expect(compose.services.worker.depends_on).to.deep.equal(waitsForServices);
    expect(compose.services.migrate.command).to.deep.equal(['alembic', 'upgrade', 'head']);
    expect(compose.services.migrate.depends_on).to.have.keys('postgres', 'redis');
    expect(compose.services.app.environment.DATABASE_URL).to.equal(
      'postgresql+asyncpg://postgres:postgres@postgres:5432/demo_svc',
    );
    expect(compose.services.worker.environment).to.deep.equal(compose.services.app.environment);
    expect(compose.services.postgres.healthcheck.test).to.include('pg_isready');
    expect(compose.volumes).to.have.key('postgres-data');
  });

  it('compose: MongoDB, and no database service without a database', async () => {
    const mongo = configuredProject({ db: 'mongo', dbGenerated: true });
    await runForge('docker').cd(mongo);
    const compose = readYaml(mongo, 'docker-compose.yml');
    expect(Object.keys(compose.services)).to.deep.equal(['app', 'mongo', 'redis']);
    expect(compose.services.app.environment.MONGODB_URL).to.equal('mongodb://mongo:27017/demo_svc');

    const none = configuredProject({ db: 'postgres' });
    await runForge('docker').cd(none);
    // The answer is stored but no database code exists yet: nothing to run or migrate.
    expect(Object.keys(readYaml(none, 'docker-compose.yml').services)).to.deep.equal(['app', 'redis']);
  });

  it('k8s: a worker Deployment with agents, a migration Job with PostgreSQL, listed in the base', async () => {
    const dir = configuredProject({ db: 'postgres', dbGenerated: true, agents: true, auth: 'apikey' });
    writeFileSync(
      path.join(dir, '.env.example'),
      'API_KEYS={}\nAPI_KEY_HEADER=X-API-Key\nANTHROPIC_API_KEY=\n',
    );
    await runForge('k8s').cd(dir);
    const kustomization = readYaml(dir, 'deploy/k8s/base/kustomization.yaml');
    expect(kustomization.resources).to.include.members([
      'worker-deployment.yaml',
      'worker-networkpolicy.yaml',
      'migration-job.yaml',
    ]);
    const worker = readYaml(dir, 'deploy/k8s/base/worker-deployment.yaml');
    expect(worker.spec.template.spec.containers[0].args).to.deep.equal(['python', '-m', 'demo_svc.worker']);
    const job = readYaml(dir, 'deploy/k8s/base/migration-job.yaml');
    expect(job.kind).to.equal('Job');
    expect(job.spec.template.spec.containers[0].args).to.deep.equal(['alembic', 'upgrade', 'head']);
    expect(job.spec.template.spec.restartPolicy).to.equal('Never');
    const secret = readYaml(dir, 'deploy/k8s/base/secret.yaml');
    expect(Object.keys(secret.stringData)).to.deep.equal([
      'ANTHROPIC_API_KEY',
      'API_KEYS',
      'DATABASE_URL',
      'REDIS_URL',
    ]);
    expect(secret.stringData.API_KEYS).to.equal('');
  });

  it('k8s: neither worker nor migration Job without agents and PostgreSQL', async () => {
    const dir = configuredProject({ db: 'mongo', dbGenerated: true });
    await runForge('k8s').cd(dir);
    expect(readYaml(dir, 'deploy/k8s/base/kustomization.yaml').resources).to.deep.equal(
      K8S_BASE.filter((file) => !file.endsWith('kustomization.yaml')).map((file) => path.basename(file)),
    );
    expect(existsSync(path.join(dir, 'deploy/k8s/base/worker-deployment.yaml'))).to.equal(false);
    expect(existsSync(path.join(dir, 'deploy/k8s/base/migration-job.yaml'))).to.equal(false);
    expect(Object.keys(readYaml(dir, 'deploy/k8s/base/secret.yaml').stringData)).to.deep.equal([
      'MONGODB_URL',
      'REDIS_URL',
    ]);
  });
});

describe('k8s generator', () => {
  it('is composed by app with --deploy k8s, together with docker', async () => {
    const result = await newProject({ deploy: 'k8s' });
    result.assertFile([...DOCKER_FILES, ...K8S_BASE, ...K8S_OVERLAYS, 'deploy/k8s/README.md']);
    expect(readConfig(result.cwd).deployment).to.deep.equal({ targets: ['compose', 'k8s'] });
    const deployment = readYaml(result.cwd, 'deploy/k8s/base/deployment.yaml');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.livenessProbe.httpGet.path).to.equal('/health');
    expect(container.readinessProbe.httpGet.path).to.equal('/health/ready');
    expect(container.securityContext).to.deep.include({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).to.equal(true);
    expect(deployment.spec.strategy.rollingUpdate).to.deep.equal({ maxSurge: 1, maxUnavailable: 0 });
    expect(readYaml(result.cwd, 'deploy/k8s/overlays/prod/kustomization.yaml').namespace).to.equal(
      'demo-svc',
    );
    expect(readYaml(result.cwd, 'deploy/k8s/overlays/dev/kustomization.yaml').namespace).to.equal(
      'demo-svc-dev',
    );
  });

  it('runs alone on a compose project, composing docker, then changes nothing when run again', async () => {
    const first = await newProject();
    const added = await runForge('k8s', { 'k8s-namespace': 'shop', 'ingress-host': 'api.shop.example' }).cd(
      first.cwd,
    );
    added.assertFile([...K8S_BASE, ...K8S_OVERLAYS]);
    expect(readConfig(first.cwd).deployment).to.deep.equal({
      targets: ['compose', 'k8s'],
      namespace: 'shop',
      host: 'api.shop.example',
    });
    expect(readYaml(first.cwd, 'deploy/k8s/base/ingress.yaml').spec.rules[0].host).to.equal(
      'api.shop.example',
    );
    expect(readYaml(first.cwd, 'deploy/k8s/overlays/dev/kustomization.yaml').namespace).to.equal('shop-dev');
    added.assertFileContent('deploy/README.md', /\[`deploy\/k8s\/`\]\(k8s\/README\.md\)/);

    const before = snapshotTree(first.cwd);
    const again = await runForge('k8s').cd(first.cwd);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
    expect(again.askedQuestions).to.deep.equal([]);
  });

  it('keeps edits to a manifest, and a container the user added, across config changes', async () => {
    const first = await newProject({ deploy: 'k8s' });
    const file = path.join(first.cwd, 'deploy/k8s/base/deployment.yaml');
    const edited = readFileSync(file, 'utf8')
      .replace('              memory: 512Mi', '              memory: 1Gi # measured')
      .concat('        - name: sidecar\n          image: envoyproxy/envoy:v1.34\n');
    writeFileSync(file, edited);
    updateConfig(first.cwd, { agents: true });
    await runForge('api').cd(first.cwd);
    const containers = readYaml(first.cwd, 'deploy/k8s/base/deployment.yaml').spec.template.spec.containers;
    expect(containers.map((container: { name: string }) => container.name)).to.deep.equal(['app', 'sidecar']);
    expect(containers[0].resources.limits.memory).to.equal('1Gi');
    expect(readFileSync(file, 'utf8')).to.include('# measured');
    expect(existsSync(path.join(first.cwd, 'deploy/k8s/base/worker-deployment.yaml'))).to.equal(true);
  });

  describe('bad input writes nothing', () => {
    for (const [option, value, message] of [
      ['k8s-namespace', 'Shop_NS', /^invalid --k8s-namespace "Shop_NS": a Kubernetes namespace is lowercase/],
      [
        'ingress-host',
        'not a host',
        /^invalid --ingress-host "not a host": expected a lowercase DNS host name/,
      ],
    ] as const) {
      it(`rejects --${option} ${value}`, async () => {
        const first = await newProject();
        const before = snapshotTree(first.cwd);
        await expectUserError(
          runForge('k8s', { [option]: value })
            .cd(first.cwd)
            .run(),
          message,
        );
        expect(snapshotTree(first.cwd)).to.deep.equal(before);
      });
    }
  });
});

describe('cloudrun and serverless generators', () => {
  it('cloudrun: a Knative service for the image, with its docs', async () => {
    const result = await newProject({ deploy: 'cloudrun' });
    result.assertFile([...DOCKER_FILES, 'deploy/cloudrun/service.yaml', 'deploy/cloudrun/README.md']);
    const service = readYaml(result.cwd, 'deploy/cloudrun/service.yaml');
    expect(service).to.include({ apiVersion: 'serving.knative.dev/v1', kind: 'Service' });
    expect(service.spec.template.spec.containers[0].ports).to.deep.equal([
      { name: 'http1', containerPort: 8000 },
    ]);
    expect(readConfig(result.cwd).deployment).to.deep.equal({ targets: ['compose', 'cloudrun'] });
  });

  it('serverless: the Mangum handler and its test, the SAM template, mangum in pyproject.toml', async () => {
    const result = await newProject({ deploy: 'serverless' });
    result.assertFile([
      ...DOCKER_FILES,
      'src/demo_svc/lambda_handler.py',
      'tests/test_lambda_handler.py',
      'deploy/serverless/template.yaml',
      'deploy/serverless/Makefile',
      'deploy/serverless/README.md',
    ]);
    result.assertFileContent('pyproject.toml', /"mangum>=0\.22"/);
    result.assertFileContent('deploy/serverless/README.md', /No WebSocket/);
    const template = readYaml(result.cwd, 'deploy/serverless/template.yaml');
    expect(template.Resources.ApiFunction.Properties.Handler).to.equal('demo_svc.lambda_handler.handler');
    expect(template.Resources.ApiFunction.Properties.Runtime).to.equal('python3.13');
  });

  it('switching the target with app keeps the targets generated before', async () => {
    const first = await newProject({ deploy: 'cloudrun' });
    const switched = await runForge('app', { deploy: 'k8s' }).cd(first.cwd);
    switched.assertFile(['deploy/cloudrun/service.yaml', ...K8S_BASE]);
    expect(readConfig(first.cwd)).to.deep.include({ deploy: 'k8s' });
    expect(readConfig(first.cwd).deployment).to.deep.equal({ targets: ['compose', 'k8s', 'cloudrun'] });
    await runForge('serverless').cd(first.cwd);
    const before = snapshotTree(first.cwd);
    await runForge('app').cd(first.cwd);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
    expect(readConfig(first.cwd).deployment).to.deep.equal({
      targets: ['compose', 'k8s', 'cloudrun', 'serverless'],
    });
  });
});

describe('deployment settings from .env.example', () => {
  const ENV_EXAMPLE = [
    '# development | test | staging | production',
    'ENVIRONMENT=development',
    '# Required `iss` claim',
    'JWT_ISSUER=https://auth.example.com',
    '# HMAC secret',
    'JWT_SECRET=change-me',
    'JWT_PRIVATE_KEY=',
    'API_KEY_HEADER=X-API-Key',
    '# --- agents ---',
    'AGENT_QUEUE_SIGNING_SECRET=',
    'ANTHROPIC_API_KEY=',
    'RATE_LIMIT_PREFIX=',
    'CORS_ORIGINS=http://localhost:3000',
  ].join('\n');
  const config = { auth: 'apikey' } as ForgeConfig;

  it('finds the secrets: those the features need, and every secret-like setting', () => {
    expect(secretSettings(config, ENV_EXAMPLE, 'postgres')).to.deep.equal([
      'AGENT_QUEUE_SIGNING_SECRET',
      'ANTHROPIC_API_KEY',
      'API_KEYS',
      'DATABASE_URL',
      'JWT_PRIVATE_KEY',
      'JWT_SECRET',
      'REDIS_URL',
    ]);
  });

  it('keeps every other setting with a value, with its comment, and production values for the core ones', () => {
    const secrets = secretSettings(config, ENV_EXAMPLE, 'none');
    expect(deploymentSettings(ENV_EXAMPLE, secrets)).to.deep.equal([
      { name: 'ENVIRONMENT', value: 'production', comment: 'development | test | staging | production' },
      { name: 'JWT_ISSUER', value: 'https://auth.example.com', comment: 'Required `iss` claim' },
      { name: 'API_KEY_HEADER', value: 'X-API-Key' },
      {
        name: 'CORS_ORIGINS',
        value: 'https://app.example.com',
        comment: 'Replace with the origins of your front ends; "*" is refused outside development',
      },
      { name: 'LOG_JSON', value: 'true' },
      {
        name: 'WEB_CONCURRENCY',
        value: '2',
        comment: 'uvicorn worker processes per instance; scale out with more instances',
      },
      {
        name: 'FORWARDED_ALLOW_IPS',
        value: '*',
        comment: "Only the platform's proxy reaches the app, so its X-Forwarded-For is trusted",
      },
    ]);
  });
});

describe('deployment generators through the CLI', function () {
  this.timeout(60_000);

  const forge = (args: string[], cwd: string) =>
    spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', input: '' });

  it('lists docker, k8s, cloudrun and serverless as available', () => {
    const { status, stdout } = forge(['list'], makeTempDir('list'));
    expect(status).to.equal(0);
    for (const name of ['docker', 'k8s', 'cloudrun', 'serverless']) {
      const line = stdout.split('\n').find((candidate) => candidate.startsWith(`${name} `)) ?? '';
      expect(line, name).to.not.equal('');
      expect(line).to.not.include('not in this version');
    }
  });

  it('refuses a bad option value in one line, with status 2, writing nothing', () => {
    const dir = configuredProject({});
    const before = snapshotTree(dir);
    const result = forge(['add', 'k8s', '--yes', '--skip-install', '--ingress-host', 'Not_A_Host'], dir);
    expect(result.status).to.equal(2);
    expect(result.stderr).to.match(/^fastapi-forge: invalid --ingress-host "Not_A_Host": .+\n$/);
    expect(snapshotTree(dir)).to.deep.equal(before);
  });

  it('adds a target with its options', () => {
    const dir = configuredProject({});
    const result = forge(['add', 'docker', '--yes', '--skip-install', '--python', '3.12'], dir);
    expect(result.status, result.stderr).to.equal(0);
    expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).to.match(/^ARG PYTHON_VERSION=3\.12$/m);
  });
});

/** A generator that registers its own service, as a gateway or a microservice generator will. */
class GatewayLikeGenerator extends ForgeGenerator {
  postWriting(): void {
    this.addComposeService(
      'gateway',
      {
        image: 'demo-gateway:dev',
        ports: ['8080:8080'],
        depends_on: { app: { condition: 'service_healthy' } },
        volumes: ['gateway-cache:/cache'],
      },
      { 'gateway-cache': {} },
    );
  }
}

const runGatewayLike = (dir: string) =>
  helpers
    .run(GatewayLikeGenerator as never, { namespace: 'fastapi-forge:gateway-like' }, {
      force: false,
    } as never)
    .withGenerators(forgeGenerators())
    .withOptions({ skipInstall: true, yes: true, force: false } as never)
    .cd(dir);

describe('addComposeService (the source API for other generators)', () => {
  it('adds a service and its volume to docker-compose.yml; docker keeps it, a re-run changes nothing', async () => {
    const first = await newProject({ deploy: 'k8s' });
    await runGatewayLike(first.cwd);
    const compose = readYaml(first.cwd, 'docker-compose.yml');
    expect(Object.keys(compose.services)).to.deep.equal(['app', 'redis', 'gateway']);
    expect(compose.services.gateway.depends_on).to.deep.equal({ app: { condition: 'service_healthy' } });
    expect(compose.volumes).to.deep.equal({ 'gateway-cache': {} });

    const before = snapshotTree(first.cwd);
    await runGatewayLike(first.cwd);
    await runForge('docker').cd(first.cwd);
    await runForge('app').cd(first.cwd);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
  });

  it("keeps the user's edit of a registered service", async () => {
    const first = await newProject();
    await runGatewayLike(first.cwd);
    const file = path.join(first.cwd, 'docker-compose.yml');
    const edited = readFileSync(file, 'utf8').replace('8080:8080', '9090:8080');
    expect(edited).to.include('9090:8080');
    writeFileSync(file, edited);
    await runGatewayLike(first.cwd);
    expect(readYaml(first.cwd, 'docker-compose.yml').services.gateway.ports).to.deep.equal(['9090:8080']);
  });
});
