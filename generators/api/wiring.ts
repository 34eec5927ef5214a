import type { SampleRequest } from '../../lib/next-steps.js';
import {
  type Contribution,
  type Contributions,
  type PyImport,
  type WiringModule,
  indent,
  renderImports,
} from '../../lib/contributions.js';
import { ForgeUserError } from '../../lib/errors.js';

const STDLIB = 'stdlib' as const;

/** A `name(params) -> result:` line laid out as ruff format does when it is longer than 100 characters. */
export function signature(head: string, params: string[], tail: string): string {
  const oneLine = `${head}(${params.join(', ')})${tail}`;
  if (oneLine.length <= 100) return oneLine;
  const hanging = `    ${params.join(', ')}`;
  if (hanging.length <= 100) return `${head}(\n${hanging}\n)${tail}`;
  return `${head}(\n${params.map((param) => `    ${param},\n`).join('')})${tail}`;
}

/** What the core itself puts in its wiring modules, as contributions like every feature's. */
export function coreContribution(): Contribution {
  return {
    imports: {
      lifespan: [
        { module: 'collections.abc', names: ['AsyncIterator', 'Callable'], section: STDLIB },
        {
          module: 'contextlib',
          names: ['AbstractAsyncContextManager', 'AsyncExitStack', 'asynccontextmanager'],
          section: STDLIB,
        },
        { module: 'typing', names: ['TypedDict'], section: STDLIB },
        { module: 'structlog' },
        { module: 'fastapi', names: ['FastAPI'] },
        { module: '<package>.gc_tuning', names: ['collector_tuned_for_serving'] },
        { module: '<package>.rate_limit', names: ['RateLimiter', 'rate_limiter_resource'], wrap: true },
        { module: '<package>.readiness', names: ['ReadinessChecks'] },
        { module: '<package>.settings', names: ['ForgeSettings'] },
      ],
      settings: [
        { module: '<package>.settings.core', names: ['CoreSettings', 'Environment', 'settings_getter'] },
      ],
      logging: [{ module: '<package>.settings', names: ['ForgeSettings'] }],
      middleware: [
        { module: 'fastapi', names: ['FastAPI'] },
        { module: '<package>.middleware.cors', names: ['CORSMiddleware'] },
        { module: '<package>.middleware.request_context', names: ['RequestContextMiddleware'], wrap: true },
        { module: '<package>.middleware.request_limits', names: ['RequestLimitsMiddleware'], wrap: true },
        { module: '<package>.settings', names: ['ForgeSettings'] },
      ],
      routes: [
        { module: 'typing', names: ['Any'], section: STDLIB },
        { module: 'fastapi', names: ['FastAPI'] },
        { module: '<package>.config', names: ['Settings'] },
        { module: '<package>.docs', names: ['serve_docs_offline'] },
        { module: '<package>.errors', names: ['error_doc'] },
      ],
      dependencies: [
        { module: 'typing', names: ['Annotated'], section: STDLIB },
        { module: 'fastapi', names: ['Depends'] },
        { module: 'fastapi.params', names: ['Depends as Dependency'] },
        { module: '<package>.config', names: ['Settings'] },
        { module: '<package>.models.principal', names: ['Principal'] },
        { module: '<package>.context', names: ['FromState', 'get_request_id'] },
        { module: '<package>.readiness', names: ['ReadinessChecks', 'get_readiness'] },
      ],
      conftest: [
        { module: 'collections.abc', names: ['AsyncIterator'], section: STDLIB },
        { module: 'contextlib', names: ['asynccontextmanager'], section: STDLIB },
        { module: 'typing', names: ['Any'], section: STDLIB },
        { module: 'uuid', names: ['uuid4'], section: STDLIB },
        { module: 'httpx' },
        { module: 'pytest' },
        { module: 'asgi_lifespan', names: ['LifespanManager'] },
        { module: 'fastapi', names: ['FastAPI'] },
        { module: 'starlette.types', names: ['ASGIApp'] },
        { module: '<package>.config', names: ['Settings'] },
        { module: '<package>.main', names: ['create_app'] },
        { module: 'tests.helpers', names: ['ClientFactory', 'SettingsFactory'] },
      ],
    },
    lifespan: [
      {
        order: 20,
        state: [{ name: 'rate_limiter', type: 'RateLimiter' }],
        setup: `rate_limiter = await resources.enter_async_context(
    rate_limiter_resource(settings, readiness)
)`,
      },
    ],
    middleware: [
      {
        order: 10,
        label: 'size limits',
        code: `app.add_middleware(
    RequestLimitsMiddleware,
    max_body_bytes=settings.max_body_bytes,
    max_header_bytes=settings.max_header_bytes,
)`,
      },
      {
        order: 20,
        label: 'CORS',
        code: `# Outside the limits, so preflight requests and error responses get CORS headers.
app.add_middleware(
    CORSMiddleware,
    allow_origins=settings.cors_origins,
    allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
    allow_headers=("*",),
    expose_headers=EXPOSED_HEADERS,
    max_age=600,
)`,
      },
    ],
    routers: [{ order: 10, stage: 'public', module: 'health', include: 'health.add_probes(app)' }],
    protectedResponses: [
      { status: 400, doc: 'The body cannot be parsed, or a value is not one this API issued' },
      { status: 422, doc: 'The request is not valid' },
      { status: 429, doc: 'Rate limit exceeded; see Retry-After' },
      { status: 500, doc: 'Unexpected error' },
      { status: 503, doc: 'A dependency is unavailable; retryable' },
    ],
    dependencies: [
      {
        order: 10,
        provider: `# The settings the app was created with (tests pass their own).
get_settings_from_state = FromState[Settings]("settings")`,
        alias: 'SettingsDep = Annotated[Settings, Depends(get_settings_from_state)]',
      },
      // Their providers live beside what they read, shared by every member of a workspace.
      { order: 30, alias: 'RequestIdDep = Annotated[str | None, Depends(get_request_id)]' },
      { order: 40, alias: 'ReadinessDep = Annotated[ReadinessChecks, Depends(get_readiness)]' },
    ],
    settings: [{ className: 'CoreSettings', module: '<package>.settings.core', order: 100 }],
    testPlugins: [
      {
        module: 'tests.probe',
        comment: "POST /probe, a protected route of the tests' own, on every app the tests make.",
        order: 0,
      },
    ],
    testSettings: [{ fixture: 'auth_settings', order: 10 }],
  };
}

/** The example route's request that the final message and the README show. */
export const ECHO_REQUEST: SampleRequest = { method: 'POST', path: '/echo', body: '{"message": "hello"}' };

/** The demo-only example route, POST /echo, and its service (`new --examples`). */
export function examplesContribution(): Contribution {
  return {
    routers: [{ order: 10, module: 'echo', protectedRouter: 'echo.router' }],
  };
}

/** A resource of `add resource`: its routers, included after the features'. */
interface ResourceRoutes {
  table: string;
  parent?: { attribute: string };
}

/** The shared package's settings, which a workspace root's ForgeSettings extends instead of composing them. */
export interface SharedSettings {
  libsPackage: string;
  /** The classes libs' ForgeSettings composes already. */
  classes: string[];
}

/**
 * What the wiring templates of `templates/api` read: the collected contributions, ordered and laid out.
 * Where no contribution secures the routes, callers are anonymous (the core's own default).
 */
export function wiringView(
  contributions: Contributions,
  packageName: string,
  resources: ResourceRoutes[],
  shared?: SharedSettings,
) {
  const security = contributions.latest('security');
  const extraImports: Partial<Record<WiringModule, PyImport[]>> = {};
  const extra = (module: WiringModule, ...imports: PyImport[]): void => {
    extraImports[module] = [...(extraImports[module] ?? []), ...imports];
  };

  const resourcesByOrder = contributions.ordered('lifespan');
  const stateFields = contributions
    .ordered('lifespan', (item) => item.stateOrder ?? item.order)
    .flatMap((resource) => resource.state ?? []);
  const lifespanSetup = resourcesByOrder
    .filter((resource) => resource.setup)
    .map((resource) => indent(resource.setup ?? '', 12))
    .join('\n');

  // In a workspace the root's settings extend the shared package's: the classes libs composes come with it.
  const settingsClasses = contributions
    .ordered('settings')
    .filter((mixin) => !shared?.classes.includes(mixin.className));
  for (const mixin of settingsClasses)
    extra('settings', { module: mixin.module, names: [mixin.className], wrap: mixin.wrap });
  if (shared)
    extra('settings', {
      module: `${shared.libsPackage}.settings`,
      names: ['ForgeSettings as SharedSettings'],
    });
  // Fields of the core's settings that only the root has (libs' CoreSettings is the one every member shares).
  const ownCoreFields = contributions.all('coreSettingsFields').join('\n');
  if (shared && ownCoreFields) extra('settings', { module: 'pydantic', names: ['Field'] });
  const deployedChecks = contributions.ordered('deployedChecks').map((check) => check.method);
  if (deployedChecks.length > 0)
    extra(
      'settings',
      { module: 'typing', names: ['Self'], section: STDLIB },
      { module: 'pydantic', names: ['model_validator'] },
    );

  // The request context, innermost of the core's middleware, leaves the quiet paths out of the access log.
  const quietPaths = contributions.all('quietPaths');
  for (const quiet of quietPaths) extra('middleware', ...(quiet.imports ?? []));
  const requestContext =
    quietPaths.length === 0
      ? 'app.add_middleware(RequestContextMiddleware)'
      : `${quietPaths.map((quiet) => `# ${quiet.comment}\n`).join('')}app.add_middleware(RequestContextMiddleware, quiet_paths=PROBE_PATHS | {${quietPaths.map((quiet) => quiet.expression).join(', ')}})`;
  if (quietPaths.length > 0)
    extra('middleware', { module: '<package>.middleware.request_context', names: ['PROBE_PATHS'] });
  const middleware = [
    ...contributions.all('middleware'),
    { order: 30, label: 'request context', code: requestContext },
  ].sort((a, b) => a.order - b.order);
  const requestPath = [...middleware.map((item) => item.label).reverse(), 'the route'].join(' -> ');
  const middlewareCode = middleware.map((item) => indent(item.code, 4)).join('\n');

  const routers = contributions.ordered('routers');
  const byParent = resources
    .filter((resource) => resource.parent)
    .map((resource) => `${resource.table}.router_by_${resource.parent?.attribute ?? ''}`);
  // Two settings classes, router modules or dependencies of one name are refused as they are contributed;
  // a resource's routes module is no contribution.
  for (const { table } of resources) {
    const owner = contributions.ownerOf('router module', table);
    if (owner !== undefined) {
      throw new ForgeUserError(
        `${owner} contributes the router module <package>.routes.${table}, but the resource ${table} has its routes there: each needs a name of its own`,
      );
    }
  }
  const modules = [
    ...routers.flatMap((router) => (router.module ? [router.module] : [])),
    ...resources.map((resource) => resource.table),
  ];
  extra('routes', { module: '<package>.routes', names: [...new Set(modules)], wrap: true });
  const include = (router: string): string => {
    const line = `app.include_router(${router}, dependencies=dependencies, responses=PROTECTED_RESPONSES)`;
    if (line.length <= 96) return line;
    return `app.include_router(\n    ${router},\n    dependencies=dependencies,\n    responses=PROTECTED_RESPONSES,\n)`;
  };
  const stage = (name: 'public' | 'protected' | 'finally') =>
    routers.filter((router) => (router.stage ?? 'protected') === name);
  // Every router behind authentication and the rate limit; a project may have none yet.
  const anyProtected = stage('protected').length > 0 || resources.length > 0;
  if (anyProtected) extra('routes', { module: '<package>.dependencies', names: ['protected'] });
  const routerCode = [
    'serve_docs_offline(app)',
    ...stage('public').map((router) => router.include ?? ''),
    ...(anyProtected ? ['dependencies = protected(settings)'] : []),
    ...stage('protected').map((router) => router.include ?? include(router.protectedRouter ?? '')),
    ...resources.map((resource) => include(`${resource.table}.router`)),
    ...byParent.map(include),
    ...stage('finally').map((router) => router.include ?? ''),
  ]
    .map((code) => indent(code, 4))
    .join('\n');
  const publicLabels = stage('public')
    .flatMap((router) => (router.label ? [`, and ${router.label}`] : []))
    .join('');
  const protectedResponses = [...contributions.all('protectedResponses')].sort((a, b) => a.status - b.status);

  // Without authentication every caller is the anonymous principal.
  const dependencies = [...contributions.all('dependencies')];
  if (security) dependencies.push({ order: 20, alias: security.principal });
  else {
    extra(
      'dependencies',
      { module: '<package>.models.principal', names: ['ANONYMOUS'] },
      { module: '<package>.rate_limit', names: ['rate_limit'] },
    );
    dependencies.push({
      order: 20,
      provider: `async def anonymous() -> Principal:
    """Every caller: authentication is off."""
    return ANONYMOUS`,
      alias: 'CurrentPrincipal = Annotated[Principal, Depends(anonymous)]',
    });
  }
  dependencies.sort((a, b) => a.order - b.order);
  const providerCode = dependencies.flatMap((item) => (item.provider ? [item.provider] : []));
  // After the imports, as isort leaves them: two blank lines before a function, one before an assignment.
  const afterImports = /^(@|def |async def )/.test(providerCode[0] ?? 'def ') ? '\n\n' : '\n';
  const providers = `${afterImports}${providerCode.join('\n\n\n')}`;
  const aliases = dependencies.flatMap((item) => (item.alias ? [item.alias] : [])).join('\n');
  const protectedBy = security?.protectedBy ?? '[Depends(rate_limit)]';
  const protectedDoc = security?.protectedDoc ?? `the caller's rate\n    limit.`;

  const testPlugins = contributions.ordered('testPlugins');
  if (contributions.all('conftest').some((item) => item.part === 'overrides'))
    extra('conftest', { module: 'tests.helpers', names: ['DependencyOverrides'] });
  const testSettings = contributions.ordered('testSettings').map((item) => item.fixture);
  const conftest = (part: string): string =>
    contributions
      .ordered('conftest')
      .filter((item) => item.part === part)
      .map((item) => item.code)
      .join('\n');

  const deployed = contributions.ordered('deployed');
  const requiredInDevelopment = contributions.all('requiredInDevelopment');

  const redactionProbes = contributions.ordered('redactionProbes');

  return {
    readme: (slot: string): string =>
      contributions
        .ordered('readme')
        .filter((item) => item.slot === slot)
        .map((item) => item.text)
        .join(''),
    redactionProbes: redactionProbes.map((probe) => indent(probe.code, 4)),
    redactionImports: redactionProbes.flatMap((probe) => probe.imports ?? []),
    unreachable: redactionProbes
      .flatMap((probe) => (probe.unreachable ? [` and ${probe.unreachable}`] : []))
      .join(''),
    logProcessors: contributions.all('logProcessors'),
    coreSettingsFields: shared ? '' : ownCoreFields,
    forgeSettingsFields: shared ? ownCoreFields : '',
    deployedServices: deployed.flatMap((item) => item.services ?? []),
    deployedSecrets: deployed.flatMap((item) => item.secrets ?? []),
    providerKey: deployed.some((item) => item.providerKey === true),
    requiredInDevelopment,
    importsOf: (imports: PyImport[]): string => renderImports(imports, packageName),
    imports: (module: WiringModule): string =>
      renderImports([...contributions.imports(module), ...(extraImports[module] ?? [])], packageName),
    stateFields,
    lifespanSetup,
    settingsClasses: [
      ...settingsClasses.map((mixin) => mixin.className),
      ...(shared ? ['SharedSettings'] : []),
    ],
    deployedChecks,
    requestPath,
    middlewareCode,
    routerCode,
    publicLabels,
    protectedResponses,
    providers,
    aliases,
    protectedBy,
    protectedDoc,
    anonymous: !security,
    testPlugins,
    testSettings,
    conftest,
    // Fixtures of dependency overrides every app of the tests gets (the database's, for one).
    overrides: contributions
      .ordered('conftest')
      .filter((item) => item.part === 'overrides')
      .map((item) => item.code),
    signature,
  };
}
