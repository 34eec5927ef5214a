import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { LineCounter, type Node, isMap, isPair, isScalar, isSeq, parseDocument, stringify } from 'yaml';
import {
  CHOICES,
  type ChoiceKey,
  type ForgeConfig,
  SQL_DATABASES,
  choiceSpec,
  isSqlDatabase,
  parseChoice,
} from './config.js';
import { ForgeUserError, isForgeUserError } from './errors.js';
import { toPackageName, validateProjectName } from './naming.js';
import {
  type DesiredResource,
  type ScriptsOf,
  SpecError,
  type StoredResources,
  planApply,
} from './resource-changes.js';
import {
  DEFAULT_STR_LENGTH,
  type ResourceField,
  buildResourceSpec,
  fieldText,
  parseField,
  parseResourceName,
  refuseServiceClash,
  sameService,
  toSnake,
} from './resources.js';
import { DEFAULT_TIER2_SERVICES, MAX_SERVICES, validateServiceName } from './workspace.js';
import { PLUGIN_PREFIX, isPluginName } from './plugins.js';

/**
 * `forge.yaml`, the system spec: a project's answers (what `.yo-rc.json` stores), its services and its
 * resources with their fields and relations. `new --spec` generates a project from it, `apply` brings a
 * project to it, `export` writes it from a project. YAML (the `yaml` package) keeps each node's place, so an
 * error names the file, the line and the field.
 */

export const SPEC_FILE = 'forge.yaml';

/** The project's answers a spec holds, under `project`. */
export interface SpecProject {
  name: string;
  description?: string;
  appType?: string;
  tier?: number;
  db?: string;
  auth?: string;
  agentSdk?: string;
  deploy?: string;
  observability?: boolean;
}

export interface SystemSpec {
  project: SpecProject;
  services: string[];
  resources: DesiredResource[];
  /** Plugin packages (`generator-fastapi-forge-<name>`) by name, in the order they are composed. */
  plugins: string[];
}

/**
 * Checks that a plugin a spec names can be used (installed, with a generator), throwing a one-line
 * ForgeUserError when it cannot; the error is then placed at the plugin's line.
 */
export type PluginCheck = (name: string) => void;

const PROJECT_KEYS = ['name', 'description', ...CHOICES.map((choice) => choice.key), 'observability'];
const RESOURCE_KEYS = ['service', 'fields', 'belongsTo', 'adopted'];
const FIELD_KEYS = ['type', 'default', 'renamedFrom'];
const IDENTIFIER = /^[a-z][a-z0-9_]*$/;

/** A spec is a page of YAML: anything much larger is not one, and is not read in full. */
export const MAX_SPEC_BYTES = 1024 * 1024;

/**
 * The text of a spec file, refused in one line when it is missing, not a file, larger than
 * {@link MAX_SPEC_BYTES} or not UTF-8. At most one byte past the limit is read, so an endless
 * source (`/dev/zero`, a pipe) ends at once.
 */
export function readSpecText(file: string): string {
  let stats;
  try {
    stats = statSync(file);
  } catch {
    throw new ForgeUserError(`${file}: no such file`);
  }
  if (stats.isDirectory()) throw new ForgeUserError(`${file}: a directory, not a spec file`);
  const buffer = Buffer.alloc(MAX_SPEC_BYTES + 1);
  let size = 0;
  const fd = openSync(file, 'r');
  try {
    for (let read = -1; read !== 0 && size < buffer.length; size += read) {
      read = readSync(fd, buffer, size, buffer.length - size, null);
    }
  } finally {
    closeSync(fd);
  }
  if (size > MAX_SPEC_BYTES) throw new ForgeUserError(`${file}: larger than 1 MiB, too large for a spec`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, size));
  } catch {
    throw new ForgeUserError(`${file}: not UTF-8 text`);
  }
}

/** Aliases a spec may expand: enough to share definitions, too few for an alias bomb to exhaust memory. */
const MAX_ALIAS_COUNT = 100;

/**
 * Reads and checks a spec; every error is one line, `file:line: path: reason`. `plugin` checks each plugin
 * it names (installed where `add` looks); without it, only their names are checked.
 */
export function readSpec(text: string, file: string, plugin?: PluginCheck): SystemSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const [syntax] = doc.errors;
  if (syntax) {
    const line = syntax.linePos?.[0].line ?? 1;
    const reason = (syntax.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new ForgeUserError(`${file}:${line}: not valid YAML: ${reason}`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // The yaml package's guard against an alias bomb (a ReferenceError naming the excess).
    if (error instanceof ReferenceError) {
      throw new ForgeUserError(`${file}: its aliases (*name) expand too far; write the values out`);
    }
    throw error;
  }
  try {
    return checkSpec(raw, plugin);
  } catch (error) {
    if (error instanceof SpecError) throw located(error, doc.contents, lines, file);
    throw error;
  }
}

/** The same error, prefixed with where its path is in the file. */
export function located(error: SpecError, root: unknown, lines: LineCounter, file: string): ForgeUserError {
  let node: unknown = root;
  let offset = (root as Node | null)?.range?.[0] ?? 0;
  for (const segment of error.at) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && item.key.value === segment,
      );
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      offset = (node as Node | undefined)?.range?.[0] ?? offset;
    } else break;
  }
  const path = error.at.join('.');
  return new ForgeUserError(
    `${file}:${lines.linePos(offset).line}: ${path ? `${path}: ` : ''}${error.message}`,
  );
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function unknownKeys(value: Record<string, unknown>, allowed: string[], at: (string | number)[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new SpecError([...at, key], `unknown key; expected one of ${allowed.join(', ')}`);
    }
  }
}

/** A message of the `--field` parser, without its `--field "..."` opening (the path says which field). */
const fieldReason = (message: string): string =>
  message.replace(/^(invalid )?--field "[^"]*"(: )?/, (_, invalid: string | undefined) =>
    invalid ? 'invalid: ' : '',
  );

function checkSpec(raw: unknown, plugin?: PluginCheck): SystemSpec {
  if (!isRecord(raw)) throw new SpecError([], 'a spec is a mapping with project, services and resources');
  unknownKeys(raw, ['project', 'services', 'resources', 'plugins'], []);
  const project = checkProject(raw.project);
  const services = checkServices(raw.services ?? [], toPackageName(project.name));
  const resources = checkResources(raw.resources ?? {});
  const plugins = checkPlugins(raw.plugins ?? [], plugin);
  // Inside a workspace each resource names its service; at tier 1 none does. A workspace that lists no
  // services gets the default ones, as `new` gives it.
  const workspace =
    (project.tier ?? (project.appType === 'multi-service' ? 2 : 1)) >= 2 || services.length > 0;
  const known = services.length > 0 || !workspace ? services : [...DEFAULT_TIER2_SERVICES];
  for (const resource of resources) {
    const at = ['resources', resource.name];
    if (!workspace && resource.service !== undefined) {
      throw new SpecError([...at, 'service'], 'a tier-1 project has no services: leave service out');
    }
    if (workspace && resource.service === undefined) {
      throw new SpecError(at, `a resource of a workspace names its service, e.g. service: ${known[0]}`);
    }
    if (resource.service !== undefined && !known.includes(resource.service)) {
      throw new SpecError(
        [...at, 'service'],
        `no service ${resource.service} in the spec (its services: ${known.join(', ')})`,
      );
    }
    if (resource.service !== undefined) wrap(at, () => refuseServiceClash(resource.name));
  }
  if (resources.length > 0 && !workspace && !isSqlDatabase(String(project.db ?? choiceSpec('db').default))) {
    throw new SpecError(
      ['project', 'db'],
      `resources need an SQL database: db: ${SQL_DATABASES.join(' or ')}`,
    );
  }
  return { project, services, resources, plugins };
}

/** The plugins' names, each once, each usable when `plugin` checks it. */
function checkPlugins(raw: unknown, plugin?: PluginCheck): string[] {
  if (!Array.isArray(raw)) {
    throw new SpecError(
      ['plugins'],
      `plugins is a list of plugin names, such as billing for ${PLUGIN_PREFIX}billing`,
    );
  }
  raw.forEach((name: unknown, index) => {
    const at = ['plugins', index];
    if (typeof name !== 'string' || !isPluginName(name)) {
      throw new SpecError(
        at,
        `a plugin name: lowercase words joined by hyphens, such as billing for ${PLUGIN_PREFIX}billing`,
      );
    }
    if (raw.indexOf(name) !== index) throw new SpecError(at, `${name} is listed twice`);
    if (plugin) wrap(at, () => plugin(name));
  });
  return raw as string[];
}

/** The services' names, each checked as `add microservice` checks it; one listed twice is an error. */
function checkServices(raw: unknown, packageName: string): string[] {
  if (!Array.isArray(raw) || raw.some((service) => typeof service !== 'string')) {
    throw new SpecError(['services'], 'services is a list of service names');
  }
  const services = raw as string[];
  services.forEach((service, index) => {
    wrap(['services', index], () => validateServiceName(service, packageName));
    if (services.indexOf(service) !== index) {
      throw new SpecError(['services', index], `${service} is listed twice`);
    }
  });
  if (services.length > MAX_SERVICES) {
    throw new SpecError(['services'], `at most ${MAX_SERVICES} services besides the project's own`);
  }
  return services;
}

function checkProject(raw: unknown): SpecProject {
  if (!isRecord(raw)) throw new SpecError(['project'], 'project is a mapping, with at least its name');
  unknownKeys(raw, PROJECT_KEYS, ['project']);
  const at = (key: string) => ['project', key];
  if (typeof raw.name !== 'string') throw new SpecError(at('name'), 'the project name is required');
  wrap(at('name'), () => validateProjectName(raw.name as string));
  const project: SpecProject = { name: raw.name };
  if (raw.description !== undefined) {
    if (typeof raw.description !== 'string') throw new SpecError(at('description'), 'a line of text');
    project.description = raw.description;
  }
  for (const choice of CHOICES) {
    const value = raw[choice.key];
    if (value === undefined) continue;
    const parsed = wrap(at(choice.key), () => parseChoice(choice.key as ChoiceKey, value, 'value'));
    (project as unknown as Record<string, unknown>)[choice.key] = parsed;
  }
  if (raw.observability !== undefined) {
    if (typeof raw.observability !== 'boolean') throw new SpecError(at('observability'), 'true or false');
    project.observability = raw.observability;
  }
  return project;
}

/** Runs a check of lib/, its one-line error placed at `at`. */
function wrap<T>(at: (string | number)[], check: () => T, reason: (message: string) => string = (m) => m): T {
  try {
    return check();
  } catch (error) {
    if (isForgeUserError(error) && !(error instanceof SpecError))
      throw new SpecError(at, reason(error.message));
    throw error;
  }
}

function checkResources(raw: unknown): DesiredResource[] {
  if (!isRecord(raw)) throw new SpecError(['resources'], 'resources is a mapping of resource names');
  const resources: DesiredResource[] = [];
  const paths = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    const at = ['resources', key];
    const name = wrap(at, () => parseResourceName(key));
    if (name !== key) throw new SpecError(at, `write the resource name as ${name}`);
    const twin = resources.find((other) => toSnake(other.name) === toSnake(name));
    if (twin) throw new SpecError(at, `the same resource as ${twin.name}`);
    if (!isRecord(value)) throw new SpecError(at, 'a resource is a mapping with fields (and belongsTo)');
    unknownKeys(value, RESOURCE_KEYS, at);
    if (!isRecord(value.fields) || Object.keys(value.fields).length === 0) {
      throw new SpecError([...at, 'fields'], 'a resource needs at least one field, e.g. `title: str`');
    }
    const fields: ResourceField[] = [];
    const renames: Record<string, string> = {};
    for (const [fieldName, fieldValue] of Object.entries(value.fields)) {
      const fieldAt = [...at, 'fields', fieldName];
      const field = checkField(fieldName, fieldValue, fieldAt);
      if (isRecord(fieldValue) && fieldValue.renamedFrom !== undefined) {
        const from = fieldValue.renamedFrom;
        if (typeof from !== 'string' || !IDENTIFIER.test(from)) {
          throw new SpecError([...fieldAt, 'renamedFrom'], 'the name of the field it renames');
        }
        renames[fieldName] = from;
      }
      fields.push(field);
    }
    const resource: DesiredResource = { name, fields, renames };
    if (value.service !== undefined) {
      if (typeof value.service !== 'string') throw new SpecError([...at, 'service'], 'the name of a service');
      resource.service = value.service;
    }
    if (value.adopted !== undefined) {
      if (value.adopted !== true) {
        throw new SpecError(
          [...at, 'adopted'],
          'true, for a resource made from a table of an existing database (`add resource --from-database`)',
        );
      }
      resource.adopted = true;
    }
    if (value.belongsTo !== undefined) {
      const match = typeof value.belongsTo === 'string' ? /^(\w+)(\?)?$/.exec(value.belongsTo) : null;
      if (!match) throw new SpecError([...at, 'belongsTo'], 'the name of a resource, with ? if optional');
      resource.belongsTo = match[1] ?? '';
      if (match[2]) resource.optionalParent = true;
    }
    resources.push(resource);
    paths.set(name, key);
  }
  // Each resource as `add resource` would check it among the others: relations, lengths of names.
  for (const resource of resources) {
    const at = ['resources', resource.name];
    if (resource.belongsTo && !resources.some((other) => other.name === resource.belongsTo)) {
      const known = resources.map((other) => other.name).join(', ');
      throw new SpecError(
        [...at, 'belongsTo'],
        `no resource ${resource.belongsTo} in the spec (its resources: ${known})`,
      );
    }
    const parent = resources.find((other) => other.name === resource.belongsTo);
    if (parent && !sameService(parent, resource)) {
      throw new SpecError(
        [...at, 'belongsTo'],
        `${parent.name} is in another service: relations are within one service`,
      );
    }
    // Each row module imports its parent's: a cycle of relations could not be imported.
    const seen = new Set([resource.name]);
    for (let parent = resource.belongsTo; parent;) {
      if (seen.has(parent)) {
        throw new SpecError([...at, 'belongsTo'], `the relations of ${[...seen].join(', ')} form a cycle`);
      }
      seen.add(parent);
      parent = resources.find((other) => other.name === parent)?.belongsTo;
    }
    wrap(at, () =>
      buildResourceSpec(
        resource.name,
        resource.fields.map(fieldText),
        resource.belongsTo,
        resources
          .filter((other) => other !== resource && sameService(other, resource))
          // A spec records only that a resource was adopted; the table's key is not checked here.
          .map(({ adopted: _adopted, ...other }) => ({ ...other, revision: '', downRevision: '' })),
        { revision: '', downRevision: '' },
      ),
    );
  }
  return resources;
}

function checkField(name: string, raw: unknown, at: (string | number)[]): ResourceField {
  const spelled = isRecord(raw) ? raw.type : raw;
  if (isRecord(raw)) unknownKeys(raw, FIELD_KEYS, at);
  if (typeof spelled !== 'string') {
    throw new SpecError(
      at,
      'a field is its type (e.g. `str:120?`) or a mapping with type, default, renamedFrom',
    );
  }
  const field = wrap(at, () => parseField(`${name}:${spelled}`), fieldReason);
  if (isRecord(raw) && raw.default !== undefined) {
    field.default = checkDefault(field, raw.default, [...at, 'default']);
  }
  return field;
}

/** A default must be a value of the field's type: the migration writes it into rows as it is. */
function checkDefault(
  field: ResourceField,
  value: unknown,
  at: (string | number)[],
): string | number | boolean {
  const fail = (what: string): never => {
    throw new SpecError(at, `the default of a ${field.type} field is ${what}`);
  };
  switch (field.type) {
    case 'str':
    case 'text':
      if (typeof value !== 'string' || value.length === 0) fail('a non-empty string');
      if (field.type === 'str' && (value as string).length > (field.length ?? DEFAULT_STR_LENGTH)) {
        fail(`at most ${field.length ?? DEFAULT_STR_LENGTH} characters`);
      }
      if ((value as string).includes('\0')) fail('a string without NUL');
      return value as string;
    case 'enum':
      if (typeof value !== 'string' || !(field.values ?? []).includes(value)) {
        fail(`one of ${(field.values ?? []).join(', ')}`);
      }
      return value as string;
    case 'int':
      if (!Number.isInteger(value) || Math.abs(value as number) > 2_147_483_647) fail('an integer');
      return value as number;
    case 'bool':
      if (typeof value !== 'boolean') fail('true or false');
      return value as boolean;
    case 'decimal':
      if (!/^-?\d{1,16}(\.\d{1,2})?$/.test(String(value)))
        fail('a number with at most 16 digits and 2 decimals');
      return String(value);
    case 'date':
      if (
        typeof value !== 'string' ||
        !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
        Number.isNaN(Date.parse(value))
      ) {
        fail('a date, e.g. "2026-01-31" (quoted)');
      }
      return value as string;
    case 'datetime':
      if (
        typeof value !== 'string' ||
        !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ||
        Number.isNaN(Date.parse(value))
      ) {
        fail('a time with its offset, e.g. "2026-01-31T12:00:00Z" (quoted)');
      }
      return value as string;
    case 'uuid':
      if (
        typeof value !== 'string' ||
        !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
      ) {
        fail('a UUID');
      }
      return value as string;
    case 'json':
      return fail('not supported: a json field added to a resource is optional');
  }
}

/**
 * The spec `new --spec` generates a project from. A resource adopted from an existing database is refused:
 * its table and rows are in that database, and a new project would create the table instead (its baseline,
 * owner and unmanaged tables come from reading the database, which a spec does not hold).
 */
export function readNewSpec(text: string, file: string, plugin?: PluginCheck): SystemSpec {
  const spec = readSpec(text, file, plugin);
  const adopted = spec.resources.filter((resource) => resource.adopted);
  const [first] = adopted;
  if (first) {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines });
    throw located(
      new SpecError(
        ['resources', first.name, 'adopted'],
        `made from a table of an existing database, which \`new --spec\` would create instead: leave ${adopted.map((resource) => resource.name).join(', ')} out, then \`fastapi-forge add resource --from-database <url> --owner <subject>\` in the new project`,
      ),
      doc.contents,
      lines,
      file,
    );
  }
  return spec;
}

/**
 * What `apply` does to a project: checks that the spec is this project (options and services are changed with
 * `add`, not here), then plans the resources. Errors are placed in the spec like {@link readSpec}'s.
 */
export function checkApply(
  text: string,
  file: string,
  config: Partial<ForgeConfig> & StoredResources,
  scripts: ScriptsOf,
  plugin?: PluginCheck,
): { spec: SystemSpec; plan: ReturnType<typeof planApply> } {
  const spec = readSpec(text, file, plugin);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  try {
    if (spec.project.name !== config.projectName) {
      throw new SpecError(['project', 'name'], `this project is ${config.projectName}`);
    }
    for (const key of PROJECT_KEYS.slice(1) as (keyof SpecProject)[]) {
      const wanted = spec.project[key];
      const stored = (config as Record<string, unknown>)[key];
      if (wanted !== undefined && wanted !== stored) {
        throw new SpecError(
          ['project', key],
          `the project has ${JSON.stringify(stored)}; \`apply\` changes resources, not the project's options (grow it with \`fastapi-forge add\`)`,
        );
      }
    }
    const services = config.services ?? [];
    if (JSON.stringify(spec.services) !== JSON.stringify(services)) {
      throw new SpecError(
        ['services'],
        `the project's services are [${services.join(', ')}]; add one with \`fastapi-forge add microservice <name>\``,
      );
    }
    const plugins = config.plugins ?? [];
    if (JSON.stringify(spec.plugins) !== JSON.stringify(plugins)) {
      throw new SpecError(
        ['plugins'],
        `the project's plugins are [${plugins.join(', ')}]; add one with \`fastapi-forge add <plugin>\``,
      );
    }
    return { spec, plan: planApply(config, spec.resources, scripts) };
  } catch (error) {
    if (error instanceof SpecError) throw located(error, doc.contents, lines, file);
    throw error;
  }
}

/** The spec of a project, from its `.yo-rc.json` answers: `apply` of it changes nothing. */
export function exportSpec(config: ForgeConfig): string {
  const project: Record<string, unknown> = {
    name: config.projectName,
    description: config.description,
    ...Object.fromEntries(CHOICES.map((choice) => [choice.key, config[choice.key]])),
    observability: config.observability,
  };
  const resources = Object.fromEntries(
    (config.resources ?? []).map((resource) => [
      resource.name,
      {
        ...(resource.service ? { service: resource.service } : {}),
        ...(resource.adopted ? { adopted: true } : {}),
        ...(resource.belongsTo
          ? { belongsTo: `${resource.belongsTo}${resource.optionalParent ? '?' : ''}` }
          : {}),
        fields: Object.fromEntries(
          resource.fields.map((field) => {
            const type = fieldText(field).slice(field.name.length + 1);
            return [field.name, field.default === undefined ? type : { type, default: field.default }];
          }),
        ),
      },
    ]),
  );
  const header =
    '# The system spec of this project: edit it, then `fastapi-forge apply` brings the project to it.\n';
  // A project without plugins has a spec without the key, as it had before plugins existed.
  const plugins = config.plugins?.length ? { plugins: config.plugins } : {};
  return (
    header + stringify({ project, services: config.services ?? [], resources, ...plugins }, { lineWidth: 0 })
  );
}
