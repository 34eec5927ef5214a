import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { pendingFeatures } from '../../lib/generators.js';
import { addWorkspaceMembers, addWorkspaceSources, validateServiceName } from '../../lib/workspace.js';
import type { ForgeConfig } from '../../lib/config.js';
import { expectUserError, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';

/** A tier-1 project without agents (fast), generated with `app`. */
const tier1 = () =>
  runForge('app', { appType: 'microservice' }).cd(makeTempDir('tier2')).withArguments(['demo-svc']);

const read = (dir: string, file: string): string => readFileSync(path.join(dir, file), 'utf8');

const SERVICE_FILES = (name: string): string[] =>
  [
    'pyproject.toml',
    'README.md',
    '.env.example',
    'Dockerfile',
    `src/${name}/main.py`,
    `src/${name}/config.py`,
    `src/${name}/settings.py`,
    `src/${name}/lifespan.py`,
    `src/${name}/tables.py`,
    `src/${name}/events.py`,
    `src/${name}/routes/items.py`,
    `src/${name}/routes/events.py`,
    'tests/conftest.py',
    'tests/auth_support.py',
    'tests/test_items.py',
    'tests/test_events.py',
    'tests/test_preflight.py',
  ].map((file) => `services/${name}/${file}`);

const LIBS_FILES = [
  'logging',
  'errors',
  'settings/__init__',
  'client',
  'resilience',
  'events',
  'db/session',
  'preflight',
].map((module) => `libs/src/demo_svc_libs/${module}.py`);

describe('microservice generator', () => {
  it('turns a tier-1 project into a uv workspace with the service and the shared libs', async () => {
    const first = await tier1();
    const before = snapshotTree(first.cwd);
    const result = await runForge('microservice').cd(first.cwd).withArguments(['orders']);
    result.assertFile([...SERVICE_FILES('orders'), ...LIBS_FILES, 'libs/pyproject.toml', 'libs/README.md']);
    expect(readConfig(first.cwd)).to.include({ tier: 2 });
    expect(readConfig(first.cwd).services).to.deep.equal(['orders']);

    const root = parseToml(read(first.cwd, 'pyproject.toml')) as { tool: { uv: { workspace: unknown } } };
    expect(root.tool.uv.workspace).to.deep.equal({ members: ['libs', 'services/orders'] });
    const service = parseToml(read(first.cwd, 'services/orders/pyproject.toml')) as {
      project: { name: string; dependencies: string[] };
      tool: { uv: { sources: Record<string, unknown> } };
    };
    expect(service.project.name).to.equal('demo-svc-orders');
    expect(service.project.dependencies).to.include('demo-svc-libs');
    expect(service.tool.uv.sources).to.deep.equal({ 'demo-svc-libs': { workspace: true } });
    result.assertFileContent(
      'services/orders/src/orders/settings.py',
      'validation_alias="orders_database_url"',
    );
    result.assertFileContent('services/orders/.env.example', /^ORDERS_DATABASE_URL=$/m);
    result.assertFileContent('libs/src/demo_svc_libs/settings/auth.py', 'class JwtSettings');
    // The image checks the service's own settings through the shared preflight before uvicorn starts.
    result.assertFileContent(
      'services/orders/Dockerfile',
      'ENTRYPOINT ["python", "-m", "demo_svc_libs.preflight", "orders.config:get_settings"]\n',
    );

    // The tier-1 service keeps its code: nothing under src/ or tests/ changed.
    const after = snapshotTree(first.cwd);
    for (const [file, content] of Object.entries(before)) {
      if (file.startsWith('src/') || file.startsWith('tests/')) expect(after[file], file).to.equal(content);
    }
  });

  it('renders the shared modules from the tier-1 templates, for the libs package', async () => {
    const first = await tier1();
    await runForge('microservice').cd(first.cwd).withArguments(['orders']);
    const tier1Logging = read(first.cwd, 'src/demo_svc/logging.py');
    expect(read(first.cwd, 'libs/src/demo_svc_libs/logging.py')).to.equal(
      tier1Logging.replaceAll('demo_svc.', 'demo_svc_libs.'),
    );
    // The libs schemas are the shared ones only: no example resource.
    expect(read(first.cwd, 'libs/src/demo_svc_libs/models/schemas.py')).to.not.include('Echo');
  });

  it('changes nothing when run again, and adding the same service again is a no-op', async () => {
    const first = await tier1();
    await runForge('microservice').cd(first.cwd).withArguments(['orders']);
    await runForge('microservice').cd(first.cwd).withArguments(['inventory']);
    const before = snapshotTree(first.cwd);
    await runForge('microservice').cd(first.cwd).withArguments(['orders']);
    await runForge('microservice').cd(first.cwd).withArguments(['inventory']);
    await runForge('api').cd(first.cwd);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
    expect(readConfig(first.cwd).services).to.deep.equal(['orders', 'inventory']);
  });

  it('adds each service, its database and Redis to docker-compose.yml', async () => {
    const first = await tier1();
    await runForge('microservice').cd(first.cwd).withArguments(['orders']);
    const compose = parseYaml(read(first.cwd, 'docker-compose.yml')) as {
      services: Record<string, Record<string, unknown>>;
    };
    expect(compose.services).to.include.keys('app', 'redis', 'orders', 'orders-postgres');
    expect(compose.services.orders?.build).to.deep.equal({
      context: '.',
      dockerfile: 'services/orders/Dockerfile',
    });
    expect((compose.services.orders?.environment as Record<string, string>).ORDERS_DATABASE_URL).to.equal(
      'postgresql+asyncpg://postgres:postgres@orders-postgres:5432/orders',
    );
    expect(compose.services['orders-postgres']?.healthcheck).to.have.property('test');
    // The root image installs from the workspace's lock.
    expect(read(first.cwd, 'Dockerfile')).to.include('uv sync --frozen --no-install-workspace --no-dev');
  });

  describe('bad input writes nothing', () => {
    const badNames: [string, RegExp][] = [
      ['Orders', /lowercase letters/],
      ['1orders', /lowercase letters/],
      ['order-service', /lowercase letters/],
      ['class', /Python keyword/],
      ['json', /shadow/],
      ['sqlite3', /shadow the Python module "sqlite3"/],
      ['fastapi', /shadow a module/],
      ['libs', /reserved/],
      ['demo_svc', /name of a package of this project/],
      ['demo_svc_libs', /name of a package of this project/],
    ];
    for (const [name, message] of badNames) {
      it(`refuses the service name ${JSON.stringify(name)}`, async () => {
        const first = await tier1();
        const before = snapshotTree(first.cwd);
        await expectUserError(runForge('microservice').cd(first.cwd).withArguments([name]).run(), message);
        expect(snapshotTree(first.cwd)).to.deep.equal(before);
      });
    }

    it('refuses to run outside a forge project', async () => {
      const dir = makeTempDir('microservice-outside');
      await expectUserError(
        runForge('microservice').cd(dir).withArguments(['orders']).run(),
        /not a fastapi-forge project/,
      );
      expect(snapshotTree(dir)).to.deep.equal({});
    });

    it('needs a service name when the project has none', async () => {
      const first = await tier1();
      const before = snapshotTree(first.cwd);
      await expectUserError(runForge('microservice').cd(first.cwd).run(), /a service name is required/);
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });

    it('rejects an invalid service name stored in .yo-rc.json', async () => {
      const first = await tier1();
      const file = path.join(first.cwd, '.yo-rc.json');
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
      stored['generator-fastapi-forge'] = {
        ...stored['generator-fastapi-forge'],
        services: ['ok', 'Bad-Name'],
      };
      writeFileSync(file, JSON.stringify(stored));
      const before = snapshotTree(first.cwd);
      await expectUserError(
        runForge('api').cd(first.cwd).run(),
        /\.yo-rc\.json: invalid service name "Bad-Name"/,
      );
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });
  });
});

describe('gateway generator', () => {
  it('refuses a project without services, with a clear message, writing nothing', async () => {
    const first = await tier1();
    const before = snapshotTree(first.cwd);
    await expectUserError(
      runForge('gateway').cd(first.cwd).run(),
      /routes to services.*add one first with `fastapi-forge add microservice <name>`/,
    );
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
  });

  it('refuses to run outside a forge project', async () => {
    const dir = makeTempDir('gateway-outside');
    await expectUserError(runForge('gateway').cd(dir).run(), /not a fastapi-forge project/);
    expect(snapshotTree(dir)).to.deep.equal({});
  });

  it('routes to the project service and every service, and joins docker-compose.yml', async () => {
    const first = await tier1();
    await runForge('microservice').cd(first.cwd).withArguments(['orders']);
    const result = await runForge('gateway').cd(first.cwd);
    result.assertFile(
      [
        'pyproject.toml',
        'README.md',
        '.env.example',
        'Dockerfile',
        'src/demo_svc_gateway/proxy.py',
        'src/demo_svc_gateway/routes/table.py',
        'src/demo_svc_gateway/routes/health.py',
        'tests/test_proxy.py',
        'tests/test_preflight.py',
        'tests/upstream.py',
      ].map((file) => `gateway/${file}`),
    );
    result.assertFileContent(
      'gateway/Dockerfile',
      'ENTRYPOINT ["python", "-m", "demo_svc_libs.preflight", "demo_svc_gateway.config:get_settings"]\n',
    );
    expect(readConfig(first.cwd)).to.include({ gateway: true });
    const table = read(first.cwd, 'gateway/src/demo_svc_gateway/routes/table.py');
    expect(table).to.include('prefix="/demo_svc"').and.include('prefix="/orders"');
    result.assertFileContent('gateway/.env.example', /^ORDERS_URL=http:\/\/127\.0\.0\.1:8001$/m);
    result.assertFileContent('gateway/.env.example', /^DEMO_SVC_URL=http:\/\/127\.0\.0\.1:8000$/m);
    const compose = parseYaml(read(first.cwd, 'docker-compose.yml')) as {
      services: Record<string, Record<string, unknown>>;
    };
    const gateway = compose.services.gateway ?? {};
    expect(gateway.ports).to.deep.equal(['8080:8000']);
    expect(gateway.environment).to.include({
      ORDERS_URL: 'http://orders:8000',
      DEMO_SVC_URL: 'http://app:8000',
    });
    expect(Object.keys(gateway.depends_on as object)).to.have.members(['app', 'orders', 'redis']);
    const root = parseToml(read(first.cwd, 'pyproject.toml')) as { tool: { uv: { workspace: unknown } } };
    expect(root.tool.uv.workspace).to.deep.equal({ members: ['libs', 'services/orders', 'gateway'] });
  });

  it('routes a service added later, and re-runs without changes', async () => {
    const first = await tier1();
    await runForge('microservice').cd(first.cwd).withArguments(['orders']);
    await runForge('gateway').cd(first.cwd);
    await runForge('microservice').cd(first.cwd).withArguments(['inventory']);
    expect(read(first.cwd, 'gateway/src/demo_svc_gateway/routes/table.py')).to.include('prefix="/inventory"');
    const compose = parseYaml(read(first.cwd, 'docker-compose.yml')) as {
      services: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(compose.services.gateway?.depends_on as object)).to.include('inventory');
    const before = snapshotTree(first.cwd);
    await runForge('gateway').cd(first.cwd);
    await runForge('microservice').cd(first.cwd).withArguments(['inventory']);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
  });
});

describe('app generator at tier 2', () => {
  it('generates two example services and the gateway by default', async () => {
    const result = await runForge('app', { appType: 'microservice', tier: 2 })
      .cd(makeTempDir('tier2-app'))
      .withArguments(['demo-svc']);
    expect(readConfig(result.cwd)).to.include({ tier: 2, gateway: true });
    expect(readConfig(result.cwd).services).to.deep.equal(['orders', 'inventory']);
    result.assertFile([...SERVICE_FILES('orders'), ...SERVICE_FILES('inventory'), 'gateway/pyproject.toml']);
  });

  it('takes the services from --services', async () => {
    const result = await runForge('app', { appType: 'microservice', tier: 2, services: 'billing, users' })
      .cd(makeTempDir('tier2-app'))
      .withArguments(['demo-svc']);
    expect(readConfig(result.cwd).services).to.deep.equal(['billing', 'users']);
    result.assertFile(['services/billing/src/billing/main.py', 'services/users/src/users/main.py']);
    result.assertNoFile('services/orders/pyproject.toml');
  });

  for (const [options, message] of [
    [{ tier: 2, services: 'billing,json' }, /would shadow/],
    [{ tier: 2, services: ',' }, /--services needs at least one service name/],
    [{ tier: 1, services: 'billing' }, /--services is for tier 2 and 3 projects/],
  ] as const) {
    it(`refuses ${JSON.stringify(options)}, writing nothing`, async () => {
      const dir = makeTempDir('tier2-bad');
      await expectUserError(
        runForge('app', { appType: 'microservice', ...options })
          .cd(dir)
          .withArguments(['demo-svc'])
          .run(),
        message,
      );
      expect(snapshotTree(dir)).to.deep.equal({});
    });
  }

  it('does not report tier 2 as not generated', () => {
    expect(pendingFeatures({ tier: 2, services: ['orders'] } as ForgeConfig)).to.deep.equal([]);
  });
});

describe('workspace helpers', () => {
  it('validates service names', () => {
    expect(validateServiceName('orders', 'shop')).to.equal('orders');
    expect(validateServiceName('order_items', 'shop')).to.equal('order_items');
  });

  it('merges workspace members and sources into pyproject.toml, keeping what is there', () => {
    const start = '[project]\nname = "x"\n\n[tool.uv.workspace]\nmembers = ["mine"]  # kept\n';
    const merged = addWorkspaceMembers(start, ['libs', 'mine']);
    expect(parseToml(merged)).to.deep.include({ tool: { uv: { workspace: { members: ['mine', 'libs'] } } } });
    expect(addWorkspaceMembers(merged, ['libs'])).to.equal(merged);
    const created = addWorkspaceMembers('[project]\nname = "x"\n', ['libs']);
    expect(parseToml(created)).to.deep.include({ tool: { uv: { workspace: { members: ['libs'] } } } });
    const sourced = addWorkspaceSources(created, ['x-libs']);
    expect(parseToml(sourced)).to.deep.include({
      tool: { uv: { workspace: { members: ['libs'] }, sources: { 'x-libs': { workspace: true } } } },
    });
    expect(addWorkspaceSources(sourced, ['x-libs'])).to.equal(sourced);
  });
});
