import type { FileSection } from '../../lib/files.js';
import { inMember, memberFiles } from '../../lib/workspace-generator.js';

/** Modules of the tier-1 core that `libs` shares: rendered from the same templates, for the libs package. */
const LIBS_FROM_API = [
  'context.py',
  'docs.py',
  'errors.py',
  'gc_tuning.py',
  'logging.py',
  'readiness.py',
  'py.typed',
  'models/principal.py',
  'models/schemas.py',
  'settings/__init__.py',
  'settings/core.py',
  'middleware/__init__.py',
  'middleware/cors.py',
  'middleware/request_context.py',
  'middleware/request_limits.py',
  'openapi.py',
  'preflight.py',
  'rate_limit.py',
  'security_headers.py',
  'startup.py',
  'routes/health.py',
].map((file) => `src/_package_/${file}.ejs`);

/** The SQL plumbing of the db generator that every service's database uses. */
const LIBS_FROM_POSTGRES = [
  'settings/database.py',
  'db/session.py',
  'db/migrations.py',
  'db/fresh_databases.py',
].map((file) => `src/_package_/${file}.ejs`);

/**
 * The db generator's Alembic set-up, rendered for each service: its alembic.ini reads the service's own
 * database. Its env.py (the shared package's runner) and its revisions are the service's own templates.
 */
const SERVICE_FROM_POSTGRES = [
  'alembic.ini.ejs',
  ...['script.py.mako', 'versions/__init__.py'].map((file) => `src/_package_/migrations/${file}.ejs`),
];

const sources = (template: string): boolean => template.startsWith('src/');

/** The shared package's files, in the context of the libs member (lib/workspace-generator.ts, writeLibs). */
export const libsFiles: readonly FileSection[] = [
  { families: ['api'], only: LIBS_FROM_API, into: inMember },
  {
    families: (context) => ['auth/common', 'auth/dependency', `auth/${String(context.auth)}`],
    when: (context) => context.auth !== 'none',
    only: sources,
    into: inMember,
  },
  {
    // The authentication test support every member's conftest.py loads (a re-export in each), and OIDC's
    // identity provider for tests beside it.
    families: (context) => [`auth/${String(context.auth)}`],
    when: (context) => context.auth !== 'none',
    only: ['tests/auth_support.py.ejs', 'tests/fake_idp.py.ejs'],
    into: inMember,
    names: () => ({
      'tests/auth_support.py': 'src/_package_/testing.py',
      'tests/fake_idp.py': 'src/_package_/fake_idp.py',
    }),
  },
  {
    // The helpers of every member's metrics and tracing tests.
    families: ['observability/common'],
    when: (context) => context.observability === true,
    only: ['tests/observability_support.py.ejs'],
    into: inMember,
    names: () => ({ 'tests/observability_support.py': 'src/_package_/observability/testing.py' }),
  },
  { families: ['db/postgres'], only: LIBS_FROM_POSTGRES, into: inMember },
  { families: ['microservice/libs'], into: inMember, once: ['README.md'] },
  {
    // The tier-1 modules, rendered for the shared package; its SQL plumbing gets statement spans too.
    families: ['observability/common'],
    when: (context) => context.observability === true,
    only: sources,
    into: inMember,
    context: (context) => ({ ...context, db: 'postgres' }),
  },
];

/** A service's files, in its member context: a member's, then its Alembic set-up for its own database. */
export const serviceFiles: readonly FileSection[] = [
  // Its lifespan.py has the place for the service's own resources: the user's once written.
  ...memberFiles('microservice/service', ['src/<package>/lifespan.py']),
  {
    families: ['db/postgres'],
    only: SERVICE_FROM_POSTGRES,
    into: inMember,
    context: (context) => ({ ...context, service: true }),
  },
];
