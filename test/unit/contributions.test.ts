import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { configuredGenerators } from '../../lib/composition.js';
import { choiceSpec, isSqlDatabase } from '../../lib/config.js';
import { CONTRIBUTION_SCHEMA } from '../../lib/contribution-schema.js';
import { type Contribution, Contributions, classFields, renderImports } from '../../lib/contributions.js';
import { withDefaults } from '../../lib/base-generator.js';
import { contributionsFromContext, wiringFromContext } from '../../generators/features.js';
import { wiringView } from '../../generators/api/wiring.js';
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

  describe('settings fields', () => {
    const DATABASE = [
      '"""The database."""',
      '',
      'class DatabaseSettings(',
      '    BaseSettings,',
      '):',
      '    """Where it is.',
      '',
      '    Note: a docstring line, not a field.',
      '    """',
      '',
      '    database_url: SecretStr | None = None',
      '    pool_size: int = Field(default=5, ge=1)',
      '    _cache: dict[str, str] = {}',
      '    kinds: ClassVar[tuple[str, ...]] = ()',
      '',
      '    @property',
      '    def is_sqlite(self) -> bool:',
      '        local: bool = True',
      '        return local',
      '',
      '',
      'other: int = 1',
    ].join('\n');
    const billing = (field: string) => `class BillingSettings(BaseSettings):\n    ${field}: str = "x"\n`;
    const modules: Record<string, string> = { 'shop.settings.database': DATABASE };
    const withBilling = (field: string): Contributions => {
      modules['shop.settings.billing'] = billing(field);
      const contributions = new Contributions();
      contributions.add('fastapi-forge:db', {
        settings: [{ className: 'DatabaseSettings', module: '<package>.settings.database', order: 40 }],
      });
      contributions.add('fastapi-forge-billing:app', {
        settings: [{ className: 'BillingSettings', module: '<package>.settings.billing', order: 1 }],
      });
      return contributions;
    };

    it("are read from the class's own body: not its docstring, methods, private or ClassVar names", () => {
      expect(classFields(DATABASE, 'DatabaseSettings')).to.deep.equal(['database_url', 'pool_size']);
      expect(classFields(DATABASE, 'Missing')).to.equal(undefined);
    });

    it("a plugin's settings class declaring a field of another's is one user error naming both", () => {
      expect(() =>
        withBilling('database_url').checkSettingsFields('shop', (module) => modules[module]),
      ).to.throw(
        'the plugin generator-fastapi-forge-billing declares the setting database_url in BillingSettings, but the generator fastapi-forge:db declares it in DatabaseSettings: each setting needs a name of its own',
      );
      expect(() =>
        withBilling('billing_currency').checkSettingsFields('shop', (module) => modules[module]),
      ).to.not.throw();
    });
  });

  describe('checks each contribution when it is made', () => {
    const PLUGIN = 'fastapi-forge-shape:app';
    const contribute = (contribution: unknown, source = PLUGIN): void =>
      new Contributions().add(source, contribution as Contribution);
    const lead = 'the plugin generator-fastapi-forge-shape contributes ';

    for (const [contribution, problem] of [
      [
        { routes: [{ order: 60, module: 'billing', protectedRouter: 'billing.router' }] },
        'routes, which is no part of a contribution (did you mean routers?)',
      ],
      [{ routers: 'billing' }, 'routers = "billing", which is not a list of routers'],
      [{ routers: [{ module: 'billing' }] }, 'routers[0] without order (a number)'],
      [
        { routers: [{ order: 60, module: 'billing' }] },
        'routers[0], which includes nothing: give protectedRouter (its router expression) or include (its statements)',
      ],
      [
        { routers: [{ order: 60, stage: 'public', module: 'billing' }] },
        'routers[0], which includes nothing: a public router gives include (its statements)',
      ],
      [
        { settings: [{ module: '<package>.settings.billing', order: 60 }] },
        'settings[0] without className (a Python name)',
      ],
      [
        { dependencies: [{ order: 'first', provider: 42 }] },
        'dependencies[0].order = "first", which is not a number',
      ],
      [
        { dependencies: [{ order: 60, provider: 'get_billing' }] },
        'dependencies[0].provider = "get_billing", which is not a function definition (async def name(...) -> Type: ...) or an assignment (name = FromState[Type]("name"))',
      ],
      [
        { dependencies: [{ order: 60 }] },
        'dependencies[0], which defines nothing: give provider, alias or both',
      ],
      [
        { imports: { nosuchmodule: [{ module: 'x', names: ['Y'] }] } },
        'imports.nosuchmodule, which is no part of imports (its keys are lifespan, dependencies, settings, routes, middleware, conftest, logging)',
      ],
      [
        { imports: { routes: [{ module: 'not a module' }] } },
        'imports.routes[0].module = "not a module", which is not a Python module such as <package>.billing',
      ],
      [{ middleware: [{ order: 5 }] }, 'middleware[0] without code (a string)'],
      [
        { readme: [{ slot: 'footer', order: 1, text: '' }] },
        'readme[0].slot = "footer", which is not one of setup',
      ],
      ['billing', '"billing", which is not an object of the parts of a contribution'],
    ] as const) {
      it(`refuses ${JSON.stringify(contribution)} in one line naming the plugin and the part`, () => {
        expect(() => contribute(contribution))
          .to.throw(lead + problem)
          .with.property('name', 'ForgeUserError');
        expect(() => contribute(contribution)).to.throw(
          /; docs\/contributions\.md gives the shape of each part$/,
        );
      });
    }

    it('names a generator of this package by its namespace', () => {
      expect(() => contribute({ routers: 'x' }, 'fastapi-forge:api')).to.throw(
        /^the generator fastapi-forge:api contributes routers = "x"/,
      );
    });

    it('takes the built-in features’ contributions in every combination of them', () => {
      const values = (key: 'auth' | 'db' | 'agentSdk') =>
        choiceSpec(key).choices.map((choice) => String(choice.value));
      for (const auth of values('auth')) {
        for (const db of values('db')) {
          for (const agentSdk of values('agentSdk')) {
            const context = {
              packageName: 'demo',
              auth,
              db,
              agentSdk,
              agents: agentSdk !== 'none',
              users: isSqlDatabase(db) && auth === 'jwt',
              agentJobs: isSqlDatabase(db),
              observability: auth !== 'none',
              examples: true,
            };
            expect(() => contributionsFromContext(context), `${auth} ${db} ${agentSdk}`).not.to.throw();
          }
        }
      }
    });
  });

  describe('refuses a name the wiring modules would define twice, in one line naming both contributors', () => {
    const builtIns = (): Contributions =>
      contributionsFromContext({
        packageName: 'demo',
        auth: 'none',
        db: 'postgres',
        agents: false,
        users: false,
        agentJobs: false,
        observability: false,
      });
    const billing = {
      order: 60,
      provider: 'async def get_billing() -> BillingClient:\n    return BillingClient()',
      alias: 'BillingDep = Annotated[BillingClient, Depends(get_billing)]',
    };

    it('a dependency provider or alias of a built-in feature’s name', () => {
      const provider = builtIns();
      expect(() =>
        provider.add('fastapi-forge-depname:app', {
          dependencies: [{ ...billing, provider: billing.provider.replace('get_billing', 'get_database') }],
        }),
      ).to.throw(
        'the plugin generator-fastapi-forge-depname contributes the dependency get_database, but the generator db defines it too: each needs a name of its own',
      );
      expect(() =>
        builtIns().add('fastapi-forge-depname:app', {
          dependencies: [
            { ...billing, alias: 'DatabaseDep = Annotated[BillingClient, Depends(get_billing)]' },
          ],
        }),
      ).to.throw(/contributes the dependency DatabaseDep, but the generator db defines it too/);
      // The core's dependencies module defines `protected` and the current principal itself.
      expect(() =>
        builtIns().add('fastapi-forge-depname:app', {
          dependencies: [{ order: 60, alias: 'CurrentPrincipal = Annotated[str, Depends(get_billing)]' }],
        }),
      ).to.throw(/contributes the dependency CurrentPrincipal, but the dependencies module defines it too/);
    });

    it('the same dependency from two plugins, or twice from one', () => {
      const contributions = builtIns();
      contributions.add('fastapi-forge-one:app', { dependencies: [billing] });
      expect(() => contributions.add('fastapi-forge-two:app', { dependencies: [billing] })).to.throw(
        'the plugin generator-fastapi-forge-two contributes the dependency get_billing, but the plugin generator-fastapi-forge-one defines it too',
      );
      expect(() => builtIns().add('fastapi-forge-one:app', { dependencies: [billing, billing] })).to.throw(
        /contributes the dependency get_billing, but it defines it twice/,
      );
    });

    it('a router module or settings class of another contributor, while one contributor’s routers may share a module', () => {
      expect(() =>
        builtIns().add('fastapi-forge-routemod:app', {
          routers: [{ order: 60, module: 'notes', protectedRouter: 'notes.router' }],
        }),
      ).to.throw(
        'the plugin generator-fastapi-forge-routemod contributes the router module <package>.routes.notes, but the generator db defines it too',
      );
      expect(() =>
        builtIns().add('fastapi-forge-setcls:app', {
          settings: [{ className: 'DatabaseSettings', module: '<package>.settings.setcls', order: 60 }],
        }),
      ).to.throw(/contributes the settings class DatabaseSettings, but the generator db defines it too/);
      const shared = builtIns();
      shared.add('fastapi-forge-billing:app', {
        routers: [
          { order: 15, stage: 'public', module: 'billing', include: 'app.include_router(billing.webhooks)' },
          { order: 60, module: 'billing', protectedRouter: 'billing.router' },
        ],
      });
      expect(shared.ordered('routers').filter((router) => router.module === 'billing')).to.have.length(2);
    });

    it('a router module a resource has its routes in', () => {
      const contributions = builtIns();
      contributions.add('fastapi-forge-orders:app', {
        routers: [{ order: 60, module: 'orders', protectedRouter: 'orders.router' }],
      });
      expect(() => wiringView(contributions, 'demo', [{ table: 'orders' }])).to.throw(
        'the plugin generator-fastapi-forge-orders contributes the router module <package>.routes.orders, but the resource orders has its routes there',
      );
    });
  });

  it('is documented part by part in docs/contributions.md', () => {
    const docs = readFileSync(path.join(PACKAGE_ROOT, 'docs', 'contributions.md'), 'utf8');
    const table = docs.slice(docs.indexOf('| Part |'), docs.indexOf('\n\n', docs.indexOf('| Part |')));
    for (const part of Object.keys(CONTRIBUTION_SCHEMA))
      expect(table, part).to.match(new RegExp(`\`${part}[\`[]`));
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
