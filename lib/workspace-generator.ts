import path from 'node:path';
import { ForgeGenerator } from './base-generator.js';
import {
  APP_PORT,
  DEFAULT_IMAGE_PYTHON,
  IMAGE_WORKERS,
  UV_IMAGE_VERSION,
  dnsName,
  generatedTargets,
} from './deploy.js';
import { HEALTH_PROBE, withPartials } from './deploy-generator.js';
import type { WriteMode } from './base-generator.js';
import type { FileSection, FilesContext } from './files.js';
import { findExecutable } from './exec.js';
import { addEnvVars, addPyprojectDependencies, parseToml, requirementName } from './merge.js';
import { toTitle } from './naming.js';
import { pyCall, pyImports, resourceViews } from './resource-views.js';
import {
  type EnvVar,
  type TemplateFile,
  listTemplates,
  readFamilyManifest,
  renderTemplate,
} from './templates.js';
import {
  GATEWAY_DIR,
  LIBS_DIR,
  SERVICES_DIR,
  addWorkspaceMembers,
  addWorkspaceSources,
  envPrefix,
  gatewayPackage,
  libsPackage,
  memberDistribution,
  memberPreflight,
} from './workspace.js';

const AUTH_SUPPORT = 'tests/auth_support.py.ejs';

/**
 * The shared package's test support modules, for ruff: libs.testing, libs.db.testing, the suites members import
 * (libs.member.testing, libs.service.testing with every service's fixtures), and libs.observability.testing.
 */
const TESTING_MODULES = [
  '"src/*/testing.py"',
  '"src/*/db/testing.py"',
  '"src/*/member/testing.py"',
  '"src/*/service/testing.py"',
  // OIDC's identity provider for tests (the shared package's test support imports it).
  '"src/*/fake_idp.py"',
];
const OBSERVABILITY_TESTING_MODULE = '"src/*/observability/testing.py"';

/** The test of a service's or the gateway's start through the shared preflight. */
const MEMBER_PREFLIGHT_TEST = 'tests/test_preflight.py.ejs';

/** Where a workspace member's sections land: the member's folder. */
export const inMember = (context: FilesContext): string => String(context.memberDir);

/**
 * The files of a service or the gateway (`family`, its own), rendered in its member context: its own
 * templates, its tests of metrics and tracing when the workspace has them, the test of its start through the
 * shared preflight, and the test support of the project's authentication. Its README, main.py and
 * config.py are the user's once written (`once`), and so is any of `userModules` (e.g. a module with a marked
 * place for the user's own code).
 */
export function memberFiles(family: string, userModules: readonly string[] = []): FileSection[] {
  return [
    {
      families: [family],
      into: inMember,
      once: ['README.md', 'src/<package>/main.py', 'src/<package>/config.py', ...userModules],
    },
    {
      // The helpers of the metrics and tracing tests: the shared package's, re-exported.
      families: ['microservice/member'],
      only: ['tests/observability_support.py.ejs'],
      when: (context) => context.observability === true,
      into: inMember,
    },
    {
      families: [`observability/members/${path.posix.basename(family)}`],
      when: (context) => context.observability === true,
      into: inMember,
    },
    {
      // How the member's image starts: through the shared preflight, with its own settings.
      families: ['microservice/member'],
      only: [MEMBER_PREFLIGHT_TEST],
      into: inMember,
    },
    {
      // The shared package's `testing` module, re-exported where conftest.py loads it.
      families: ['microservice/member'],
      when: (context) => context.auth !== 'none',
      only: [AUTH_SUPPORT],
      into: inMember,
    },
  ];
}

/** The compose services of a service: its own (a DNS name), its PostgreSQL's, and its migration's. */
export function composeNames(name: string): { service: string; database: string; migrate: string } {
  const service = name.replace(/_/g, '-');
  return { service, database: `${service}-postgres`, migrate: `${service}-migrate` };
}

/** The HTTP client of libs' service client (the gateway sends with aiohttp: GATEWAY_DEPENDENCIES). */
const HTTPX = 'httpx>=0.28';

/**
 * Runtime requirements of the libs package besides the core's (from templates/api/pyproject.toml.ejs): the
 * HTTP client, and what the core's own modules import (templates/api/forge.json), such as the docs' assets.
 */
const LIBS_DEPENDENCIES = [HTTPX, ...(readFamilyManifest('api').dependencies ?? [])];

/** What a member's tests of metrics and tracing import besides what its code does. */
const OBSERVABILITY_TEST_IMPORTS = ['prometheus-client', 'opentelemetry-api', 'opentelemetry-sdk'];

/**
 * The gateway's proxy and probes send with aiohttp: its client costs a fraction of httpx's CPU per proxied
 * request, which is most of a gateway's work (references/microservice-patterns.md).
 */
const GATEWAY_DEPENDENCIES = ['aiohttp>=3.12'];
/** With tracing, the gateway's requests to its upstreams are client spans that carry the trace along. */
const GATEWAY_TRACING = 'opentelemetry-instrumentation-aiohttp-client>=0.66b1';

/** Requirements without repeats of a package (the first one wins). */
const unique = (requirements: string[]): string[] =>
  requirements.filter(
    (requirement, index) =>
      requirements.findIndex((other) => requirementName(other) === requirementName(requirement)) === index,
  );

/**
 * isort places the shared package in a block of its own, between third-party packages and the member's own,
 * so imports sort the same whatever the names are.
 */
function withWorkspaceImportSection(content: string, libs: string): string {
  const firstParty = /^known-first-party = .*$/m;
  if (!firstParty.test(content)) return content;
  const order =
    'section-order = ["future", "standard-library", "third-party", "workspace", "first-party", "local-folder"]';
  const sections = `\n[tool.ruff.lint.isort.sections]\n# The workspace's shared package.\nworkspace = [${JSON.stringify(libs)}]\n`;
  return `${content.replace(firstParty, (line) => `${line}\n${order}`).replace(/\n*$/, '\n')}${sections}`;
}

/**
 * A module of the root service that is libs' own: a re-export, so `<package>.<module>` names what
 * `<package>_libs.<module>` does (mypy reads the names of a star import as exported).
 */
export function reExport(libs: string, module: string): string {
  const dotted = module.replace(/(\/__init__)?\.py$/, '').replaceAll('/', '.');
  const doc = "The shared package's module of this name, which every member of the workspace uses.";
  return `"""${doc}"""\n\nfrom ${libs}.${dotted} import *  # noqa: F403\n`;
}

/** A package of the workspace: where it lives and what it is called. */
export interface WorkspaceMember {
  /** Directory relative to the project root, e.g. `services/orders`. */
  dir: string;
  /** The Python import name. */
  packageName: string;
  /** The distribution name in pyproject.toml. */
  distribution: string;
  /** Title for docstrings and docs. */
  title: string;
  description: string;
}

/**
 * Base of the tier-2 generators (microservice, gateway): the uv workspace at the project root, the shared
 * `libs` package, and the files every member has (pyproject.toml, README.md, .env.example).
 */
export abstract class WorkspaceGenerator extends ForgeGenerator {
  protected libsMember(): WorkspaceMember {
    const { projectName, packageName } = this.answers;
    return {
      dir: LIBS_DIR,
      packageName: libsPackage(packageName),
      distribution: memberDistribution(projectName, 'libs'),
      title: `${toTitle(projectName)} Libs`,
      description: `Code shared by the services of ${projectName} and its gateway`,
    };
  }

  protected gatewayMember(): WorkspaceMember {
    const { projectName, packageName } = this.answers;
    return {
      dir: GATEWAY_DIR,
      packageName: gatewayPackage(packageName),
      distribution: memberDistribution(projectName, 'gateway'),
      title: `${toTitle(projectName)} Gateway`,
      description: `The API gateway of ${projectName}: routing, retries, circuit breakers`,
    };
  }

  protected serviceMember(name: string): WorkspaceMember {
    const { projectName } = this.answers;
    return {
      dir: `${SERVICES_DIR}/${name}`,
      packageName: name,
      distribution: memberDistribution(projectName, name),
      title: toTitle(name),
      description: `The ${name} service of ${projectName}`,
    };
  }

  /** Every member directory, in a stable order: libs, the services in the order they were added, the gateway. */
  protected workspaceMembers(): string[] {
    const config = this.answers;
    return [
      LIBS_DIR,
      ...config.services.map((name) => `${SERVICES_DIR}/${name}`),
      ...(config.gateway ? [GATEWAY_DIR] : []),
    ];
  }

  /** Values shared by the templates of every member. */
  /**
   * The core's wiring view for a context (see generators/features.ts); the generators that render libs give
   * it. A property, not a method: Yeoman would run a method as a task.
   */
  protected wiringFor: (context: Record<string, unknown>) => unknown = (context) => {
    throw new Error(`no wiring for ${String(context.packageName)}`);
  };

  protected memberContext(member: WorkspaceMember): Record<string, unknown> {
    const context = this.templateContext();
    const config = this.answers;
    return {
      ...context,
      // Modules rendered from the tier-1 templates see a package without database, agents or users.
      db: 'none',
      agents: false,
      users: false,
      agentJobs: false,
      // Metrics and tracing live in the shared package: build_app wires them into every member.
      observability: this.observedWorkspace,
      projectDb: config.db,
      packageName: member.packageName,
      libsPackage: libsPackage(config.packageName),
      gatewayPackage: gatewayPackage(config.packageName),
      rootPackage: config.packageName,
      memberTitle: member.title,
      memberDir: member.dir,
      // The member's name as a DNS label: its compose service, its traces' service.name.
      serviceName: composeNames(member.packageName).service,
      distribution: member.distribution,
      envPrefix,
      // The resources that live in this member (a service), which its routes and migrations know.
      resources: resourceViews(config.resources ?? [], member.packageName),
      pyCall,
      pyImports,
    };
  }

  /** Whether the workspace has metrics and tracing: the shared package's modules, wired into every member. */
  protected get observedWorkspace(): boolean {
    return this.answers.tier >= 2 && this.answers.observability;
  }

  /** What the gateway imports itself: each member declares what it imports, not only what libs brings. */
  protected gatewayDependencies(): string[] {
    return [...GATEWAY_DEPENDENCIES, ...(this.observedWorkspace ? [GATEWAY_TRACING] : [])];
  }

  /**
   * What the shared package's metrics and tracing modules need. The events generator adds them with its own
   * requirements, so a project grown to tier 3 lists them in the order `new --tier 3` does.
   */
  protected observabilityDependencies(): string[] {
    if (!this.observedWorkspace) return [];
    return ['observability/common', 'observability/postgres'].flatMap(
      (family) => readFamilyManifest(family).dependencies ?? [],
    );
  }

  protected templatesOf(family: string, only?: string[]): TemplateFile[] {
    const all = listTemplates(family);
    return only ? all.filter((template) => only.includes(template.relative)) : all;
  }

  /** A service's own requirements: its tables, repository and queries (SQLAlchemy), its migrations (Alembic). */
  protected serviceDependencies(): string[] {
    return (readFamilyManifest('db/postgres').dependencies ?? []).filter((requirement) =>
      ['sqlalchemy', 'alembic'].includes(requirementName(requirement)),
    );
  }

  /**
   * Dev requirements of a service or the gateway: the authentication test support {@link renderMember}
   * gives it signs tokens (and fakes an identity provider) with the auth family's own packages; its tests
   * of metrics and tracing parse a scrape and keep spans in memory.
   */
  protected memberTestDependencies(): string[] {
    const auth = this.answers.auth;
    const observability = this.observabilityDependencies().filter((requirement) =>
      OBSERVABILITY_TEST_IMPORTS.includes(requirementName(requirement)),
    );
    return [
      ...(auth === 'none' ? [] : (readFamilyManifest(`auth/${auth}`).dependencies ?? [])),
      ...observability,
    ];
  }

  /**
   * The shared package: its files (`files`: the core's modules rendered for it, its own modules, and its
   * tests), then its pyproject.toml.
   */
  protected writeLibs(files: readonly FileSection[]): void {
    const member = this.libsMember();
    const base = { ...this.memberContext(member), libs: true };
    // The core's settings and middleware modules, wired for the shared package's own context.
    const written: string[] = [];
    this.writtenFiles = written;
    try {
      this.writeSections(files, { ...base, wiring: this.wiringFor(base) });
    } finally {
      this.writtenFiles = undefined;
    }
    this.libsWritten = written;
    const auth = this.answers.auth;
    const authManifest = auth === 'none' ? {} : readFamilyManifest(`auth/${auth}`);
    const postgres = readFamilyManifest('db/postgres');
    this.writeMemberProject(member, {
      dependencies: [
        ...LIBS_DEPENDENCIES,
        ...(authManifest.dependencies ?? []),
        ...(postgres.dependencies ?? []),
        ...this.observabilityDependencies(),
      ],
      libs: false,
    });
    this.ignoreTestRulesInTesting(path.posix.join(member.dir, 'pyproject.toml'));
  }

  /**
   * The shared package's `testing` modules are test support (pytest fixtures that assert): ruff treats them
   * as it treats tests. Added to libs' pyproject.toml once, beside the rule for `tests/**`.
   */
  private ignoreTestRulesInTesting(relative: string): void {
    const target = this.destinationPath(relative);
    let content = this.fs.read(target);
    const modules = [...TESTING_MODULES, ...(this.observedWorkspace ? [OBSERVABILITY_TESTING_MODULE] : [])];
    const tests = /^"tests\/\*\*" = (\[[^\]\n]*\])$/m.exec(content);
    if (!tests) return;
    // Each after the one before it, in the same order however the project came to have them.
    let anchor = tests[0];
    for (const module of modules) {
      const line = `${module} = ${tests[1]}`;
      if (!content.includes(`\n${module} = `)) content = content.replace(anchor, `${anchor}\n${line}`);
      anchor = content.includes(`\n${line}`) ? line : anchor;
    }
    this.writeMerged(target, content);
  }

  /** The owned files written while it is set (see {@link writeLibs}). */
  private writtenFiles: string[] | undefined;
  /** The shared package's files this run wrote. */
  private libsWritten: string[] = [];

  protected override writeFile(relative: string, content: string, mode: WriteMode): void {
    if (mode === 'owned') this.writtenFiles?.push(relative);
    super.writeFile(relative, content, mode);
  }

  /**
   * The root service uses the shared package like every other member: each module of the root that this
   * run rendered exactly as libs' (but for the package name) becomes a re-export of libs' module, so it is
   * written once in the project, and code importing `<package>.errors` (written before the project was a
   * workspace) keeps working. A module that differs (the root's own features, or the user's edits) stays.
   * Called once every generator has written, since the one the user ran writes before those it composes.
   */
  protected shareCore(): void {
    const libsFiles = this.libsWritten;
    const root = this.answers.packageName;
    const libs = libsPackage(root);
    const prefix = `${LIBS_DIR}/src/${libs}/`;
    for (const relative of libsFiles) {
      if (!relative.startsWith(prefix) || !relative.endsWith('.py')) continue;
      const module = relative.slice(prefix.length);
      if (module === '__init__.py') continue;
      const own = `src/${root}/${module}`;
      const ownTarget = this.destinationPath(own);
      const libsTarget = this.destinationPath(relative);
      if (!this.fs.exists(ownTarget) || !this.fs.exists(libsTarget)) continue;
      const shared = this.fs.read(libsTarget).replaceAll(libs, root);
      if (this.fs.read(ownTarget) !== shared) continue;
      this.writeFile(own, reExport(libs, module), 'owned');
    }
    // The root's test support, as every other member's: its authentication fixtures (the re-export every
    // member has) and OIDC's identity provider for tests.
    const sameAsShared = (own: string, shared: string): boolean =>
      libsFiles.includes(`${prefix}${shared}`) &&
      this.fs.exists(this.destinationPath(own)) &&
      this.fs.read(this.destinationPath(own)) ===
        this.fs.read(this.destinationPath(prefix, shared)).replaceAll(libs, root);
    if (sameAsShared('tests/auth_support.py', 'testing.py')) {
      const template = this.templatesOf('microservice/member', [AUTH_SUPPORT])[0];
      if (!template) throw new Error(`templates/microservice/member/${AUTH_SUPPORT} is missing`);
      this.writeFile(
        'tests/auth_support.py',
        renderTemplate(template.source, { libsPackage: libs }),
        'owned',
      );
    }
    if (sameAsShared('tests/fake_idp.py', 'fake_idp.py')) {
      this.writeFile('tests/fake_idp.py', reExport(libs, 'fake_idp.py'), 'owned');
    }
  }

  /**
   * A member's pyproject.toml: the tier-1 template (same tools, same checks) rendered for the member, written
   * once; then the requirements the generator needs are merged in at every run, keeping the user's pins.
   */
  protected writeMemberProject(
    member: WorkspaceMember,
    options: { dependencies: string[]; devDependencies?: string[]; libs: boolean },
  ): void {
    const target = this.destinationPath(member.dir, 'pyproject.toml');
    if (!this.fs.exists(target)) {
      const template = this.templatesOf('api', ['pyproject.toml.ejs'])[0];
      if (!template) throw new Error('templates/api/pyproject.toml.ejs is missing');
      const content = renderTemplate(template.source, {
        ...this.memberContext(member),
        projectName: member.distribution,
        description: member.description,
      });
      this.fs.write(
        target,
        options.libs ? withWorkspaceImportSection(content, libsPackage(this.answers.packageName)) : content,
      );
    }
    let content = this.fs.read(target);
    // Checked here, so that text the user broke is reported with the member's path.
    parseToml(content, path.posix.join(member.dir, 'pyproject.toml'));
    const libs = this.libsMember().distribution;
    const requirements = unique([...(options.libs ? [libs] : []), ...options.dependencies]);
    content = addPyprojectDependencies(content, requirements);
    content = addPyprojectDependencies(content, options.devDependencies ?? [], 'dev');
    if (options.libs) content = addWorkspaceSources(content, [libs]);
    this.writeMerged(target, content);
  }

  /** A member's .env.example: the core's settings (as the tier-1 template lists them), then `vars`. */
  protected writeMemberEnv(member: WorkspaceMember, vars: EnvVar[]): void {
    const target = this.destinationPath(member.dir, '.env.example');
    let content: string;
    if (this.fs.exists(target)) content = this.fs.read(target);
    else {
      const template = this.templatesOf('api', ['dot-env.example.ejs'])[0];
      if (!template) throw new Error('templates/api/dot-env.example.ejs is missing');
      content = renderTemplate(template.source, {
        ...this.memberContext(member),
        title: member.title,
        projectName: member.distribution,
      });
    }
    const auth = this.answers.auth;
    if (auth !== 'none') {
      content = addEnvVars(content, readFamilyManifest(`auth/${auth}`).env ?? [], `authentication (${auth})`);
    }
    content = addEnvVars(content, vars, member.title);
    if (this.observedWorkspace) content = addEnvVars(content, this.observabilityEnv(), 'metrics and tracing');
    this.writeMerged(this.destinationPath(member.dir, '.env.example'), content);
  }

  /** The settings of the shared package's metrics and tracing, as each member reads them. */
  private observabilityEnv(): EnvVar[] {
    return (readFamilyManifest('observability/common').env ?? []).map((variable) =>
      variable.name === 'OTEL_SERVICE_NAME'
        ? { ...variable, comment: 'Service name on every span (empty: the name of this member)' }
        : variable,
    );
  }

  /** The root pyproject becomes the workspace root: `[tool.uv.workspace] members`, merged, never rewritten. */
  protected mergeWorkspace(): void {
    const target = this.destinationPath('pyproject.toml');
    // The root service imports the shared package as every member does.
    const libs = this.libsMember().distribution;
    let content = addWorkspaceMembers(this.fs.read(target), this.workspaceMembers());
    content = addWorkspaceSources(addPyprojectDependencies(content, [libs]), [libs]);
    this.writeMerged(target, content);
  }

  /**
   * `uv sync --all-packages` after `add microservice` or `add gateway` (`new` syncs once at its end). Called
   * from each generator's own install(): Yeoman runs the lifecycle methods a generator class defines itself.
   */
  protected async syncWorkspace(): Promise<void> {
    if (this.options.forgeComposed || this.options.skipInstall || this.options.dryRun) return;
    if (!findExecutable('uv')) {
      this.log.info('uv was not found on PATH: run `uv sync --all-packages` in the project.');
      return;
    }
    await this.spawnCommand('uv sync --all-packages', { cwd: this.destinationRoot() });
  }

  /** Whether the project has a docker-compose.yml that follows the config (every deployment target has one). */
  protected get hasCompose(): boolean {
    return generatedTargets(this.forge).length > 0;
  }

  /** The member's image name in docker-compose.yml. */
  protected memberImage(member: WorkspaceMember): string {
    return `${dnsName(this.answers.projectName)}-${dnsName(member.dir.split('/').pop() ?? member.dir)}:dev`;
  }

  /**
   * The member's Dockerfile: built from the workspace root, since it needs libs. A service's image carries
   * its alembic.ini, so the image runs its migrations too (`alembic upgrade head`).
   */
  protected writeMemberDockerfile(member: WorkspaceMember, { migrations = false } = {}): void {
    const template = this.templatesOf('microservice/member', ['Dockerfile.ejs'])[0];
    if (!template) throw new Error('templates/microservice/member/Dockerfile.ejs is missing');
    const context = withPartials({
      ...this.memberContext(member),
      image: this.memberImage(member).replace(/:dev$/, ''),
      imagePython: this.answers.deployment?.python ?? DEFAULT_IMAGE_PYTHON,
      uvVersion: UV_IMAGE_VERSION,
      port: APP_PORT,
      workers: IMAGE_WORKERS,
      healthProbe: HEALTH_PROBE,
      migrations,
      memberPreflight: memberPreflight(libsPackage(this.answers.packageName), member.packageName),
      json: (value: unknown[]) => `[${value.map((item) => JSON.stringify(item)).join(', ')}]`,
    });
    this.writeFile(`${member.dir}/Dockerfile`, renderTemplate(template.source, context), 'owned');
  }

  /**
   * A service's entry in docker-compose.yml: its image on its own PostgreSQL and Redis, started once its
   * migrations have run.
   */
  protected serviceComposeEntry(name: string): Record<string, unknown> {
    const { migrate } = composeNames(name);
    const entry = this.serviceDatabaseEntry(name);
    const dependsOn = entry.depends_on as Record<string, unknown>;
    return {
      ...entry,
      depends_on: { ...dependsOn, [migrate]: { condition: 'service_completed_successfully' } },
    };
  }

  /**
   * The one-shot service that applies a service's migrations (`alembic upgrade head`) to its database, then
   * exits: the service and its consumer start after it succeeds, so replicas never race to change the schema.
   */
  protected serviceMigrateEntry(name: string): Record<string, unknown> {
    return {
      ...this.serviceDatabaseEntry(name),
      command: ['alembic', 'upgrade', 'head'],
      healthcheck: { disable: true },
      restart: 'no',
    };
  }

  /** A service's image on its own PostgreSQL and Redis. */
  private serviceDatabaseEntry(name: string): Record<string, unknown> {
    const { database } = composeNames(name);
    return this.memberComposeService(
      this.serviceMember(name),
      {
        [`${envPrefix(name)}_DATABASE_URL`]: `postgresql+asyncpg://postgres:postgres@${database}:5432/${name}`,
      },
      [database, 'redis'],
    );
  }

  /** A member's service in docker-compose.yml: its image, its settings, the services it waits for. */
  protected memberComposeService(
    member: WorkspaceMember,
    environment: Record<string, string>,
    dependsOn: string[],
  ): Record<string, unknown> {
    return {
      build: { context: '.', dockerfile: `${member.dir}/Dockerfile` },
      image: this.memberImage(member),
      env_file: [{ path: `${member.dir}/.env.example` }, { path: `${member.dir}/.env`, required: false }],
      environment: { ENVIRONMENT: 'development', REDIS_URL: 'redis://redis:6379/0', ...environment },
      depends_on: Object.fromEntries(dependsOn.map((name) => [name, { condition: 'service_healthy' }])),
      healthcheck: {
        test: ['CMD', 'python', '-c', HEALTH_PROBE],
        interval: '10s',
        timeout: '5s',
        retries: 5,
        start_period: '10s',
      },
      restart: 'unless-stopped',
    };
  }
}
