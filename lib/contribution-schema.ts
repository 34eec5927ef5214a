/**
 * The shape of a contribution (lib/contributions.ts), checked when it is contributed: a plugin's is written by
 * hand against the public API, and one of another shape would otherwise reach the wiring templates, which
 * write invalid Python or fail with a stack trace. One schema per part of a contribution, in one table
 * ({@link CONTRIBUTION_SCHEMA}); the compiler holds each schema to the field names and optionality of the
 * part's type, so the two cannot drift apart. docs/contributions.md describes the rules.
 *
 * Some fields name something the project must define once: a settings class (every one is a base of
 * `ForgeSettings`), a router module (imported from `<package>.routes`), a dependency's provider function and
 * its alias (both in `dependencies.py`). The check reports them, and {@link Contributions} refuses a name
 * contributed twice.
 */

import type {
  ComposeService,
  Contribution,
  DeploymentNeeds,
  Dependency,
  LifespanResource,
  Middleware,
  PyImport,
  Router,
  WiringModule,
} from './contributions.js';

/** What must have one definition in the project: the wiring modules define each name once. */
export type UniqueKind = 'settings class' | 'router module' | 'dependency';

/** A name of {@link UniqueKind} a contribution defines. */
export interface DefinedName {
  kind: UniqueKind;
  name: string;
}

/** Where a value sits in the contribution (`routers[0].order`) and the names the check has met so far. */
interface Visit {
  at: string;
  defines: DefinedName[];
}

interface Schema {
  /** What a value must be, as the one-line error says it: `a number`, `a list of routers`. */
  readonly wanted: string;
  readonly optional: boolean;
  /** The problem with `value`, in words that follow "contributes", or undefined when it has none. */
  problem(value: unknown, visit: Visit): string | undefined;
}

type Required = Schema & { readonly optional: false };
type Optional = Schema & { readonly optional: true };

/** A schema for each field of `T`: optional exactly where `T`'s field is. */
type Fields<T> = { [K in keyof T]-?: undefined extends T[K] ? Optional : Required };

const show = (value: unknown): string => {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function required(wanted: string, valid: (value: unknown) => boolean): Required {
  return {
    wanted,
    optional: false,
    problem: (value, { at }) => (valid(value) ? undefined : `${at} = ${show(value)}, which is not ${wanted}`),
  };
}

const optional = (schema: Required): Optional => ({ ...schema, optional: true });

const text = required('a string', (value) => typeof value === 'string');
const number = required('a number', (value) => typeof value === 'number' && Number.isFinite(value));
const flag = required('true or false', (value) => typeof value === 'boolean');

const oneOf = (...values: string[]): Required =>
  required(`one of ${values.join(', ')}`, (value) => values.includes(value as string));

const matching = (wanted: string, pattern: RegExp): Required =>
  required(wanted, (value) => typeof value === 'string' && pattern.test(value));

/** A Python identifier. */
const identifier = matching('a Python name', /^[A-Za-z_]\w*$/);

/** A dotted module path; `<package>` stands for the project's package. */
const moduleName = matching(
  'a Python module such as <package>.billing',
  /^(<package>|[A-Za-z_]\w*)(\.[A-Za-z_]\w*)*$/,
);

/** An imported name, or `name as alias`. */
const importedName = matching('a Python name, or "name as alias"', /^[A-Za-z_]\w*( as [A-Za-z_]\w*)?$/);

/** A value whose `name` must be the project's one definition of it, reported as `kind`. */
function defining(
  kind: UniqueKind,
  schema: Required,
  nameOf: (value: string) => string | undefined,
): Required {
  return {
    ...schema,
    problem(value, visit) {
      const problem = schema.problem(value, visit);
      if (problem !== undefined) return problem;
      const name = nameOf(value as string);
      if (name === undefined) return `${visit.at} = ${show(value)}, which is not ${schema.wanted}`;
      visit.defines.push({ kind, name });
      return undefined;
    },
  };
}

/**
 * `async def name(...)` (or `def`), after any decorators, or `name = ...` (a callable, such as
 * `FromState[Database]("database")`), after any comment lines: a dependency provider.
 */
const providerFunction = defining(
  'dependency',
  {
    ...text,
    wanted:
      'a function definition (async def name(...) -> Type: ...) or an assignment (name = FromState[Type]("name"))',
  },
  (code) =>
    /^(?:@.*\n)*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/.exec(code)?.[1] ??
    /^(?:#.*\n)*([A-Za-z_]\w*)\s*=(?!=)/.exec(code)?.[1],
);

/** `Name = Annotated[...]`: a dependency's alias. */
const aliasAssignment = defining(
  'dependency',
  { ...text, wanted: 'an assignment (Name = Annotated[Type, Depends(provider)])' },
  (code) => /^([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)/.exec(code)?.[1],
);

function listOf(item: Required, what: string): Required {
  const wanted = `a list of ${what}`;
  return {
    wanted,
    optional: false,
    problem(value, visit) {
      if (!Array.isArray(value)) return `${visit.at} = ${show(value)}, which is not ${wanted}`;
      for (const [index, element] of value.entries()) {
        const problem = item.problem(element, { ...visit, at: `${visit.at}[${index}]` });
        if (problem !== undefined) return problem;
      }
      return undefined;
    },
  };
}

/** An edit distance small enough to take one name for a misspelling of another. */
function closeTo(typed: string, known: string): boolean {
  const [a, b] = [typed.toLowerCase(), known.toLowerCase()];
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return (previous[b.length] ?? Infinity) <= Math.max(1, Math.floor(known.length / 4));
}

/** A key the schema does not know, with the known key it most likely misspells. */
function unknownKey(key: string, known: readonly string[], at: string, of: string): string {
  const guess = known.find((candidate) => closeTo(key, candidate));
  const hint = guess ? `did you mean ${guess}?` : `its keys are ${known.join(', ')}`;
  return `${at}, which is no part of ${of} (${hint})`;
}

/**
 * An object of the fields of `T`, each checked by its schema; a key the schema does not know is refused
 * (a misspelling would otherwise be ignored). `rules` check what no single field says.
 */
function shape<T>(
  what: string,
  fields: Fields<T>,
  rules: ((value: T) => string | undefined)[] = [],
): Required {
  const known = Object.keys(fields);
  const wanted = `${what} (an object of ${known.join(', ')})`;
  return {
    wanted,
    optional: false,
    problem(value, visit) {
      if (!isObject(value)) return `${visit.at} = ${show(value)}, which is not ${wanted}`;
      const within = (key: string): string => (visit.at === '' ? key : `${visit.at}.${key}`);
      for (const key of Object.keys(value)) {
        if (!known.includes(key)) return unknownKey(key, known, within(key), what);
      }
      for (const [key, schema] of Object.entries(fields) as [string, Schema][]) {
        const field = value[key];
        if (field === undefined) {
          if (schema.optional) continue;
          return `${visit.at === '' ? what : visit.at} without ${key} (${schema.wanted})`;
        }
        const problem = schema.problem(field, { ...visit, at: within(key) });
        if (problem !== undefined) return problem;
      }
      for (const rule of rules) {
        const problem = rule(value as T);
        if (problem !== undefined) return `${visit.at}, which ${problem}`;
      }
      return undefined;
    },
  };
}

/** An object whose keys are any of `keys` (all of them when not given), each value checked by `value`. */
function keyedBy(what: string, value: Required, keys?: readonly string[]): Required {
  const wanted = `${what} (an object${keys ? ` of ${keys.join(', ')}` : ''})`;
  return {
    wanted,
    optional: false,
    problem(given, visit) {
      if (!isObject(given)) return `${visit.at} = ${show(given)}, which is not ${wanted}`;
      for (const [key, item] of Object.entries(given)) {
        if (keys && !keys.includes(key)) return unknownKey(key, keys, `${visit.at}.${key}`, what);
        const problem = value.problem(item, { ...visit, at: `${visit.at}.${key}` });
        if (problem !== undefined) return problem;
      }
      return undefined;
    },
  };
}

const WIRING_MODULES: readonly WiringModule[] = [
  'lifespan',
  'dependencies',
  'settings',
  'routes',
  'middleware',
  'conftest',
  'logging',
];

const pyImport = shape<PyImport>('an import', {
  module: moduleName,
  names: optional(listOf(importedName, 'names')),
  section: optional(oneOf('stdlib', 'thirdParty', 'firstParty', 'tests')),
  wrap: optional(flag),
});
const imports = listOf(pyImport, 'imports');

const lifespanResource = shape<LifespanResource>('a lifespan resource', {
  order: number,
  stateOrder: optional(number),
  state: optional(
    listOf(
      shape<NonNullable<LifespanResource['state']>[number]>('a state field', {
        name: identifier,
        type: text,
      }),
      'state fields',
    ),
  ),
  setup: optional(text),
});

const router = shape<Router>(
  'a router',
  {
    order: number,
    module: optional(defining('router module', identifier, (name) => name)),
    include: optional(text),
    protectedRouter: optional(text),
    stage: optional(oneOf('public', 'protected', 'finally')),
    label: optional(text),
  },
  [
    // Without them the routes module would include an empty router expression.
    (item) => {
      const stage = item.stage ?? 'protected';
      if (item.include !== undefined || (stage === 'protected' && item.protectedRouter)) return undefined;
      return stage === 'protected'
        ? 'includes nothing: give protectedRouter (its router expression) or include (its statements)'
        : `includes nothing: a ${stage} router gives include (its statements)`;
    },
  ],
);

const dependency = shape<Dependency>(
  'a dependency',
  { order: number, provider: optional(providerFunction), alias: optional(aliasAssignment) },
  [(item) => (item.provider || item.alias ? undefined : 'defines nothing: give provider, alias or both')],
);

const middleware = shape<Middleware>('a middleware', { order: number, code: text, label: text });

const composeService = shape<ComposeService>('a compose service', {
  name: text,
  yaml: text,
  volume: optional(text),
  readme: text,
});

const deploymentNeeds = shape<DeploymentNeeds>('deployment needs', {
  requiredSecrets: optional(listOf(text, 'strings')),
  composeUrls: optional(keyedBy('compose URLs', text)),
  secretExamples: optional(
    listOf(
      shape<NonNullable<DeploymentNeeds['secretExamples']>[number]>('a secret example', {
        name: text,
        value: text,
      }),
      'secret examples',
    ),
  ),
  rootService: optional(flag),
  migrated: optional(flag),
  composeServices: optional(listOf(composeService, 'compose services')),
  redisStore: optional(flag),
});

type Item<K extends keyof Contribution> = NonNullable<Contribution[K]> extends (infer T)[] ? T : never;
type Deployed = Item<'deployed'>;

/** Every part of a contribution and its schema (lib/contributions.ts documents what each part does). */
export const CONTRIBUTION_SCHEMA: Fields<Contribution> = {
  imports: optional(keyedBy('imports', imports, WIRING_MODULES)),
  lifespan: optional(listOf(lifespanResource, 'lifespan resources')),
  settings: optional(
    listOf(
      shape<Item<'settings'>>('a settings class', {
        className: defining('settings class', identifier, (name) => name),
        module: moduleName,
        order: number,
        wrap: optional(flag),
      }),
      'settings classes',
    ),
  ),
  deployedChecks: optional(
    listOf(
      shape<Item<'deployedChecks'>>('a deployed check', { method: identifier, order: number }),
      'checks',
    ),
  ),
  routers: optional(listOf(router, 'routers')),
  protectedResponses: optional(
    listOf(
      shape<Item<'protectedResponses'>>('a protected response', { status: number, doc: text }),
      'responses',
    ),
  ),
  dependencies: optional(listOf(dependency, 'dependencies')),
  security: optional(
    shape<NonNullable<Contribution['security']>>('security', {
      protectedBy: text,
      protectedDoc: text,
      principal: text,
    }),
  ),
  middleware: optional(listOf(middleware, 'middleware')),
  quietPaths: optional(
    listOf(
      shape<Item<'quietPaths'>>('a quiet path', {
        expression: text,
        comment: text,
        imports: optional(imports),
      }),
      'quiet paths',
    ),
  ),
  deployed: optional(
    listOf(
      shape<Deployed>('deployed needs', {
        order: number,
        services: optional(
          listOf(
            shape<NonNullable<Deployed['services']>[number]>('a deployed service', {
              setting: text,
              value: text,
              env: optional(text),
              comment: optional(text),
            }),
            'services',
          ),
        ),
        secrets: optional(
          listOf(
            shape<NonNullable<Deployed['secrets']>[number]>('a deployed secret', { env: text, value: text }),
            'secrets',
          ),
        ),
        providerKey: optional(flag),
      }),
      'deployed needs',
    ),
  ),
  requiredInDevelopment: optional(
    listOf(
      shape<Item<'requiredInDevelopment'>>('a required setting', {
        env: text,
        what: text,
        testImport: pyImport,
        testSetting: text,
        testValue: text,
        productionComment: text,
      }),
      'required settings',
    ),
  ),
  logProcessors: optional(
    listOf(
      shape<Item<'logProcessors'>>('a log processor', { expression: text, comment: text }),
      'processors',
    ),
  ),
  coreSettingsFields: optional(listOf(text, 'strings')),
  redactionProbes: optional(
    listOf(
      shape<Item<'redactionProbes'>>('a redaction probe', {
        order: number,
        code: text,
        imports: optional(imports),
        unreachable: optional(text),
      }),
      'probes',
    ),
  ),
  readme: optional(
    listOf(
      shape<Item<'readme'>>('a README text', {
        slot: oneOf(
          'setup',
          'make-run',
          'make-data',
          'development-required',
          'development-defaults',
          'sections',
        ),
        order: number,
        text,
      }),
      'README texts',
    ),
  ),
  deployment: optional(listOf(deploymentNeeds, 'deployment needs')),
  ciServices: optional(
    listOf(
      shape<Item<'ciServices'>>('a CI service', {
        name: text,
        label: text,
        order: number,
        service: text,
        env: text,
      }),
      'CI services',
    ),
  ),
  credentials: optional(
    shape<NonNullable<Contribution['credentials']>>('what credentials carry', {
      scopes: optional(flag),
      expires: optional(flag),
    }),
  ),
  testPlugins: optional(
    listOf(
      shape<Item<'testPlugins'>>('a test plugin', { module: moduleName, comment: text, order: number }),
      'plugins',
    ),
  ),
  testSettings: optional(
    listOf(
      shape<Item<'testSettings'>>('a settings fixture', { fixture: identifier, order: number }),
      'fixtures',
    ),
  ),
  conftest: optional(
    listOf(
      shape<Item<'conftest'>>('a conftest part', {
        part: oneOf('settings', 'overrides'),
        code: text,
        order: number,
      }),
      'conftest parts',
    ),
  ),
};

const contribution = shape<Contribution>('a contribution', CONTRIBUTION_SCHEMA);

/**
 * Checks a contribution against {@link CONTRIBUTION_SCHEMA}: the first problem, in words that follow
 * "contributes" (`routers[0].order = "first", which is not a number`), or the names it defines.
 */
export function checkContribution(
  value: unknown,
): { problem: string; defines?: undefined } | { problem?: undefined; defines: DefinedName[] } {
  if (!isObject(value))
    return { problem: `${show(value)}, which is not an object of the parts of a contribution` };
  const visit: Visit = { at: '', defines: [] };
  const problem = contribution.problem(value, visit);
  return problem === undefined ? { defines: visit.defines } : { problem };
}

/**
 * Names the core's wiring modules define themselves, with what defines them: a contribution defining one
 * would define it twice.
 */
export const CORE_NAMES: readonly (DefinedName & { owner: string })[] = [
  { kind: 'settings class', name: 'ForgeSettings', owner: 'the settings package' },
  { kind: 'settings class', name: 'SharedSettings', owner: 'the settings package' },
  { kind: 'dependency', name: 'protected', owner: 'the dependencies module' },
  { kind: 'dependency', name: 'anonymous', owner: 'the dependencies module' },
  { kind: 'dependency', name: 'CurrentPrincipal', owner: 'the dependencies module' },
];
