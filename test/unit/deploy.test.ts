import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import helpers from 'yeoman-test';
import { ForgeGenerator } from '../../lib/base-generator.js';
import { deploymentNeeds, deploymentSettings } from '../../lib/deploy.js';
import { authWiring } from '../../generators/auth/wiring.js';
import { DEPLOYMENT } from '../../generators/db/wiring.js';
import { CLI, forgeGenerators, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';
import { K8S_BASE, configuredProject, newProject, readYaml } from './deploy-support.js';

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

describe('deployment targets', () => {
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
  // What the apikey authentication, and with postgres the database, contribute to a deployment.
  const apikey = authWiring({ auth: 'apikey', agents: false, users: false }).deployment ?? [];
  const secretSettings = (db: string) =>
    deploymentNeeds(
      [...apikey, ...(db === 'postgres' ? [DEPLOYMENT.postgres ?? {}] : [])],
      'shop',
    ).secretSettings(ENV_EXAMPLE);

  it('finds the secrets: those the features need, and every secret-like setting', () => {
    expect(secretSettings('postgres')).to.deep.equal([
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
    const secrets = secretSettings('none');
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
