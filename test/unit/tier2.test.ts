import { expect } from 'chai';
import { parse as parseToml } from 'smol-toml';
import { addWorkspaceMembers, addWorkspaceSources, validateServiceName } from '../../lib/workspace.js';
import { expectUserError, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';
import { read, SERVICE_FILES } from './workspace-support.js';

describe('app generator at tier 2', () => {
  it('generates two example services and the gateway by default', async () => {
    const result = await runForge('app', { appType: 'microservice', tier: 2 })
      .cd(makeTempDir('tier2-app'))
      .withArguments(['demo-svc']);
    expect(readConfig(result.cwd)).to.include({ tier: 2, gateway: true });
    expect(readConfig(result.cwd).services).to.deep.equal(['orders', 'inventory']);
    result.assertFile([...SERVICE_FILES('orders'), ...SERVICE_FILES('inventory'), 'gateway/pyproject.toml']);
  });

  it('gives every member the same core modules, in the same roles', async () => {
    const result = await runForge('app', { appType: 'microservice', tier: 2 })
      .cd(makeTempDir('tier2-app'))
      .withArguments(['demo-svc']);
    const members = {
      'src/demo_svc': 'settings/__init__.py',
      'services/orders/src/orders': 'settings.py',
      'services/inventory/src/inventory': 'settings.py',
      'gateway/src/demo_svc_gateway': 'settings.py',
    };
    for (const [dir, settings] of Object.entries(members)) {
      const modules = [
        'main.py',
        'config.py',
        settings,
        'lifespan.py',
        'dependencies.py',
        'routes/__init__.py',
      ];
      result.assertFile(modules.map((module) => `${dir}/${module}`));
      const pkg = dir.split('/').at(-1) ?? '';
      // One way to read the settings, from the shared settings package (re-exported by the root's).
      expect(read(result.cwd, `${dir}/config.py`), dir).to.include(
        'get_settings = settings_getter(Settings)',
      );
      expect(read(result.cwd, `${dir}/config.py`), dir).to.not.include('lru_cache');
      // The app factory uses the member's own lifespan.
      expect(read(result.cwd, `${dir}/main.py`), dir).to.include(
        `from ${pkg}.lifespan import build_lifespan`,
      );
      expect(read(result.cwd, `${dir}/lifespan.py`), dir).to.include('def build_lifespan(');
    }
    expect(read(result.cwd, 'libs/src/demo_svc_libs/settings/core.py')).to.include('def settings_getter(');
    expect(read(result.cwd, 'services/orders/src/orders/lifespan.py')).to.include(
      "This service's own resources go here",
    );
    // The gateway's routes read the gateway from its dependencies, not from the request state.
    expect(read(result.cwd, 'gateway/src/demo_svc_gateway/routes/health.py')).to.include(
      'gateway: GatewayDep',
    );
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
    [{ tier: 2, services: 'billing,,users' }, /--services billing,,users: a service name is empty/],
    [{ tier: 2, services: 'billing,billing' }, /--services lists billing twice/],
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
