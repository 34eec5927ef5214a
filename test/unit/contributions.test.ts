import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { configuredGenerators } from '../../lib/composition.js';
import { Contributions, renderImports } from '../../lib/contributions.js';
import { withDefaults } from '../../lib/base-generator.js';
import { wiringFromContext } from '../../generators/features.js';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { makeTempDir, runForge } from '../helpers.js';

describe('contribution API', () => {
  it('writes imports as ruff sorts them: by section, merged by module, aliases alone, long ones wrapped', () => {
    const text = renderImports(
      [
        { module: 'tests.helpers', names: ['SettingsFactory'] },
        { module: '<package>.settings', names: ['ForgeSettings'] },
        { module: 'fastapi', names: ['Request'] },
        { module: 'typing', names: ['Annotated'], section: 'stdlib' },
        { module: 'structlog' },
        { module: 'fastapi', names: ['Depends'] },
        {
          module: '<package>.auth',
          names: ['authenticate as auth', 'security_schemes', 'ANONYMOUS', 'Principal'],
        },
        { module: '<package>.rate_limit', names: ['RateLimiter'], wrap: true },
        {
          module: '<package>.observability',
          names: ['a_very_long_function_name_one', 'another_quite_long_function_name'],
        },
      ],
      'demo_app_with_a_rather_long_name',
    );
    expect(text).to.equal(
      [
        'from typing import Annotated',
        '',
        'import structlog',
        'from fastapi import Depends, Request',
        '',
        'from demo_app_with_a_rather_long_name.auth import authenticate as auth',
        'from demo_app_with_a_rather_long_name.auth import ANONYMOUS, Principal, security_schemes',
        'from demo_app_with_a_rather_long_name.observability import (',
        '    a_very_long_function_name_one,',
        '    another_quite_long_function_name,',
        ')',
        'from demo_app_with_a_rather_long_name.rate_limit import (',
        '    RateLimiter,',
        ')',
        'from demo_app_with_a_rather_long_name.settings import ForgeSettings',
        '',
        'from tests.helpers import SettingsFactory',
      ].join('\n'),
    );
  });

  it('orders contributions by their order, whichever generator made them first', () => {
    const contributions = new Contributions();
    contributions.add('b', { middleware: [{ order: 40, code: 'outer()', label: 'outer' }] });
    contributions.add('a', { middleware: [{ order: 5, code: 'inner()', label: 'inner' }] });
    expect(contributions.ordered('middleware').map((item) => item.label)).to.deep.equal(['inner', 'outer']);
    expect(contributions.sources).to.deep.equal(['b', 'a']);
  });

  it('composes the generators a stored config calls for, the core first and each once', () => {
    const config = withDefaults({
      projectName: 'demo',
      packageName: 'demo',
      tier: 1,
      db: 'postgres',
      dbGenerated: true,
      auth: 'jwt',
      agents: true,
      observability: true,
      deployment: { targets: ['k8s'] },
    });
    expect(configuredGenerators(config)).to.deep.equal([
      'api',
      'auth',
      'agents',
      'db',
      'observability',
      'docker',
      'k8s',
    ]);
    const bare = withDefaults({ projectName: 'demo', packageName: 'demo', db: 'postgres', auth: 'none' });
    // A database answer whose code was never generated is not composed.
    expect(configuredGenerators(bare)).to.deep.equal(['api']);
  });

  it('has no generator compose the core back', () => {
    const generators = path.join(PACKAGE_ROOT, 'generators');
    for (const name of readdirSync(generators)) {
      if (name === 'app') continue;
      const file = path.join(generators, name, 'index.ts');
      const source = (() => {
        try {
          return readFileSync(file, 'utf8');
        } catch {
          return '';
        }
      })();
      expect(source, file).not.to.include("composeForge('api')");
    }
  });

  it('wires a context without features with the core alone: anonymous callers, no feature module', () => {
    const wiring = wiringFromContext({
      packageName: 'demo',
      auth: 'none',
      db: 'none',
      agents: false,
      users: false,
      agentJobs: false,
      observability: false,
    });
    expect(wiring.anonymous).to.equal(true);
    expect(wiring.settingsClasses).to.deep.equal(['CoreSettings']);
    expect(wiring.requestPath).to.equal('request context -> CORS -> size limits -> the route');
    expect(wiring.imports('lifespan')).not.to.match(/demo\.(auth|db|agents|observability)/);
  });

  it('`add auth` on a project with a database and agents renders the wiring of all three', async () => {
    const first = await runForge('app', { db: 'postgres', auth: 'none', agentSdk: 'anthropic' })
      .cd(makeTempDir('contributions'))
      .withArguments(['demo-svc']);
    first.assertNoFileContent('src/demo_svc/lifespan.py', 'authenticator_resource');
    const added = await runForge('auth', { auth: 'jwt' }).cd(first.cwd);
    const lifespan = 'src/demo_svc/lifespan.py';
    added.assertFileContent(lifespan, 'authenticator_resource(settings, readiness)');
    added.assertFileContent(lifespan, 'ticket_store_resource(settings)');
    added.assertFileContent(lifespan, 'database_resource(settings, readiness)');
    added.assertFileContent(lifespan, 'agent_service_resource(settings, readiness, database)');
    added.assertFileContent(
      'src/demo_svc/dependencies.py',
      'CurrentPrincipal = Annotated[Principal, Security(authenticate)]',
    );
    added.assertFileContent('src/demo_svc/routes/__init__.py', 'users.token_router');
    added.assertFileContent(
      'src/demo_svc/settings/__init__.py',
      'TokenSettings, JwtSettings, DatabaseSettings',
    );
  });
});
