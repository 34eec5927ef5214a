import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { expectUserError, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';
import { tier1, read, SERVICE_FILES, LIBS_FILES } from './workspace-support.js';
import { declarationTests } from './declaration.js';
import { reExport } from '../../lib/workspace-generator.js';

describe('microservice generator', () => {
  declarationTests('microservice');

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

    // The tier-1 service keeps its code: nothing under src/ or tests/ changed, but for the core modules
    // the shared package holds, now re-exports of libs' own, and the settings, which extend libs'.
    const after = snapshotTree(first.cwd);
    const reExports: string[] = [];
    for (const [file, content] of Object.entries(before)) {
      if (!file.startsWith('src/') && !file.startsWith('tests/')) continue;
      if (after[file] === content) continue;
      if (file === 'src/demo_svc/settings/__init__.py') {
        expect(after[file], file).to.match(/\nclass ForgeSettings\([^)]*SharedSettings\):/);
        continue;
      }
      const module = file === 'tests/auth_support.py' ? 'testing.py' : file.replace(/^src\/demo_svc\//, '');
      expect(after[`libs/src/demo_svc_libs/${module}`], module).to.be.a('string');
      if (file === 'tests/auth_support.py')
        expect(after[file]).to.include('from demo_svc_libs.testing import *');
      else expect(after[file], file).to.equal(reExport('demo_svc_libs', module));
      reExports.push(file);
    }
    expect(reExports).to.include.members(['src/demo_svc/errors.py', 'src/demo_svc/logging.py']);
  });

  it('renders the shared modules from the tier-1 templates, for the libs package', async () => {
    const first = await tier1();
    const tier1Logging = read(first.cwd, 'src/demo_svc/logging.py');
    await runForge('microservice').cd(first.cwd).withArguments(['orders']);
    expect(read(first.cwd, 'libs/src/demo_svc_libs/logging.py')).to.equal(
      tier1Logging.replaceAll('demo_svc.', 'demo_svc_libs.'),
    );
    // The root service's is now a re-export of it.
    expect(read(first.cwd, 'src/demo_svc/logging.py')).to.equal(reExport('demo_svc_libs', 'logging.py'));
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
