import { expect } from 'chai';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { expectUserError, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';
import { tier1, read } from './workspace-support.js';
import { declarationTests } from './declaration.js';

describe('gateway generator', () => {
  declarationTests('gateway');

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
