import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ForgeUserError } from './errors.js';
import { insertTomlArrayItems, parseToml } from './merge.js';
import { installedModules } from './python-modules.js';
import { validatePackageName } from './naming.js';

/**
 * Tier 2 turns the project into a uv workspace. Its root stays the project root: the tier-1 service keeps
 * `src/<package>/` and `tests/` there and is a member like the others. Beside it:
 * - `libs/`: the shared package, imported as `<package>_libs` (logging, errors, auth, settings, client,
 *   events, one module per concern);
 * - `services/<name>/`: one package per service, imported as `<name>`;
 * - `gateway/`: the API gateway, imported as `<package>_gateway`.
 */
export const LIBS_DIR = 'libs';
export const GATEWAY_DIR = 'gateway';
export const SERVICES_DIR = 'services';

export const libsPackage = (packageName: string): string => `${packageName}_libs`;
/** Whether a Python package is a workspace's shared one. */
export const isLibsPackage = (name: string): boolean => name.endsWith('_libs');
export const gatewayPackage = (packageName: string): string => `${packageName}_gateway`;

/**
 * How a service or the gateway starts in its image: the shared preflight checks the member's own settings
 * (`<member>.config:get_settings`), then runs the CMD in its place.
 */
export const memberPreflight = (libs: string, member: string): string[] => [
  'python',
  '-m',
  `${libs}.preflight`,
  `${member}.config:get_settings`,
];

/** Distribution names: `<project>-libs`, `<project>-gateway`, `<project>-<service>` (unique in the workspace). */
export const memberDistribution = (projectName: string, member: string): string =>
  `${projectName.toLowerCase().replace(/[._]+/g, '-')}-${member.replace(/_/g, '-')}`;

/** Services of `new --tier 2` when `--services` is not given. */
export const DEFAULT_TIER2_SERVICES = ['orders', 'inventory'] as const;

/** The spec's tier 2 is 2 to 10 services; the tier-1 service at the root counts as one. */
export const MAX_SERVICES = 9;

/** Local ports: the gateway, the tier-1 service, then each service in the order it was added. */
export const GATEWAY_PORT = 8080;
export const ROOT_SERVICE_PORT = 8000;
export const servicePort = (index: number): number => ROOT_SERVICE_PORT + 1 + index;
/** The port of a tier-3 service's event consumer (its probes and metrics): 9001 beside 8001. */
export const consumerPort = (index: number): number => servicePort(index) + 1000;

/** `orders` -> `ORDERS`: the prefix of a service's own variables (`ORDERS_DATABASE_URL`, `ORDERS_URL`). */
export const envPrefix = (name: string): string => name.toUpperCase();

/** Python 3.11's `sys.stdlib_module_names` without the private ones: a service package must not shadow them. */
const STDLIB_MODULES = new Set(
  (
    'abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii bisect ' +
    'builtins bz2 cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys compileall ' +
    'concurrent configparser contextlib contextvars copy copyreg crypt csv ctypes curses dataclasses datetime dbm ' +
    'decimal difflib dis distutils doctest email encodings ensurepip enum errno faulthandler fcntl filecmp ' +
    'fileinput fnmatch fractions ftplib functools gc genericpath getopt getpass gettext glob graphlib grp gzip ' +
    'hashlib heapq hmac html http idlelib imaplib imghdr imp importlib inspect io ipaddress itertools json ' +
    'keyword lib2to3 linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder ' +
    'msilib msvcrt multiprocessing netrc nis nntplib nt ntpath nturl2path numbers opcode operator optparse os ' +
    'ossaudiodev pathlib pdb pickle pickletools pipes pkgutil platform plistlib poplib posix posixpath pprint ' +
    'profile pstats pty pwd py_compile pyclbr pydoc pydoc_data pyexpat queue quopri random re readline reprlib ' +
    'resource rlcompleter runpy sched secrets select selectors shelve shlex shutil signal site smtpd smtplib ' +
    'sndhdr socket socketserver spwd sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string ' +
    'stringprep struct subprocess sunau symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile ' +
    'termios textwrap this threading time timeit tkinter token tokenize tomllib trace traceback tracemalloc tty ' +
    'turtle turtledemo types typing unicodedata unittest urllib uu uuid venv warnings wave weakref webbrowser ' +
    'winreg winsound wsgiref xdrlib xml xmlrpc zipapp zipfile zipimport zlib zoneinfo'
  ).split(' '),
);

/** Packages a service imports besides the standard library: a service of the same name would shadow them. */
const SERVICE_IMPORTS = new Set(['aiosqlite', 'asyncpg', 'asgi_lifespan', 'mypy', 'ruff', 'jwt', 'pwdlib']);

/**
 * Names with another meaning in the workspace. `main` is every member's entry module (`<package>.main`), and a
 * top-level package of that name breaks the project.
 */
const RESERVED = new Set(['libs', 'gateway', 'services', 'src', 'app', 'main']);

/**
 * Checks the name of a new service (`add microservice <name>`, `new --services a,b`): a lowercase Python
 * identifier that is no keyword, no standard-library or imported module, and no other package of the
 * workspace. Returns the name; throws a one-line user error.
 */
export function validateServiceName(name: string, packageName: string | undefined): string {
  const origin = `service name ${JSON.stringify(name)}`;
  if (!/^[a-z][a-z0-9_]*$/.test(name)) {
    throw new ForgeUserError(
      `invalid ${origin}: use lowercase letters, digits and "_", starting with a letter (it is the service's Python package)`,
    );
  }
  validatePackageName(name, origin);
  if (STDLIB_MODULES.has(name) || SERVICE_IMPORTS.has(name)) {
    throw new ForgeUserError(`invalid ${origin}: it would shadow the Python module "${name}"`);
  }
  if (RESERVED.has(name)) {
    throw new ForgeUserError(`invalid ${origin}: "${name}" is reserved in the workspace layout`);
  }
  if (packageName && [packageName, libsPackage(packageName), gatewayPackage(packageName)].includes(name)) {
    throw new ForgeUserError(`invalid ${origin}: it is the name of a package of this project already`);
  }
  return name;
}

/** Validates the `services` list stored in `.yo-rc.json`. */
export function validateStoredServices(
  services: unknown,
  packageName: string | undefined,
  file: string,
): void {
  if (!Array.isArray(services) || !services.every((name) => typeof name === 'string')) {
    throw new ForgeUserError(`${file}: services must be a list of service names`);
  }
  const seen = new Set<string>();
  for (const name of services as string[]) {
    try {
      validateServiceName(name, packageName);
    } catch (error) {
      throw new ForgeUserError(`${file}: ${(error as Error).message}`);
    }
    if (seen.has(name)) throw new ForgeUserError(`${file}: service "${name}" is listed twice`);
    seen.add(name);
  }
  if (services.length > MAX_SERVICES) {
    throw new ForgeUserError(`${file}: at most ${MAX_SERVICES} services besides the project's own (tier 2)`);
  }
}

/**
 * Parses `--services a,b`: a comma-separated list of new service names. An empty name (`a,,b`) or one listed
 * twice is a typo, refused rather than guessed at.
 */
export function parseServicesFlag(raw: unknown, packageName: string | undefined): string[] {
  const names = String(raw)
    .split(',')
    .map((name) => name.trim());
  if (names.every((name) => name === ''))
    throw new ForgeUserError('--services needs at least one service name, e.g. orders,billing');
  if (names.includes('')) {
    throw new ForgeUserError(
      `--services ${String(raw)}: a service name is empty; separate the names with single commas, e.g. orders,billing`,
    );
  }
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) throw new ForgeUserError(`--services lists ${repeated} twice`);
  for (const name of names) validateServiceName(name, packageName);
  if (names.length > MAX_SERVICES) {
    throw new ForgeUserError(
      `--services: at most ${MAX_SERVICES} services besides the project's own (tier 2)`,
    );
  }
  return names;
}

/**
 * Adds members to the root pyproject's `[tool.uv.workspace] members`, creating the table when missing. The
 * text is edited in place: members, keys and comments the user wrote are kept.
 */
export function addWorkspaceMembers(content: string, members: string[]): string {
  const data = parseToml(content) as { tool?: { uv?: { workspace?: { members?: unknown[] } } } };
  const existing = (data.tool?.uv?.workspace?.members ?? []).filter(
    (item): item is string => typeof item === 'string',
  );
  const missing = members.filter((member) => !existing.includes(member));
  if (missing.length === 0) return content;
  return insertTomlArrayItems(content, 'tool.uv.workspace', 'members', existing, missing, {
    table: 'A uv workspace: one lock file and one virtualenv for every package of the system.',
  });
}

/** Adds `[tool.uv.sources] <name> = { workspace = true }` entries that are missing. */
export function addWorkspaceSources(content: string, names: string[]): string {
  const data = parseToml(content) as { tool?: { uv?: { sources?: Record<string, unknown> } } };
  const existing = data.tool?.uv?.sources ?? {};
  const missing = names.filter((name) => !(name in existing));
  if (missing.length === 0) return content;
  const entries = missing.map((name) => `${name} = { workspace = true }`);
  const lines = content.split('\n');
  const header = lines.findIndex((line) => /^\s*\[tool\.uv\.sources\]\s*(#.*)?$/.test(line));
  if (header === -1) {
    const base = content.endsWith('\n') ? content : `${content}\n`;
    return `${base}\n[tool.uv.sources]\n${entries.join('\n')}\n`;
  }
  lines.splice(header + 1, 0, ...entries);
  return lines.join('\n');
}

/** Top-level modules the Python files under `root` import (absolute imports only). */
export function importedModules(root: string): Set<string> {
  const modules = new Set<string>();
  const skip = new Set([
    '.venv',
    '.git',
    'node_modules',
    '__pycache__',
    '.mypy_cache',
    '.ruff_cache',
    '.forge',
  ]);
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (skip.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.py')) {
        for (const match of readFileSync(full, 'utf8').matchAll(IMPORT_LINE)) {
          const module = match[1] ?? match[2];
          if (module) modules.add(module);
        }
      }
    }
  };
  if (existsSync(root)) walk(root);
  return modules;
}

const IMPORT_LINE = /^[ \t]*(?:from[ \t]+([A-Za-z_]\w*)[\w.]*[ \t]+import\b|import[ \t]+([A-Za-z_]\w*))/gm;

/**
 * Refuses a service name that is a module the project imports or installs: its package on the path would
 * shadow that module for every member (`pymongo` in a MongoDB project, `prometheus_client` with metrics,
 * `mangum` on Lambda, `dotenv` that pydantic-settings imports). What the project imports depends on its
 * features, so its own files are read, and its lock file for what its dependencies import in turn.
 * `adding`: what this run adds to the project's requirements; undefined when not known (a new workspace).
 */
export function refuseImportedName(name: string, root: string, adding?: readonly string[]): void {
  if (importedModules(root).has(name) || installedModules(root, adding).has(name)) {
    throw new ForgeUserError(
      `invalid service name ${JSON.stringify(name)}: the project imports a module of that name, which the service would shadow`,
    );
  }
}
