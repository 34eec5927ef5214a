import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse, parseAllDocuments } from 'yaml';
import { CLI, makeTempDir, readConfig, snapshotTree, updateConfig } from '../helpers.js';
import {
  buildContext,
  buildOverlay,
  cfnLint,
  check,
  workerPids,
  emulateImage,
  type EmulatedImage,
  hadolint,
  KUBERNETES_VERSION,
  readEnvFile,
  validateCloudRun,
  validateCompose,
  validateKubernetes,
} from './deploy-support.js';
import { nowSeconds, randomSecret, signJwt } from './fakes.js';
import { freePort, run, type RunningServer, startHttpProcess, UV } from './processes.js';
import { installProject } from './projects.js';

type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const POSTGRES_SERVER = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
/** uv on PATH for the generators' own install steps (`uv sync`, `uv lock`). */
const WITH_UV = { PATH: `${path.dirname(UV)}:${process.env.PATH ?? ''}` };

const forge = (args: string[], cwd: string): string =>
  run(process.execPath, [CLI, ...args], cwd, WITH_UV).output;

const readYaml = (dir: string, file: string): Yaml =>
  parse(readFileSync(path.join(dir, file), 'utf8')) as Yaml;

/**
 * The Kubernetes resources of a project: every base manifest (not kustomization.yaml), those of each workspace
 * member's folder included, and both overlays built.
 */
function validateKubernetesTree(dir: string): string[] {
  const base = path.join(dir, 'deploy/k8s/base');
  const manifests = (readdirSync(base, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.yaml') && path.basename(file) !== 'kustomization.yaml')
    .sort()
    .map((file) => path.join(base, file));
  const resources = validateKubernetes(manifests);
  for (const overlay of ['dev', 'prod']) {
    const built = buildOverlay(path.join(dir, 'deploy/k8s/overlays', overlay));
    const overlayResources = validateKubernetes([built]);
    expect(overlayResources.length, `overlay ${overlay} keeps every resource`).to.equal(manifests.length);
  }
  return resources;
}

/** Every validator on every deployment file of a project. Returns the Kubernetes resources checked. */
function validateDeploymentFiles(dir: string): string[] {
  hadolint(path.join(dir, 'Dockerfile'));
  validateCompose(path.join(dir, 'docker-compose.yml'));
  const resources = validateKubernetesTree(dir);
  validateCloudRun(path.join(dir, 'deploy/cloudrun/service.yaml'));
  cfnLint(path.join(dir, 'deploy/serverless/template.yaml'));
  return resources;
}

/** A fresh PostgreSQL database on the local server, for one test. */
function createDatabase(): { url: string; drop: () => void } {
  const name = `forge_deploy_${randomBytes(4).toString('hex')}`;
  run('psql', [POSTGRES_SERVER, '-v', 'ON_ERROR_STOP=1', '-c', `CREATE DATABASE ${name}`], process.cwd());
  const server = new URL(POSTGRES_SERVER);
  return {
    url: `postgresql+asyncpg://${server.username}@${server.host}/${name}`,
    drop: () =>
      run('psql', [POSTGRES_SERVER, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], process.cwd()),
  };
}

/**
 * Starts the image as the container would: its ENTRYPOINT (the settings preflight), which runs its CMD in its
 * place, with its environment and `extra` on top, on a loopback port.
 */
async function startImage(image: EmulatedImage, extra: Record<string, string>): Promise<RunningServer> {
  const port = await freePort();
  const env: Record<string, string> = {
    ...image.env,
    ...extra,
    UVICORN_HOST: '127.0.0.1',
    UVICORN_PORT: String(port),
  };
  const [command = '', ...args] = [...image.entrypoint, ...image.cmd];
  const resolved = (env.PATH ?? '')
    .split(':')
    .map((dir) => path.join(dir, command))
    .find((candidate) => existsSync(candidate));
  if (!resolved) throw new Error(`${command} is not on the image's PATH (${env.PATH})`);
  return startHttpProcess(resolved, args, { cwd: image.workdir, env, baseUrl: `http://127.0.0.1:${port}` });
}

describe('deployment end to end: image, compose, Kubernetes, Cloud Run and Lambda', function () {
  this.timeout(20 * 60_000);

  before(() => {
    console.log(
      [
        '      Not exercised here: a Docker engine, a Kubernetes cluster, Cloud Run and AWS.',
        "      Instead: the Dockerfile's own steps run in a clean virtualenv on this machine's Python 3.11",
        '      (the image uses a newer Python), manifests are validated offline, and the Lambda handler',
        '      is invoked in-process with API Gateway events.',
      ].join('\n'),
    );
  });

  describe('the validators reject broken files', () => {
    const scratch = makeTempDir('broken');

    it('hadolint fails an unpinned image and an unpinned pip install', () => {
      const file = path.join(scratch, 'Dockerfile');
      writeFileSync(file, 'FROM python:latest\nRUN pip install fastapi\nCMD uvicorn app:app\n');
      const result = check('hadolint', ['--no-color', file]);
      expect(result.status).to.not.equal(0);
      expect(result.output).to.match(/DL3007/);
    });

    it('the compose-spec schema fails an unknown service key', () => {
      const file = path.join(scratch, 'docker-compose.yml');
      writeFileSync(file, 'services:\n  app:\n    imag: demo\n');
      expect(
        check('check-jsonschema', ['--builtin-schema', 'vendor.compose-spec', file]).status,
      ).to.not.equal(0);
    });

    it('kubernetes-validate --strict fails an unknown field', () => {
      const file = path.join(scratch, 'deployment.yaml');
      writeFileSync(
        file,
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n' +
          '  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n' +
          '    spec: {containers: [{name: x, image: x}]}\n',
      );
      const result = check('kubernetes-validate', [
        '--strict',
        '--kubernetes-version',
        KUBERNETES_VERSION,
        file,
      ]);
      expect(result.status).to.not.equal(0);
      expect(result.output).to.include('replica');
    });

    it('cfn-lint fails a Lambda runtime that can no longer be deployed', () => {
      const file = path.join(scratch, 'template.yaml');
      writeFileSync(
        file,
        'AWSTemplateFormatVersion: "2010-09-09"\nTransform: AWS::Serverless-2016-10-31\nResources:\n' +
          '  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: build/\n' +
          '      Handler: app.handler\n      Runtime: python2.7\n',
      );
      const result = check('cfn-lint', [file]);
      expect(result.status).to.not.equal(0);
      expect(result.output).to.match(/E2533/);
    });
  });

  describe('PostgreSQL + JWT on every target, installed by the generators', () => {
    const name = 'deploy-e2e';
    const packageName = 'deploy_e2e';
    let dir = '';
    let image: EmulatedImage | undefined;
    const servers: RunningServer[] = [];
    const databases: { drop: () => void }[] = [];

    before(() => {
      const parent = makeTempDir('deploy-e2e');
      // No --skip-install: the generators' install steps produce uv.lock, which the image build requires.
      forge(
        [
          'new',
          name,
          '--yes',
          '--auth',
          'jwt',
          '--db',
          'postgres',
          '--app-type',
          'microservice',
          '--examples',
        ],
        parent,
      );
      dir = path.join(parent, name);
      forge(['add', 'k8s', '--yes'], dir);
      forge(['add', 'cloudrun', '--yes'], dir);
      forge(['add', 'serverless', '--yes'], dir);
    });

    after(async () => {
      for (const server of servers) await server.stop();
      for (const database of databases) database.drop();
    });

    it('has a uv.lock that matches pyproject.toml, mangum included', () => {
      expect(existsSync(path.join(dir, 'uv.lock'))).to.equal(true);
      run(UV, ['lock', '--check'], dir);
      expect(readFileSync(path.join(dir, 'uv.lock'), 'utf8')).to.include('name = "mangum"');
    });

    // Its lint, type and test checks (the Lambda handler's tests included) run in the option matrix's
    // --deploy serverless combinations.
    it('installs', () => installProject(dir));

    it('passes hadolint, the compose-spec schema, kubernetes-validate, the Cloud Run checks and cfn-lint', () => {
      const resources = validateDeploymentFiles(dir);
      expect(resources).to.include.members(['job/deploy-e2e-migrate', 'deployment/deploy-e2e']);
      console.log(`      validated against Kubernetes ${KUBERNETES_VERSION}: ${resources.join(', ')}`);
    });

    it('sends the image what it needs, and nothing else', () => {
      const files = buildContext(dir, makeTempDir('context'));
      expect(files).to.include.members([
        'pyproject.toml',
        'uv.lock',
        'README.md',
        'alembic.ini',
        `src/${packageName}/main.py`,
      ]);
      for (const excluded of ['.venv/', 'tests/', '.env', '.git/', 'deploy/', '.forge/', '__pycache__']) {
        expect(
          files.filter((file) => file.startsWith(excluded) || file.includes(`/${excluded}`)),
        ).to.deep.equal([]);
      }
    });

    it("runs the Dockerfile's install steps in a clean virtualenv, then compose's migrate and app services", async () => {
      image = emulateImage(dir);
      console.log(`      skipped image steps: ${image.skipped.join('; ')}`);
      expect(image.user).to.match(/^[1-9]\d*:\d+$/);
      expect(image.env.WEB_CONCURRENCY).to.equal('4');
      expect(image.cmd.slice(0, 3)).to.deep.equal(['uvicorn', `${packageName}.main:create_app`, '--factory']);
      expect(existsSync(path.join(image.workdir, '.venv/bin/uvicorn'))).to.equal(true);
      // Installed, not linked: the project is importable without its source tree.
      const installed = run(
        path.join(image.workdir, '.venv/bin/python'),
        ['-c', `import ${packageName}; print(${packageName}.__file__)`],
        image.workdir,
      );
      expect(installed.output).to.include('site-packages');

      const compose = readYaml(dir, 'docker-compose.yml').services as Yaml;
      const database = createDatabase();
      databases.push(database);
      // Compose's own environment, with the service hosts (postgres, redis) on this machine instead.
      const composeEnv = (service: Yaml): Record<string, string> => ({
        ...readEnvFile(path.join(dir, '.env.example')),
        ...(service.environment as Record<string, string>),
        DATABASE_URL: database.url,
        REDIS_URL,
      });
      expect(compose.migrate.environment.DATABASE_URL).to.match(/@postgres:5432\//);
      const [migrate = '', ...migrateArgs] = compose.migrate.command as string[];
      run(path.join(image.workdir, '.venv/bin', migrate), migrateArgs, image.workdir, {
        ...image.env,
        ...composeEnv(compose.migrate),
      });
      const tables = run(
        'psql',
        [database.url.replace('+asyncpg', ''), '-tAc', 'SELECT version_num FROM alembic_version'],
        dir,
      );
      expect(tables.output.trim()).to.match(/^\w+$/);

      const server = await startImage(image, composeEnv(compose.app));
      servers.push(server);
      const ready = await fetch(`${server.baseUrl}/health/ready`);
      expect(ready.status, await ready.clone().text()).to.equal(200);
      // The image's CMD names no server; every answer carries the security headers.
      expect(ready.headers.get('server')).to.equal(null);
      expect(ready.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(ready.headers.get('content-security-policy')).to.equal("frame-ancestors 'none'");
      await server.stop();
    });

    it('serves as the Kubernetes Deployment runs it: ConfigMap + Secret, several workers, the HEALTHCHECK', async () => {
      if (!image) throw new Error('the image steps did not run');
      const configMap = readYaml(dir, 'deploy/k8s/base/configmap.yaml').data as Record<string, string>;
      const secretKeys = Object.keys(readYaml(dir, 'deploy/k8s/base/secret.yaml').stringData as object);
      const database = createDatabase();
      databases.push(database);
      const jwtSecret = randomSecret();
      const secretValues: Record<string, string> = {
        DATABASE_URL: database.url,
        REDIS_URL,
        JWT_SECRET: jwtSecret,
        JWT_PRIVATE_KEY: '',
      };
      for (const key of secretKeys)
        expect(secretValues, `a value for the secret ${key}`).to.have.property(key);
      const env = {
        ...configMap,
        ...Object.fromEntries(secretKeys.map((key) => [key, secretValues[key] ?? ''])),
      };
      // The migration Job's args, as the cluster would run them before the app.
      const job = readYaml(dir, 'deploy/k8s/base/migration-job.yaml');
      const [migrate = '', ...migrateArgs] = job.spec.template.spec.containers[0].args as string[];
      run(path.join(image.workdir, '.venv/bin', migrate), migrateArgs, image.workdir, {
        ...image.env,
        ...env,
      });

      const server = await startImage(image, env);
      servers.push(server);
      const pid = server.process.pid ?? 0;
      // uvicorn's supervisor and one process per worker; never a single worker.
      const deadline = Date.now() + 30_000;
      while (workerPids(pid).length < Number(configMap.WEB_CONCURRENCY) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(workerPids(pid).length).to.equal(Number(configMap.WEB_CONCURRENCY)).and.to.be.greaterThan(1);

      const ready = await fetch(`${server.baseUrl}/health/ready`);
      expect(ready.status, await ready.clone().text()).to.equal(200);
      const token = signJwt(
        { sub: 'k8s-user', iss: configMap.JWT_ISSUER, aud: name, iat: nowSeconds(), exp: nowSeconds() + 300 },
        { secret: jwtSecret },
      );
      const echo = await fetch(`${server.baseUrl}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ message: 'from the image' }),
      });
      expect(echo.status, await echo.clone().text()).to.equal(200);
      expect(((await echo.json()) as Record<string, unknown>).message).to.equal('from the image');
      // In production, the API's docs and schema are not published unless API_DOCS says so.
      expect(configMap.ENVIRONMENT).to.equal('production');
      expect(configMap).to.not.have.property('API_DOCS');
      for (const docs of ['/docs', '/redoc', '/openapi.json']) {
        expect((await fetch(`${server.baseUrl}${docs}`)).status, docs).to.equal(404);
      }

      // The image's HEALTHCHECK command, run with the container's environment.
      const port = new URL(server.baseUrl).port;
      const [probe = '', ...probeArgs] = image.healthcheck;
      const healthy = spawnSync(probe, probeArgs, {
        env: { ...image.env, UVICORN_PORT: port },
        encoding: 'utf8',
      });
      expect(healthy.status, healthy.stderr).to.equal(0);
      await server.stop();
      expect(server.process.exitCode ?? server.process.signalCode).to.not.equal(null);
      const unhealthy = spawnSync(probe, probeArgs, {
        env: { ...image.env, UVICORN_PORT: port },
        encoding: 'utf8',
      });
      expect(unhealthy.status, 'the HEALTHCHECK fails once the server is gone').to.not.equal(0);
    });

    it('builds the Lambda package with its Makefile and serves API Gateway events from it in a bare Python', () => {
      const build = path.join(makeTempDir('lambda'), 'build');
      // This machine has Python 3.11 only: the same build for the runtime's platform, with 3.11 wheels.
      run('make', ['-C', 'deploy/serverless', 'LAMBDA_PYTHON=3.11', `BUILD_DIR=${build}`], dir, WITH_UV);
      expect(readdirSync(build)).to.include.members([packageName, 'mangum', 'fastapi', 'pydantic_core']);
      const template = readYaml(dir, 'deploy/serverless/template.yaml');
      const fn = template.Resources.ApiFunction.Properties as Yaml;
      const jwtSecret = randomSecret();
      const database = createDatabase();
      databases.push(database);
      const parameters: Record<string, string> = {
        CorsOrigins: 'https://app.example.com',
        DatabaseUrl: database.url,
        JwtSecret: jwtSecret,
        JwtPrivateKey: '',
        RedisUrl: REDIS_URL,
      };
      // The function's environment exactly as the template sets it, parameters resolved.
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(fn.Environment.Variables as Record<string, unknown>)) {
        const ref = (value as { Ref?: string }).Ref;
        if (ref !== undefined) expect(parameters, `a value for the parameter ${ref}`).to.have.property(ref);
        env[key] = ref === undefined ? String(value) : (parameters[ref] ?? '');
      }
      const token = signJwt(
        { sub: 'lambda-user', iss: env.JWT_ISSUER, aud: name, iat: nowSeconds(), exp: nowSeconds() + 300 },
        { secret: jwtSecret },
      );
      const [moduleName, handlerName] = [
        fn.Handler.split('.').slice(0, -1).join('.'),
        fn.Handler.split('.').at(-1),
      ];
      const script = `
import importlib, json, sys
sys.path.insert(0, ${JSON.stringify(build)})
handler = getattr(importlib.import_module(${JSON.stringify(moduleName)}), ${JSON.stringify(handlerName)})
def event(method, path, headers, body=None):
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": headers, "body": body, "isBase64Encoded": False,
            "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                               "sourceIp": "203.0.113.7"}, "requestId": "e2e", "stage": "$default"}}
class Context:
    function_name = "e2e"; aws_request_id = "e2e"
    def get_remaining_time_in_millis(self): return 29000
results = [
    handler(event("GET", "/health", {}), Context()),
    handler(event("POST", "/echo", {"content-type": "application/json", "authorization": "Bearer ${token}"},
                  json.dumps({"message": "from Lambda"})), Context()),
    handler(event("POST", "/echo", {"content-type": "application/json"}, "{}"), Context()),
]
handler.close()
print(json.dumps([{"status": r["statusCode"], "body": json.loads(r["body"])} for r in results]))
`;
      // -I -S: no site-packages and no environment of this machine; only the package built above.
      const output = run('python3', ['-I', '-S', '-c', script], path.dirname(build), env).output;
      const [health, echo, anonymous] = JSON.parse(output.trim().split('\n').pop() ?? '[]') as {
        status: number;
        body: Record<string, unknown>;
      }[];
      expect(health?.status).to.equal(200);
      expect(echo?.status, JSON.stringify(echo)).to.equal(200);
      expect(echo?.body.message).to.equal('from Lambda');
      expect(anonymous?.status).to.equal(401);
      expect(anonymous?.body).to.include.keys('code', 'message', 'request_id');
    });

    it('changes nothing when every deployment generator runs again', () => {
      const before = snapshotTree(dir);
      for (const generator of ['docker', 'k8s', 'cloudrun', 'serverless']) {
        forge(['add', generator, '--yes', '--skip-install'], dir);
      }
      forge(['upgrade', '--yes', '--skip-install', '--path', dir], path.dirname(dir));
      expect(snapshotTree(dir)).to.deep.equal(before);
    });
  });

  describe('a tier-2 workspace (two services and the gateway) on Kubernetes', () => {
    let dir = '';

    before(() => {
      const parent = makeTempDir('deploy-ws');
      // The manifests only need the generated files: nothing is installed.
      forge(
        ['new', 'deploy-ws', '--yes', '--skip-install', '--tier', '2', '--services', 'orders,billing'],
        parent,
      );
      dir = path.join(parent, 'deploy-ws');
      forge(['add', 'k8s', '--yes', '--skip-install'], dir);
    });

    it('passes kubernetes-validate --strict for every member, and both overlays build with kubectl kustomize', () => {
      const resources = validateKubernetesTree(dir);
      for (const member of ['deploy-ws', 'deploy-ws-orders', 'deploy-ws-billing', 'deploy-ws-gateway']) {
        for (const kind of [
          'deployment',
          'service',
          'horizontalpodautoscaler',
          'poddisruptionbudget',
          'configmap',
          'secret',
          'networkpolicy',
          'serviceaccount',
        ]) {
          const name =
            kind === 'configmap' ? `${member}-config` : kind === 'secret' ? `${member}-secrets` : member;
          expect(resources, `${kind}/${name}`).to.include(`${kind}/${name}`);
        }
      }
      expect(resources.filter((resource) => resource.startsWith('ingress/'))).to.deep.equal([
        'ingress/deploy-ws',
      ]);
      console.log(`      validated against Kubernetes ${KUBERNETES_VERSION}: ${resources.length} resources`);
    });

    it('runs each member from the image of its own Dockerfile, which passes hadolint', () => {
      const images: Record<string, string> = {};
      const built = readFileSync(buildOverlay(path.join(dir, 'deploy/k8s/overlays/prod')), 'utf8');
      for (const document of parseAllDocuments(built)) {
        const resource = document.toJS() as Yaml;
        if (resource.kind !== 'Deployment') continue;
        images[resource.metadata.name] = resource.spec.template.spec.containers[0].image;
      }
      expect(images).to.deep.equal({
        'deploy-ws': 'registry.example.com/deploy-ws:0.1.0',
        // The agent job worker runs the project's own image.
        'deploy-ws-worker': 'registry.example.com/deploy-ws:0.1.0',
        'deploy-ws-orders': 'registry.example.com/deploy-ws-orders:0.1.0',
        'deploy-ws-billing': 'registry.example.com/deploy-ws-billing:0.1.0',
        'deploy-ws-gateway': 'registry.example.com/deploy-ws-gateway:0.1.0',
      });
      for (const member of ['services/orders', 'services/billing', 'gateway']) {
        hadolint(path.join(dir, member, 'Dockerfile'));
        // The image the member's Dockerfile builds is the one its Deployment names.
        const compose = readYaml(dir, 'docker-compose.yml').services as Record<string, Yaml>;
        const service = Object.values(compose).find(
          (entry) => entry.build?.dockerfile === `${member}/Dockerfile`,
        );
        expect(service?.image, member).to.equal(`deploy-ws-${path.basename(member)}:dev`);
      }
    });

    it('at tier 3 adds a consumer Deployment per service, and still validates', () => {
      forge(['add', 'events', '--yes', '--skip-install'], dir);
      const resources = validateKubernetesTree(dir);
      expect(resources).to.include.members([
        'deployment/deploy-ws-orders-consumer',
        'networkpolicy/deploy-ws-orders-consumer',
        'deployment/deploy-ws-billing-consumer',
        'networkpolicy/deploy-ws-billing-consumer',
      ]);
    });
  });

  describe('the deployment files of other configurations validate too', () => {
    const VARIANTS = [
      { name: 'mongo-agents', flags: ['--db', 'mongo', '--auth', 'apikey'], config: { agents: true } },
      { name: 'redis-oidc', flags: ['--db', 'redis', '--auth', 'oidc'], config: {} },
      // The agents generator marks agents: true itself here.
      {
        name: 'postgres-agents',
        flags: ['--db', 'postgres', '--auth', 'none', '--app-type', 'agents', '--agent-sdk', 'none'],
        config: {},
      },
    ];
    for (const variant of VARIANTS) {
      it(`${variant.name}: every target`, () => {
        const parent = makeTempDir('deploy-variant');
        const appType = variant.flags.includes('--app-type') ? [] : ['--app-type', 'microservice'];
        forge(['new', variant.name, '--yes', '--skip-install', ...appType, ...variant.flags], parent);
        const dir = path.join(parent, variant.name);
        // Setting agents: true (the agents generator's mark) renders the worker's manifests from the
        // config alone, without that generator's code.
        updateConfig(dir, variant.config);
        for (const generator of ['k8s', 'cloudrun', 'serverless']) {
          forge(['add', generator, '--yes', '--skip-install'], dir);
        }
        const resources = validateDeploymentFiles(dir);
        const agents = readConfig(dir).agents === true;
        expect(agents).to.equal('agents' in variant.config || variant.flags.includes('agents'));
        expect(resources.includes(`deployment/${variant.name}-worker`)).to.equal(agents);
        expect(resources.includes(`job/${variant.name}-migrate`)).to.equal(
          variant.flags.includes('postgres'),
        );
        const services = Object.keys(readYaml(dir, 'docker-compose.yml').services as object);
        expect(services.includes('worker')).to.equal(agents);
        console.log(
          `      ${variant.name}: compose services ${services.join(', ')}; ${resources.length} resources`,
        );
      });
    }
  });
});
