import type { Contribution, DeploymentNeeds } from '../../lib/contributions.js';
import type { SampleRequest } from '../../lib/next-steps.js';
import type { CiService } from '../../lib/tooling.js';

/** The outside service of each database that staging and production are given. */
const DEPLOYED_SERVICE: Record<string, { setting: string; env: string; value: string }> = {
  postgres: {
    setting: 'database_url',
    env: 'DATABASE_URL',
    value: '"postgresql+asyncpg://app@db.example.com/app"',
  },
  mongo: { setting: 'mongodb_url', env: 'MONGODB_URL', value: '"mongodb://db.example.com/app"' },
  redis: { setting: 'redis_url', env: 'REDIS_URL', value: '"redis://cache.example.com:6379/0"' },
};

/**
 * What a deployment of each database needs (lib/deploy.ts): its connection URL as a required secret, the
 * URL to its compose service, and an example value for deployment templates.
 */
export const DEPLOYMENT: Record<string, DeploymentNeeds> = {
  postgres: {
    rootService: true,
    migrated: true,
    composeServices: [
      {
        name: 'postgres',
        yaml: `image: postgres:18-alpine
environment:
  POSTGRES_USER: postgres
  POSTGRES_PASSWORD: postgres
  POSTGRES_DB: <package>
volumes:
  - postgres-data:/var/lib/postgresql
healthcheck:
  test: ["CMD", "pg_isready", "--username=postgres", "--dbname=<package>"]
  interval: 5s
  timeout: 3s
  retries: 10
restart: unless-stopped`,
        volume: 'postgres-data',
        readme: 'PostgreSQL 18, data in the `postgres-data` volume',
      },
    ],
    requiredSecrets: ['DATABASE_URL'],
    composeUrls: { DATABASE_URL: 'postgresql+asyncpg://postgres:postgres@postgres:5432/<package>' },
    secretExamples: [
      {
        name: 'DATABASE_URL',
        value: 'postgresql+asyncpg://app:change-me@postgres.example.internal:5432/<package>',
      },
    ],
  },
  mongo: {
    rootService: true,
    composeServices: [
      {
        name: 'mongo',
        yaml: `image: mongo:8
volumes:
  - mongo-data:/data/db
healthcheck:
  test: ["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]
  interval: 5s
  timeout: 5s
  retries: 10
restart: unless-stopped`,
        volume: 'mongo-data',
        readme: 'MongoDB 8, data in the `mongo-data` volume',
      },
    ],
    requiredSecrets: ['MONGODB_URL'],
    composeUrls: { MONGODB_URL: 'mongodb://mongo:27017/<package>' },
    secretExamples: [
      { name: 'MONGODB_URL', value: 'mongodb://app:change-me@mongo.example.internal:27017/<package>' },
    ],
  },
  // Redis is the core's own service (rate limits): lib/deploy.ts knows it already.
  redis: { rootService: true, redisStore: true },
};

/** The request of each database's example routes that the final message and the README show. */
export const SAMPLE_REQUESTS: Record<string, SampleRequest> = {
  postgres: { method: 'POST', path: '/notes', body: '{"title": "hello"}' },
  mongo: { method: 'POST', path: '/notes', body: '{"title": "hello"}' },
  redis: { method: 'PUT', path: '/cache/hello', body: '{"value": "hello"}' },
};

/** The service container CI starts for each database's tests, and how the tests reach it. */
export const CI_SERVICES: Record<string, CiService> = {
  postgres: {
    name: 'postgres',
    label: 'PostgreSQL',
    order: 10,
    service: `postgres:
  image: postgres:18-alpine
  env:
    POSTGRES_PASSWORD: postgres
    POSTGRES_DB: test
  ports:
    - "5432:5432"
  options: >-
    --health-cmd "pg_isready --username=postgres --dbname=test"
    --health-interval 5s --health-timeout 3s --health-retries 10`,
    env: 'TEST_DATABASE_URL: postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/test',
  },
  mongo: {
    name: 'mongo',
    label: 'MongoDB',
    order: 20,
    service: `mongo:
  image: mongo:8
  ports:
    - "27017:27017"`,
    env: 'MONGODB_URL: mongodb://127.0.0.1:27017',
  },
};

/**
 * The database's part of the core's wiring: the database resource and its readiness check, its settings
 * and deployed check, the example notes (or the Redis cache) routes, the session and repository
 * dependencies, and, with jwt, the stored users and their token route. `db` is the database the code is
 * wired to (`wiredDatabase`).
 */
export function dbWiring(context: { db: string; users: boolean }): Contribution {
  const { db, users } = context;
  if (db === 'none' || !DEPLOYED_SERVICE[db]) return {};
  const sql = db === 'postgres';
  const notes = db === 'postgres' || db === 'mongo';
  return {
    imports: {
      lifespan: [{ module: '<package>.db', names: ['Database', 'database_resource'] }],
      dependencies: [
        { module: '<package>.db', names: ['Database'] },
        ...(notes
          ? [
              { module: '<package>.repositories.base', names: ['NoteRepository'] },
              { module: '<package>.repositories.notes', names: ['get_note_repository'] },
              { module: '<package>.services.note_service', names: ['NoteService'] },
            ]
          : []),
        ...(users
          ? [
              { module: '<package>.db.session', names: ['SessionDep'] },
              { module: '<package>.repositories.users', names: ['SqlUserRepository'] },
              { module: '<package>.services.user_service', names: ['UserService'] },
            ]
          : []),
      ],
      routes: users
        ? [
            { module: 'fastapi', names: ['Depends'] },
            { module: '<package>.rate_limit', names: ['rate_limit'] },
          ]
        : [],
    },
    lifespan: [
      {
        order: 50,
        state: [{ name: 'database', type: 'Database' }],
        setup: 'database = await resources.enter_async_context(database_resource(settings, readiness))',
      },
    ],
    settings: [
      { className: 'DatabaseSettings', module: '<package>.settings.database', order: 40 },
      ...(users ? [{ className: 'TokenSettings', module: '<package>.settings.tokens', order: 20 }] : []),
    ],
    deployedChecks: [{ method: 'deployed_database_problems', order: 10 }],
    redactionProbes: sql
      ? [
          {
            order: 10,
            unreachable: 'the database',
            code: `database_down = create_app(
    settings_factory(database_url="postgresql+asyncpg://app:secret@127.0.0.1:1/app")
)
async with client_factory(database_down) as client:
    notes = await client.get("/notes", headers=auth_headers)
statuses.append(notes.status_code)`,
          },
        ]
      : [],
    deployed: [{ order: 10, services: [DEPLOYED_SERVICE[db]] }],
    deployment: [DEPLOYMENT[db] ?? {}],
    ciServices: CI_SERVICES[db] ? [CI_SERVICES[db]] : [],
    routers: [
      ...(db === 'redis' ? [{ order: 30, module: 'cache', protectedRouter: 'cache.router' }] : []),
      ...(notes ? [{ order: 40, module: 'notes', protectedRouter: 'notes.router' }] : []),
      ...(users
        ? [
            { order: 50, module: 'users', protectedRouter: 'users.router' },
            {
              order: 20,
              stage: 'public' as const,
              include: `# Callers exchange their password for a token without one; still rate limited per IP.
app.include_router(
    users.token_router, dependencies=[Depends(rate_limit)], responses=PROTECTED_RESPONSES
)`,
            },
          ]
        : []),
    ],
    dependencies: [
      {
        order: 70,
        provider: `# The database the lifespan opened.
get_database = FromState[Database]("database")`,
        alias: 'DatabaseDep = Annotated[Database, Depends(get_database)]',
      },
      ...(notes
        ? [
            {
              order: 90,
              provider: `async def get_note_service(
    repository: Annotated[NoteRepository, Depends(get_note_repository)],
) -> NoteService:
    return NoteService(repository)`,
              alias: 'NoteServiceDep = Annotated[NoteService, Depends(get_note_service)]',
            },
          ]
        : []),
      ...(users
        ? [
            {
              order: 100,
              provider: `async def get_user_service(
    session: SessionDep,
    settings: Annotated[Settings, Depends(get_settings_from_state)],
) -> UserService:
    return UserService(SqlUserRepository(session), settings)`,
              alias: 'UserServiceDep = Annotated[UserService, Depends(get_user_service)]',
            },
          ]
        : []),
    ],
    testPlugins: [
      {
        module: 'tests.db_support',
        comment: 'Database fixtures: database_settings, database_overrides (applied to every app), ...',
        order: 30,
      },
    ],
    testSettings: [{ fixture: 'database_settings', order: 30 }],
    conftest: [{ part: 'overrides', code: 'database_overrides', order: 10 }],
  };
}
