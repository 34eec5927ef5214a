import type { Contribution } from '../../lib/contributions.js';
import { BASE_URL, curlArguments, type SampleRequest } from '../../lib/next-steps.js';

/** The secrets a deployed environment of each kind is given, as the preflight test sets them. */
const DEPLOYED_SECRETS: Record<string, { env: string; value: string }[]> = {
  jwt: [
    { env: 'JWT_ISSUER', value: '"https://auth.example.com"' },
    { env: 'JWT_SECRET', value: '"tests-only-deployed-secret-of-32-bytes-or-more"' },
  ],
  apikey: [{ env: 'API_KEYS', value: `'{"ci": "tests-only-deployed-key-123"}'` }],
  oidc: [{ env: 'OIDC_ISSUER', value: '"https://login.example.com"' }],
};

/** The secrets the app of each kind cannot start without in production (OIDC's issuer is no secret). */
const REQUIRED_SECRETS: Record<string, string[]> = { jwt: ['JWT_SECRET'], apikey: ['API_KEYS'] };

/**
 * What the credentials of each kind carry, which the tests of other features read (the agents' scoped and
 * expiring credentials): its tests/auth_support.py gives `scoped_auth_headers_for` where they carry scopes,
 * and `expiring_auth_headers` where they expire.
 */
const CREDENTIALS: Record<string, NonNullable<Contribution['credentials']>> = {
  jwt: { scopes: true, expires: true },
  oidc: { scopes: true, expires: true },
  apikey: {},
};

/** The settings class of each authentication kind. */
const SETTINGS: Record<string, string> = {
  jwt: 'JwtSettings',
  apikey: 'ApiKeySettings',
  oidc: 'OidcSettings',
};

/**
 * Authentication's part of the core's wiring, from the config alone: the authenticator resource, the
 * settings class of its kind, the security dependencies of protected routers, and its test fixtures. Where
 * agents are served it adds the browser tickets their stream and WebSocket accept.
 */
export function authWiring(context: { auth: string; agents: boolean; users: boolean }): Contribution {
  if (context.auth === 'none') return {};
  const tickets = context.agents;
  // With stored users, only an active user's token authenticates.
  const authenticate = context.users
    ? {
        module: '<package>.auth.stored_users',
        names: ['authenticate_active_user as authenticate'],
        wrap: true,
      }
    : { module: '<package>.auth.dependencies', names: ['authenticate'] };
  return {
    imports: {
      lifespan: [
        { module: '<package>.auth', names: ['Authenticator', 'authenticator_resource'] },
        ...(tickets
          ? [{ module: '<package>.auth.tickets', names: ['TicketStore', 'ticket_store_resource'] }]
          : []),
      ],
      dependencies: [{ module: 'fastapi', names: ['Security'] }, authenticate],
      routes: [
        authenticate,
        {
          module: context.users ? '<package>.auth.stored_users' : '<package>.auth',
          names: ['security_schemes'],
        },
        { module: '<package>.openapi', names: ['document_security', 'edit_openapi'] },
      ],
      conftest: context.auth === 'oidc' ? [{ module: 'tests.fake_idp', names: ['DEPLOYED_ISSUER'] }] : [],
    },
    lifespan: [
      {
        order: 30,
        state: [{ name: 'authenticator', type: 'Authenticator' }],
        setup: `authenticator = await resources.enter_async_context(
    authenticator_resource(settings, readiness)
)`,
      },
      ...(tickets
        ? [
            {
              order: 40,
              state: [{ name: 'tickets', type: 'TicketStore' }],
              setup: 'tickets = await resources.enter_async_context(ticket_store_resource(settings))',
            },
          ]
        : []),
    ],
    settings: [{ className: SETTINGS[context.auth] ?? '', module: '<package>.settings.auth', order: 30 }],
    routers: [
      ...(tickets ? [{ order: 60, module: 'tickets', protectedRouter: 'tickets.router' }] : []),
      {
        order: 10,
        stage: 'finally' as const,
        include: `# Every route protected by \`authenticate\`, ours and those added later, wherever included.
edit_openapi(app, document_security(app, security_schemes(settings), authenticate))`,
      },
    ],
    coreSettingsFields: tickets
      ? [
          `    # Browser tickets for the agents' stream and socket (docs/browser-clients.md): used at once
    # by the page that asked, so seconds, not minutes; without REDIS_URL, at most this many are
    # kept in memory (the oldest go first).
    auth_ticket_ttl_seconds: float = Field(default=30.0, gt=0, le=300)
    auth_ticket_memory_max: int = Field(default=10_000, ge=10)`,
        ]
      : [],
    protectedResponses: [{ status: 401, doc: 'Missing, invalid or expired credentials' }],
    credentials: CREDENTIALS[context.auth] ?? {},
    deployed: [{ order: 30, secrets: DEPLOYED_SECRETS[context.auth] ?? [] }],
    deployment: [{ requiredSecrets: REQUIRED_SECRETS[context.auth] ?? [] }],
    // There is no safe default identity provider: development names its own.
    requiredInDevelopment:
      context.auth === 'oidc'
        ? [
            {
              env: 'OIDC_ISSUER',
              what: 'identity provider',
              productionComment:
                "A deployed service reaches its identity provider over https; the tests' own provider is local.",
              testImport: { module: 'tests.fake_idp', names: ['DEPLOYED_ISSUER'] },
              testSetting: 'oidc_issuer',
              testValue: 'DEPLOYED_ISSUER',
            },
          ]
        : [],
    security: {
      // `authenticate` also counts the caller's request against the rate limit: one dependency to solve.
      protectedBy: '[Security(authenticate)]',
      protectedDoc: `who the caller is,
    whose request \`authenticate\` counts against the rate limit. The credentials are declared in
    OpenAPI by routes/__init__.py.`,
      principal: 'CurrentPrincipal = Annotated[Principal, Security(authenticate)]',
    },
    testPlugins: [
      {
        module: 'tests.auth_support',
        comment: "The configured authentication's fixtures: auth_settings, auth_headers, auth_subject, ...",
        order: 10,
      },
    ],
    conftest:
      context.auth === 'oidc'
        ? [
            {
              part: 'settings',
              order: 10,
              code: `        # Staging and production refuse the tests' plain-http provider: settings made for them
        # name an https one instead, unless the test names its own.
        if values["environment"] not in ("development", "test") and "oidc_issuer" not in overrides:
            values["oidc_issuer"] = DEPLOYED_ISSUER`,
            },
          ]
        : [],
  };
}

/**
 * Why a service's own check of a credential the gateway has checked already costs little, by kind (the
 * gateway's README says it).
 */
export function recheckCost(auth: string, libsPackage: string): string {
  if (auth === 'apikey') return 'a key is compared with the SHA-256 digests of the configured keys.';
  return `each process keeps the principals of the tokens it has verified until they expire
  (\`VerifiedTokens\` in \`${libsPackage}.auth.base\`), so a token's signature is checked once per
  process, not once per request.`;
}

/**
 * A development token for JWT without stored users: signed with the JWT_SECRET of `.env`, for the issuer and
 * audience the project checks, valid for 15 minutes.
 */
export function signedDevelopmentToken(packageName: string): string {
  const claims =
    '{"sub": "alice", "iss": c.jwt_issuer, "aud": c.jwt_audience, "exp": int(time.time()) + 900}';
  return `TOKEN=$(uv run python -c 'import jwt, time; from ${packageName}.config import get_settings as s; c = s(); print(jwt.encode(${claims}, c.jwt_secret.get_secret_value()))')`;
}

/** A password for the first user of the final message: long enough for the users module's rules. */
export const EXAMPLE_PASSWORD = 'change-this-password-now';

/**
 * The final message's lines for each kind: `setup` before the server starts (a first user), then `request`,
 * which sends the sample request with the kind's credential; without a sample request, the readiness probe.
 */
export function authenticatedRequest(
  context: { auth: string; users: boolean; packageName: string },
  sample: SampleRequest | undefined,
): { setup: string[]; request: string[] } {
  const { auth, users, packageName } = context;
  if (users) {
    return {
      setup: [
        `printf '%s\\n' '${EXAMPLE_PASSWORD}' | uv run python -m ${packageName}.users_cli create-user alice --password-stdin`,
      ],
      request: [
        `TOKEN=$(curl -s -X POST ${BASE_URL}/auth/token -d username=alice -d password=${EXAMPLE_PASSWORD} | uv run python -c "import json, sys; print(json.load(sys.stdin)['access_token'])")`,
        `curl -s -H "Authorization: Bearer $TOKEN" ${BASE_URL}/users/me`,
      ],
    };
  }
  if (sample === undefined) {
    return {
      setup: [],
      request: [`curl -s ${BASE_URL}/health/ready   # no protected route yet: --examples adds POST /echo`],
    };
  }
  const request = curlArguments(sample);
  const lines: Record<string, string[]> = {
    apikey: [
      `curl -s ${request} -H 'X-API-Key: change-me-local-development-key'   # a key of API_KEYS in .env`,
    ],
    none: [`curl -s ${request}`],
    // No users here to log in: a development token signed with the JWT_SECRET of .env.
    jwt: [signedDevelopmentToken(packageName), `curl -s ${request} -H "Authorization: Bearer $TOKEN"`],
    // Tokens come from the identity provider the API trusts.
    oidc: [
      `curl -s ${request} -H "Authorization: Bearer $TOKEN"   # TOKEN from your identity provider (OIDC_ISSUER)`,
    ],
  };
  return { setup: [], request: lines[auth] ?? [] };
}
