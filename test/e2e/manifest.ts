import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { AGENT_SDKS, AUTH_KINDS, DATABASES, DEPLOY_TARGETS } from '../../lib/config.js';
import { TEMPLATES_ROOT, destinationFor, listTemplates, readFamilyManifest } from '../../lib/templates.js';
import { SDK_FAMILIES } from '../../generators/agents/index.js';
import { AGENT_JOBS_FAMILY, FAMILIES, USERS_FAMILY } from '../../generators/db/index.js';
import type { Combination } from '../matrix/combinations.js';
import { run, UV } from './processes.js';
import { workspaceMembers } from './projects.js';

/**
 * What a generated project must hold, and must not hold, for the options it was generated with:
 * - every file of every template family its options enable (the families' templates are what they emit),
 *   and no file of a family they do not enable;
 * - the dependencies and env vars the enabled families' forge.json manifests declare, and no others;
 * - the compose services, routes and settings of the enabled features only;
 * - (with the project installed) every import of its code resolving to a declared dependency.
 */

/** A combination's options, and the tables of the resources added to it (`add resource`). */
export type Features = Combination['config'] & { resources?: string[] };

/** Families whose YAML templates are merged, and skipped when they render empty (see renderYamlFamily). */
const YAML_FAMILIES = new Set([
  'docker/compose',
  'k8s/manifests',
  'cloudrun/manifests',
  'serverless/manifests',
]);

/** The files of YAML families that exist only with some features. Any other YAML template must always land. */
const CONDITIONAL_FILES: Record<string, (features: Features) => boolean> = {
  'deploy/k8s/base/worker-deployment.yaml': (features) => features.agents,
  'deploy/k8s/base/worker-networkpolicy.yaml': (features) => features.agents,
  'deploy/k8s/base/migration-job.yaml': (features) => features.db === 'postgres',
  // Only a process with an HTTP server of its own (a tier-3 service's consumer) has a budget.
  'deploy/k8s/base/worker-pdb.yaml': () => false,
};

/** The families of each deployment target's generator; every target also gets docker's. */
const DEPLOY_FAMILIES: Record<Features['deploy'], string[]> = {
  compose: [],
  k8s: ['k8s/docs', 'k8s/manifests'],
  cloudrun: ['cloudrun/docs', 'cloudrun/manifests'],
  serverless: ['serverless/files', 'serverless/manifests'],
};

/** The template families a project with these features is rendered from (see generators/). */
export function enabledFamilies(features: Features): string[] {
  const families = ['api', 'docker/files', 'docker/compose'];
  if (features.auth !== 'none') families.push('auth/common', 'auth/dependency', `auth/${features.auth}`);
  if (features.agents) {
    families.push('agents/common', ...SDK_FAMILIES[features.agentSdk].map((family) => `agents/${family}`));
  }
  // Browser tickets open the agents' stream and socket where there is authentication (generators/api).
  if (features.agents && features.auth !== 'none') families.push('auth/tickets');
  if (features.db !== 'none') {
    families.push(...FAMILIES[features.db]);
    // The generators' template context: users with PostgreSQL and jwt, agent run history with PostgreSQL.
    if (features.db === 'postgres' && features.auth === 'jwt') families.push(USERS_FAMILY);
    if (features.db === 'postgres' && features.agents) families.push(AGENT_JOBS_FAMILY);
  }
  families.push(...DEPLOY_FAMILIES[features.deploy]);
  if (features.examples) families.push('examples');
  if (features.observability) {
    families.push('observability/common');
    // SQL statements become spans with PostgreSQL.
    if (features.db === 'postgres') families.push('observability/postgres');
  }
  return families.filter((family) => existsSync(path.join(TEMPLATES_ROOT, family)));
}

/** Every family some combination of options enables. */
function knownFamilies(): Set<string> {
  const known = new Set<string>();
  for (const db of DATABASES)
    for (const auth of AUTH_KINDS)
      for (const deploy of DEPLOY_TARGETS)
        for (const agents of [false, true])
          for (const agentSdk of AGENT_SDKS)
            for (const observability of [false, true])
              for (const examples of [false, true]) {
                const features = { db, auth, deploy, agents, agentSdk, observability, examples } as Features;
                for (const family of enabledFamilies(features)) known.add(family);
              }
  return known;
}

function destinations(family: string, packageName: string): string[] {
  return listTemplates(family).map((template) => destinationFor(template.relative, packageName));
}

/** Files a family claims that are missing, and files of families not enabled that are present. */
export function checkFiles(dir: string, packageName: string, features: Features): string[] {
  const problems: string[] = [];
  const enabled = enabledFamilies(features);
  const claimed = new Set<string>();
  for (const family of enabled) {
    for (const file of destinations(family, packageName)) {
      claimed.add(file);
      const condition = CONDITIONAL_FILES[file];
      const wanted = condition ? condition(features) : true;
      if (condition && !YAML_FAMILIES.has(family))
        problems.push(`${file}: listed as conditional but not YAML`);
      if (wanted && !existsSync(path.join(dir, file))) problems.push(`${file} (${family}) is missing`);
      if (!wanted && existsSync(path.join(dir, file))) problems.push(`${file} (${family}) should not exist`);
    }
  }
  for (const family of knownFamilies()) {
    if (enabled.includes(family)) continue;
    for (const file of destinations(family, packageName)) {
      if (!claimed.has(file) && existsSync(path.join(dir, file))) {
        problems.push(`${file} belongs to ${family}, which these options do not enable`);
      }
    }
  }
  return problems;
}

const requirementName = (requirement: string): string =>
  (/^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(requirement)?.[1] ?? requirement)
    .toLowerCase()
    .replace(/[-_.]+/g, '-');

/** The quoted requirements of an array in the api's pyproject template (`dependencies = [...]`, `dev = [...]`). */
function templateRequirements(key: string): string[] {
  const template = readFileSync(path.join(TEMPLATES_ROOT, 'api', 'pyproject.toml.ejs'), 'utf8');
  const block = new RegExp(`^${key} = \\[\\n([\\s\\S]*?)^\\]`, 'm').exec(template)?.[1] ?? '';
  return [...block.matchAll(/"([^"]+)"/g)].map((match) => requirementName(match[1] ?? ''));
}

interface Pyproject {
  project?: { name?: string; dependencies?: string[] };
  'dependency-groups'?: Record<string, unknown[]>;
}

/** The distribution name of a workspace's shared package (libs/pyproject.toml); none outside a workspace. */
function workspaceLibs(dir: string): string[] {
  const file = path.join(dir, 'libs', 'pyproject.toml');
  if (!existsSync(file)) return [];
  const name = (parseToml(readFileSync(file, 'utf8')) as Pyproject).project?.name;
  return name === undefined ? [] : [requirementName(name)];
}

/** Dependencies (and dev dependencies) that no enabled family declares, and declared ones that are missing. */
export function checkDependencies(dir: string, features: Features): string[] {
  const pyproject = parseToml(readFileSync(path.join(dir, 'pyproject.toml'), 'utf8')) as Pyproject;
  const problems: string[] = [];
  const families = enabledFamilies(features);
  const groups: [string, string[], string[]][] = [
    [
      'dependencies',
      (pyproject.project?.dependencies ?? []).map(requirementName),
      [
        ...templateRequirements('dependencies'),
        ...families.flatMap((family) => readFamilyManifest(family).dependencies ?? []).map(requirementName),
        // A workspace's root service depends on the shared package, by its distribution name.
        ...workspaceLibs(dir),
      ],
    ],
    [
      'dev dependencies',
      (pyproject['dependency-groups']?.dev ?? [])
        .filter((item) => typeof item === 'string')
        .map(requirementName),
      [
        ...templateRequirements('dev'),
        ...families
          .flatMap((family) => readFamilyManifest(family).devDependencies ?? [])
          .map(requirementName),
      ],
    ],
  ];
  for (const [label, actual, expected] of groups) {
    for (const name of actual) {
      if (!expected.includes(name)) problems.push(`${label}: ${name} is declared by no enabled feature`);
    }
    for (const name of expected) {
      if (!actual.includes(name)) problems.push(`${label}: ${name} is missing from pyproject.toml`);
    }
  }
  return problems;
}

/** `NAME` of every `NAME=value` line of an env file. */
export function envNames(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** The env vars of the enabled features: the api's own `.env.example` and every enabled family's manifest. */
export function expectedEnv(features: Features): Set<string> {
  const names = new Set(envNames(path.join(TEMPLATES_ROOT, 'api', 'dot-env.example.ejs')));
  for (const family of enabledFamilies(features)) {
    for (const variable of readFamilyManifest(family).env ?? []) names.add(variable.name);
  }
  return names;
}

export function checkEnvExample(dir: string, features: Features): string[] {
  const expected = expectedEnv(features);
  const actual = new Set(envNames(path.join(dir, '.env.example')));
  return [
    ...[...actual]
      .filter((name) => !expected.has(name))
      .map((name) => `.env.example: ${name} belongs to no enabled feature`),
    ...[...expected].filter((name) => !actual.has(name)).map((name) => `.env.example: ${name} is missing`),
  ];
}

/** The workspace part of a project's config (tier 2 and up): its services, and whether the gateway is generated. */
interface Workspace {
  services?: string[];
  gateway?: boolean;
}

/**
 * The compose services each feature runs beside the app; at tier 2, the gateway and each service with its
 * database and its one-shot migration; at tier 3, each service's event consumer too.
 */
export function expectedServices(features: Features, workspace: Workspace = {}): string[] {
  const services = ['app', 'redis'];
  if (features.agents) services.push('worker');
  if (features.db === 'postgres') services.push('postgres', 'migrate');
  if (features.db === 'mongo') services.push('mongo');
  if (workspace.gateway) services.push('gateway');
  // Compose service names are DNS names: a service's underscores become hyphens there.
  for (const service of (workspace.services ?? []).map((name) => name.replace(/_/g, '-'))) {
    services.push(service, `${service}-postgres`, `${service}-migrate`);
    if (features.tier >= 3) services.push(`${service}-consumer`);
  }
  return services.sort();
}

export function checkCompose(dir: string, features: Features): string[] {
  const compose = parseYaml(readFileSync(path.join(dir, 'docker-compose.yml'), 'utf8')) as {
    services?: Record<string, unknown>;
  };
  const stored = JSON.parse(readFileSync(path.join(dir, '.yo-rc.json'), 'utf8')) as Record<string, Workspace>;
  const actual = Object.keys(compose.services ?? {}).sort();
  const expected = expectedServices(features, stored['generator-fastapi-forge']);
  return JSON.stringify(actual) === JSON.stringify(expected)
    ? []
    : [`docker-compose.yml services ${actual.join(', ')}; expected ${expected.join(', ')}`];
}

/** Which feature serves each route of the OpenAPI schema. */
export function routeFeatures(features: Features): Record<string, (route: string) => boolean> {
  const owners: Record<string, (route: string) => boolean> = {
    core: (route) => ['/health', '/health/ready'].includes(route),
  };
  if (features.examples) owners.examples = (route) => route === '/echo';
  if (features.agents) owners.agents = (route) => route.startsWith('/agents/');
  if (features.db === 'postgres' || features.db === 'mongo') {
    owners.notes = (route) => route === '/notes' || route.startsWith('/notes/');
  }
  if (features.db === 'redis') owners.cache = (route) => route.startsWith('/cache/');
  if (features.db === 'postgres' && features.auth === 'jwt') {
    owners.users = (route) => route === '/auth/token' || route === '/users/me';
  }
  if (features.agents && features.auth !== 'none') owners.tickets = (route) => route === '/auth/tickets';
  if (features.observability) owners.observability = (route) => route === '/metrics';
  for (const table of features.resources ?? []) {
    owners[table] = (route) => route === `/${table}` || route.startsWith(`/${table}/`);
  }
  return owners;
}

/** Routes of no enabled feature, and enabled features without a route. */
export function checkRoutes(routes: string[], features: Features): string[] {
  const owners = routeFeatures(features);
  const problems = routes
    .filter((route) => !Object.values(owners).some((owns) => owns(route)))
    .map((route) => `route ${route} belongs to no enabled feature`);
  for (const [feature, owns] of Object.entries(owners)) {
    // /metrics is served for Prometheus and kept out of the OpenAPI schema.
    if (feature !== 'observability' && !routes.some(owns)) problems.push(`no route of ${feature} is served`);
  }
  return problems;
}

/**
 * Run with the project's own Python: every top-level import of src/ (and tests/) must be the standard
 * library, the project's package, or a module of a declared dependency (with the extras it is declared with).
 */
const IMPORT_CHECK = String.raw`
import ast, json, re, sys, tomllib
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

local_modules, settings_path = set(sys.argv[1].split(",")), sys.argv[2]
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(requirements):
    names = set()
    for requirement in requirements:
        match = REQUIREMENT.match(requirement)
        names.add(normal(match.group(1)))
        extras = {extra.strip() for extra in (match.group(2) or "").split(",") if extra.strip()}
        if not extras:
            continue
        try:
            requires = distribution(match.group(1)).requires or []
        except PackageNotFoundError:
            continue
        for line in requires:
            marker = line.partition(";")[2]
            if any(re.search(r"extra\s*==\s*[\"']%s[\"']" % re.escape(extra), marker) for extra in extras):
                names.add(normal(REQUIREMENT.match(line).group(1)))
    return names


pyproject = tomllib.loads(Path("pyproject.toml").read_text())
runtime = declared(pyproject["project"].get("dependencies", []))
dev = runtime | declared(
    item for item in pyproject.get("dependency-groups", {}).get("dev", []) if isinstance(item, str)
)
providers = packages_distributions()
problems = []
for folder, allowed, local in (("src", runtime, local_modules), ("tests", dev, local_modules | {"tests"})):
    for file in sorted(Path(folder).rglob("*.py")):
        # Test support a package holds for its dependents' tests (libs' testing modules): dev dependencies.
        permitted = dev if file.name == "testing.py" else allowed
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in local or top == "__future__":
                    continue
                dists = providers.get(top, [])
                if not dists:
                    problems.append(f"{file}: import {module}: no installed distribution provides it")
                elif not any(normal(dist) in permitted for dist in dists):
                    problems.append(
                        f"{file}: import {module}: from {', '.join(sorted(set(dists)))}, "
                        "which pyproject.toml does not declare"
                    )

settings = []
if settings_path:
    module_name, _, class_name = settings_path.partition(":")
    module = __import__(module_name, fromlist=[class_name])
    fields = getattr(module, class_name).model_fields
    settings = sorted((field.alias or name).upper() for name, field in fields.items())
print(json.dumps({"problems": sorted(set(problems)), "settings": settings}))
`;

/** The Python package of a project or workspace member (`[tool.uv.build-backend] module-name`). */
function moduleName(dir: string): string {
  const pyproject = parseToml(readFileSync(path.join(dir, 'pyproject.toml'), 'utf8')) as {
    tool?: { uv?: { 'build-backend'?: { 'module-name'?: string } } };
  };
  return pyproject.tool?.uv?.['build-backend']?.['module-name'] ?? '';
}

/**
 * With the project installed: imports that resolve to no declared dependency (in the project and in each
 * member of a workspace, whose packages may import each other), and settings of no enabled feature.
 */
export function checkInstalled(
  dir: string,
  packageName: string,
  features: Features,
  env: Record<string, string>,
): string[] {
  const members = workspaceMembers(dir).map((member) => path.join(dir, member));
  const local = [packageName, ...members.map(moduleName)].join(',');
  const problems: string[] = [];
  let settings: string[] = [];
  for (const root of [dir, ...members]) {
    const { output } = run(
      UV,
      [
        'run',
        '--no-sync',
        'python',
        '-c',
        IMPORT_CHECK,
        local,
        root === dir ? `${packageName}.config:Settings` : '',
      ],
      root,
      env,
    );
    const result = JSON.parse(output.trim().split('\n').pop() ?? '{}') as {
      problems: string[];
      settings: string[];
    };
    const where = path.relative(dir, root);
    problems.push(...result.problems.map((problem) => (where ? `${where}/${problem}` : problem)));
    if (root === dir) settings = result.settings;
  }
  const expected = expectedEnv(features);
  return [
    ...problems,
    ...settings
      .filter((name) => !expected.has(name))
      .map((name) => `setting ${name} is in no enabled feature's env vars`),
  ];
}

/** Every check that needs no installed project. */
export function checkGenerated(dir: string, packageName: string, features: Features): string[] {
  return [
    ...checkFiles(dir, packageName, features),
    ...checkDependencies(dir, features),
    ...checkEnvExample(dir, features),
    ...checkCompose(dir, features),
  ];
}
