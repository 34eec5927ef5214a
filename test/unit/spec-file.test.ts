import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { renderChange } from '../../lib/change-migrations.js';
import { type DesiredResource, type ResourceChange, planApply } from '../../lib/resource-changes.js';
import {
  type ResourceField,
  type ResourceSpec,
  parseField,
  validateStoredResources,
} from '../../lib/resources.js';
import type { ForgeConfig } from '../../lib/config.js';
import { ForgeUserError } from '../../lib/errors.js';
import { MAX_SPEC_BYTES, checkApply, exportSpec, readSpec, readSpecText } from '../../lib/spec-file.js';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { CLI, makeTempDir, readConfig, snapshotTree } from '../helpers.js';

const forge = (args: string[], cwd: string) => {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', input: '' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

const SPEC = `project:
  name: shop
  appType: microservice
  db: postgres
  auth: jwt
resources:
  Customer:
    fields:
      name: str:120
      nick: str:40?
      email: str!
  Order:
    belongsTo: Customer
    fields:
      total: decimal
`;

const WORKSPACE = `project:
  name: shop
  tier: 3
services:
  - orders
  - payments
`;

/** Nine aliases of nine of the one before, seven deep: 9^7 strings once expanded. */
const ALIAS_BOMB = [
  'a: &a [x, x, x, x, x, x, x, x, x]',
  ...'bcdefg'.split('').map((name, index) => {
    const before = 'abcdef'[index] ?? '';
    return `${name}: &${name} [${Array(9).fill(`*${before}`).join(', ')}]`;
  }),
  '',
].join('\n');

/** A script of the project as the revision reader sees it. */
const script = (revision: string, down: string) =>
  `revision: str = "${revision}"\ndown_revision: str | Sequence[str] | None = "${down}"\n`;
// The project's own revisions; these tests have no services.
const SCRIPTS = () => [script('0001', ''), script('0005', '0001'), script('0006', '0005')];

const stored = (): ResourceSpec[] => [
  {
    name: 'Customer',
    fields: ['name:str:120', 'nick:str:40?', 'email:str!'].map(parseField),
    revision: '0005',
    downRevision: '0001',
  },
  {
    name: 'Order',
    fields: ['total:decimal'].map(parseField),
    belongsTo: 'Customer',
    revision: '0006',
    downRevision: '0005',
  },
];

const desired = (edit: (resources: DesiredResource[]) => void = () => {}): DesiredResource[] => {
  const resources: DesiredResource[] = stored().map(({ name, fields, belongsTo }) => ({
    name,
    fields,
    ...(belongsTo ? { belongsTo } : {}),
    renames: {},
  }));
  edit(resources);
  return resources;
};

const customer = (resources: DesiredResource[]) => resources[0] as DesiredResource;

describe('the system spec: forge.yaml read and checked', () => {
  it('reads the project, its resources, their fields, defaults, renames and relations', () => {
    const spec = readSpec(
      `${SPEC}  Tag:\n    belongsTo: Customer?\n    fields:\n      label:\n        type: str:20\n        default: red\n        renamedFrom: name\n`,
      'forge.yaml',
    );
    expect(spec.project).to.deep.equal({
      name: 'shop',
      appType: 'microservice',
      db: 'postgres',
      auth: 'jwt',
    });
    expect(spec.resources.map((resource) => resource.name)).to.deep.equal(['Customer', 'Order', 'Tag']);
    expect(spec.resources[2]).to.deep.include({
      belongsTo: 'Customer',
      optionalParent: true,
      renames: { label: 'name' },
    });
    expect(spec.resources[2]?.fields[0]).to.include({
      name: 'label',
      type: 'str',
      length: 20,
      default: 'red',
    });
  });

  it('refuses a bad spec in one line naming the file, the line and the field', () => {
    const cases: [string, string, RegExp][] = [
      [
        SPEC.replace('total: decimal', 'total: money'),
        'unknown type',
        /^forge\.yaml:15: resources\.Order\.fields\.total: unknown type "money"/,
      ],
      [
        SPEC.replace('email: str!', 'class: str'),
        'a Python keyword',
        /^forge\.yaml:11: resources\.Customer\.fields\.class: .*Python keyword/,
      ],
      [
        SPEC.replace('email: str!', 'select: int'),
        'an SQL keyword',
        /^forge\.yaml:11: resources\.Customer\.fields\.select: .*SQL keyword/,
      ],
      [
        SPEC.replace('belongsTo: Customer', 'belongsTo: Client'),
        'an unknown relation',
        /^forge\.yaml:13: resources\.Order\.belongsTo: no resource Client in the spec/,
      ],
      [
        SPEC.replace('      email: str!\n', '      email: str!\n      name: text\n'),
        'a repeated field',
        /^forge\.yaml:12: not valid YAML: Map keys must be unique/,
      ],
      [
        `${SPEC}  customer:\n    fields:\n      a: int\n`,
        'the same resource twice',
        /^forge\.yaml:16: resources\.customer: write the resource name as Customer/,
      ],
      [
        `${SPEC}  Client:\n    fields:\n      a: int\n  CLIENT:\n    fields:\n      b: int\n`,
        'a name spelt twice',
        /^forge\.yaml:19: resources\.CLIENT: write the resource name as Client/,
      ],
      [
        SPEC.replace('  Order:', '  Import:'),
        'a resource named after a Python keyword',
        /^forge\.yaml:12: resources\.Import: .*Python keyword/,
      ],
      [
        SPEC.replace('auth: jwt', 'auth: ldap'),
        'an unknown option value',
        /^forge\.yaml:5: project\.auth: invalid value "ldap"/,
      ],
      [
        SPEC.replace('      total: decimal', '      total: {type: decimal, default: lots}'),
        'a default of the wrong type',
        /^forge\.yaml:15: resources\.Order\.fields\.total\.default: the default of a decimal field is a number/,
      ],
      [
        SPEC.replace('  Customer:\n', '  Customer:\n    belongsTo: Order\n'),
        'relations in a cycle',
        /^forge\.yaml:8: resources\.Customer\.belongsTo: the relations of Customer, Order form a cycle/,
      ],
      [
        SPEC.replace('    belongsTo: Customer', '    owner: Customer'),
        'an unknown key',
        /^forge\.yaml:13: resources\.Order\.owner: unknown key/,
      ],
      [
        SPEC.replace('  Order:', '  Order: [').replace('total: decimal', 'total: decimal'),
        'malformed YAML',
        /^forge\.yaml:\d+: not valid YAML: /,
      ],
      [
        SPEC.replace('email: str!', 'json: json?'),
        'a field shadowing a method of BaseModel',
        /^forge\.yaml:11: resources\.Customer\.fields\.json: the name "json" would shadow an attribute of Pydantic's BaseModel/,
      ],
      [
        SPEC.replace('email: str!', 'model_version: int'),
        "a field in Pydantic's namespace",
        /^forge\.yaml:11: resources\.Customer\.fields\.model_version: .*Pydantic's BaseModel/,
      ],
      [
        WORKSPACE.replace('  - payments', '  - orders'),
        'a service listed twice',
        /^forge\.yaml:6: services\.1: orders is listed twice$/,
      ],
      [
        WORKSPACE.replace('  - payments', '  - Pay-Ments'),
        'an invalid service name',
        /^forge\.yaml:6: services\.1: invalid service name "Pay-Ments": use lowercase letters/,
      ],
      [
        WORKSPACE.replace('  - payments', '  - json'),
        'a service shadowing a Python module',
        /^forge\.yaml:6: services\.1: service name "json" gives the Python package "json", which would shadow a module/,
      ],
      [
        WORKSPACE.replace('  - payments', '  - shop_libs'),
        "a service named after one of the project's packages",
        /^forge\.yaml:6: services\.1: invalid service name "shop_libs"/,
      ],
      [
        'project:\n  name: shop\n  db: postgres\nresources:\n  Tag:\n    service: orders\n    fields:\n      label: str\n',
        'a service in a tier-1 project',
        /^forge\.yaml:6: resources\.Tag\.service: a tier-1 project has no services: leave service out$/,
      ],
      [
        `${WORKSPACE}resources:\n  Customer:\n    fields:\n      name: str\n`,
        'a workspace resource without its service',
        /^forge\.yaml:8: resources\.Customer: a resource of a workspace names its service, e\.g\. service: orders$/,
      ],
      [
        `${WORKSPACE}resources:\n  Customer:\n    service: billing\n    fields:\n      name: str\n`,
        'an unknown service',
        /^forge\.yaml:9: resources\.Customer\.service: no service billing in the spec \(its services: orders, payments\)$/,
      ],
      [
        `${WORKSPACE}resources:\n  Customer:\n    service: orders\n    fields:\n      name: str\n  Payment:\n    service: payments\n    belongsTo: Customer\n    fields:\n      total: decimal\n`,
        'a relation across services',
        /^forge\.yaml:14: resources\.Payment\.belongsTo: Customer is in another service: relations are within one service$/,
      ],
      [
        SPEC.replace('total: decimal', 'total: decimal\n    adopted: yes'),
        'adopted not true',
        /^forge\.yaml:16: resources\.Order\.adopted: true, for a resource made from a table of an existing database/,
      ],
      [
        SPEC.replace('email: str!', 'changes: str'),
        "a field shadowing a member of the Update schemas' base",
        /^forge\.yaml:11: resources\.Customer\.fields\.changes: the name "changes" would shadow what the generated classes use/,
      ],
      [
        SPEC.replace('email: str!', 'datetime: datetime'),
        'a field shadowing a type of the annotations',
        /^forge\.yaml:11: resources\.Customer\.fields\.datetime: the name "datetime" would shadow/,
      ],
      [
        SPEC.replace('  Order:', '  Doc:'),
        "a resource serving the project's documentation path",
        /^forge\.yaml:12: resources\.Doc: resource name "Doc" would serve \/docs, which the project serves/,
      ],
      [
        SPEC.replace('  Order:', '  Migration:'),
        "a resource whose tests are the project's",
        /^forge\.yaml:12: resources\.Migration: .*would write tests\/test_migrations\.py/,
      ],
      [
        `${WORKSPACE}resources:\n  Event:\n    service: orders\n    fields:\n      name: str\n`,
        "a resource taking a tier-3 service's events",
        /^forge\.yaml:8: resources\.Event: resource name "Event" would write tests\/test_events\.py, which the service's own code has/,
      ],
      [
        `${WORKSPACE}resources:\n  ItemView:\n    service: orders\n    fields:\n      name: str\n`,
        "a resource taking a service's table",
        /^forge\.yaml:8: resources\.ItemView: resource name "ItemView" is taken by the service's own code/,
      ],
      [
        `${ALIAS_BOMB}${WORKSPACE}`,
        'an alias bomb',
        /^forge\.yaml: its aliases \(\*name\) expand too far; write the values out$/,
      ],
    ];
    for (const [text, what, reason] of cases) {
      expect(() => readSpec(text, 'forge.yaml'), what).to.throw(reason);
      try {
        readSpec(text, 'forge.yaml');
      } catch (error) {
        expect(String((error as Error).message).includes('\n'), what).to.equal(false);
      }
    }
  });
});

describe('a spec file read: one line for what is not a spec, read no further than the limit', () => {
  const refused = (file: string, reason: RegExp) => {
    expect(() => readSpecText(file), file).to.throw(reason);
    try {
      readSpecText(file);
    } catch (error) {
      expect((error as Error).name).to.equal('ForgeUserError');
    }
  };

  it('reads UTF-8 up to 1 MiB, and refuses a missing file, a directory, other encodings and more', () => {
    const dir = makeTempDir('spec-read');
    const at = (name: string, content: string | Buffer) => {
      writeFileSync(path.join(dir, name), content);
      return path.join(dir, name);
    };
    const text = `# café\n${SPEC}`;
    expect(readSpecText(at('forge.yaml', text))).to.equal(text);
    expect(readSpecText(at('limit.yaml', '#'.repeat(MAX_SPEC_BYTES)))).to.have.length(MAX_SPEC_BYTES);

    refused(path.join(dir, 'none.yaml'), /none\.yaml: no such file$/);
    refused(dir, /: a directory, not a spec file$/);
    refused(
      at('latin1.yaml', Buffer.from('project:\n  name: caf\xe9\n', 'latin1')),
      /latin1\.yaml: not UTF-8 text$/,
    );
    refused(at('large.yaml', '#'.repeat(MAX_SPEC_BYTES + 1)), /large\.yaml: larger than 1 MiB/);
    // An endless source ends at the limit.
    refused('/dev/zero', /^\/dev\/zero: larger than 1 MiB, too large for a spec$/);
  });

  it('reads the service of each resource of a workspace, the default services when it lists none', () => {
    const text = `${WORKSPACE}resources:\n  Customer:\n    service: payments\n    fields:\n      name: str\n`;
    expect(readSpec(text, 'forge.yaml').resources[0]).to.deep.include({
      name: 'Customer',
      service: 'payments',
    });
    const defaults =
      'project:\n  name: shop\n  tier: 2\nresources:\n  Stock:\n    service: inventory\n    fields:\n      qty: int\n';
    expect(readSpec(defaults, 'forge.yaml').resources[0]).to.deep.include({ service: 'inventory' });
  });

  it('expands a few aliases', () => {
    const shared = SPEC.replace('name: str:120', 'name: &short str:120').replace(
      'nick: str:40?',
      'nick: *short',
    );
    const [first] = readSpec(shared, 'forge.yaml').resources;
    expect(first?.fields.map((field) => [field.name, field.length])).to.deep.equal([
      ['name', 120],
      ['nick', 120],
      ['email', 255],
    ]);
  });
});

describe('apply: changes to resources as new revisions chained after the last', () => {
  it('plans nothing for the resources as they are', () => {
    const plan = planApply(
      { resources: stored(), migrations: ['resource:customers', 'resource:orders'] },
      desired(),
      SCRIPTS,
    );
    expect(plan).to.deep.include({ added: [], changed: [], resourceChanges: [] });
    expect(plan.resources).to.deep.equal(stored());
  });

  it('adds, renames, alters and relates in one revision per resource, after the head', () => {
    const plan = planApply(
      { resources: stored(), migrations: ['resource:customers', 'resource:orders'] },
      desired((resources) => {
        const c = customer(resources);
        c.fields = [
          parseField('name:str:200'),
          parseField('nickname:str:40?'),
          parseField('email:str!'),
          { ...parseField('tier:str:20'), default: 'basic' },
        ];
        c.renames = { nickname: 'nick' };
        resources.push({ name: 'Tag', fields: [parseField('label:str')], renames: {} });
        resources.push({ name: 'Note2', fields: [parseField('body:text')], belongsTo: 'Tag', renames: {} });
      }),
      SCRIPTS,
    );
    expect(plan.added).to.deep.equal(['Tag', 'Note2']);
    expect(plan.changed).to.deep.equal(['Customer']);
    expect(plan.resources.map((r) => [r.name, r.revision, r.downRevision])).to.deep.equal([
      ['Customer', '0005', '0001'],
      ['Order', '0006', '0005'],
      ['Tag', '0007', '0006'],
      ['Note2', '0008', '0007'],
    ]);
    expect(plan.migrations).to.deep.equal([
      'resource:customers',
      'resource:orders',
      'resource:tags',
      'resource:note2s',
      'change:0009',
    ]);
    const [change] = plan.resourceChanges;
    expect(change).to.deep.include({ resource: 'Customer', revision: '0009', downRevision: '0008' });
    expect(change?.ops.map((op) => op.kind)).to.deep.equal(['rename', 'alter', 'add']);
    // Its first migration is rendered from the shape it had when created.
    expect(plan.resources[0]?.created?.fields.map((f) => f.name)).to.deep.equal(['name', 'nick', 'email']);

    const migration = renderChange(change as NonNullable<typeof change>);
    expect(migration.summary).to.equal('nick renamed to nickname, name changed, tier added');
    const upgrade = migration.upgrade.join('\n');
    expect(upgrade).to.include('new_column_name="nickname"');
    expect(upgrade).to.include('type_=sa.String(length=200)');
    // The new required field: added empty, filled with its default, then made required.
    expect(upgrade).to.match(
      /add_column\(sa\.Column\("tier", sa\.String\(length=20\), nullable=True\)\)\n.*\n {4}op\.execute\(rows\.update\(\)\.where\(rows\.c\.tier\.is_\(None\)\)\.values\(tier="basic"\)\)\n {4}with op\.batch_alter_table\("customers"\) as batch:\n {8}batch\.alter_column\("tier", existing_type=sa\.String\(length=20\), nullable=False\)/,
    );
    expect(migration.downgrade.join('\n')).to.include('new_column_name="nick"');
  });

  it('renames a unique field with its constraint, and a relation added is optional', () => {
    const plan = planApply(
      { resources: stored() },
      desired((resources) => {
        const c = customer(resources);
        c.fields = [parseField('name:str:120'), parseField('nick:str:40?'), parseField('mail:str!')];
        c.renames = { mail: 'email' };
        const tag: DesiredResource = { name: 'Tag', fields: [parseField('label:str')], renames: {} };
        resources.splice(0, 0, tag);
      }),
      SCRIPTS,
    );
    const upgrade = renderChange(plan.resourceChanges[0] as never).upgrade.join('\n');
    expect(upgrade).to.include('batch.drop_constraint(op.f("uq_customers_owner_email"), type_="unique")');
    expect(upgrade).to.include(
      'batch.create_unique_constraint(op.f("uq_customers_owner_mail"), ["owner", "mail"])',
    );

    const related = (optional: boolean) =>
      planApply(
        { resources: stored() },
        desired((resources) => {
          resources.push({ name: 'Tag', fields: [parseField('label:str')], renames: {} });
          Object.assign(customer(resources), { belongsTo: 'Tag', optionalParent: optional });
        }),
        SCRIPTS,
      );
    expect(() => related(false)).to.throw(
      /a relation added to a resource is optional, write belongsTo: Tag\?/,
    );
    const plan2 = related(true);
    expect(plan2.resourceChanges[0]?.ops).to.deep.equal([{ kind: 'relate', parent: 'Tag' }]);
    // .yo-rc.json then holds a resource that belongs to one stored after it: it reads back.
    expect(() =>
      validateStoredResources(plan2.resources, plan2.migrations, '.yo-rc.json', plan2.resourceChanges),
    ).to.not.throw();
  });

  it('refuses what would lose or invent data: a required field without a default, a rename of nothing, a removed resource', () => {
    const withField = (field: string) =>
      desired((resources) => {
        customer(resources).fields.push(parseField(field));
      });
    expect(() => planApply({ resources: stored() }, withField('tier:str'), SCRIPTS)).to.throw(
      /a required field added to Customer, whose table may hold rows, needs a default/,
    );
    expect(
      planApply({ resources: stored() }, withField('tier:str?'), SCRIPTS).resourceChanges,
    ).to.have.length(1);
    expect(() =>
      planApply(
        { resources: stored() },
        desired((resources) => {
          customer(resources).renames = { nickname: 'nom' };
        }),
        SCRIPTS,
      ),
    ).to.throw(/Customer has no field "nom" to rename to "nickname"/);
    // Never onto a field that keeps data of its own, swaps included, and one field into one field only.
    const renaming = (renames: Record<string, string>) =>
      planApply(
        { resources: stored() },
        desired((resources) => {
          customer(resources).renames = renames;
        }),
        SCRIPTS,
      );
    expect(() => renaming({ name: 'nick' })).to.throw(/Customer already has a field "name": rename "nick"/);
    expect(() => renaming({ name: 'nick', nick: 'name' })).to.throw(/already has a field/);
    expect(() =>
      planApply(
        { resources: stored() },
        desired((resources) => {
          const { fields } = customer(resources);
          customer(resources).fields = [
            ...fields.filter((field) => field.name !== 'nick'),
            ...['alias:str:40?', 'handle:str:40?'].map(parseField),
          ];
          customer(resources).renames = { alias: 'nick', handle: 'nick' };
        }),
        SCRIPTS,
      ),
    ).to.throw(/"nick" is renamed to two fields/);
    expect(() =>
      planApply(
        { resources: stored() },
        desired((resources) => resources.pop()),
        SCRIPTS,
      ),
    ).to.throw(/resource Order is in the project but not in the spec/);
    // A field made required needs a value for the rows without one.
    expect(() =>
      planApply(
        { resources: stored() },
        desired((resources) => {
          customer(resources).fields[1] = parseField('nick:str:40');
        }),
        SCRIPTS,
      ),
    ).to.throw(/Customer\.nick becomes required: give a default/);
  });

  it('refuses one default for the rows of a unique field, and an enum value rows may hold', () => {
    const withDefault = (text: string, value: string) => ({ ...parseField(text), default: value });
    const change = (edit: (fields: ResourceField[]) => void) =>
      planApply(
        { resources: stored() },
        desired((resources) => edit(customer(resources).fields)),
        SCRIPTS,
      );
    expect(() => change((fields) => fields.push(withDefault('code:str:20!', 'none')))).to.throw(
      /^a unique field added to Customer cannot take one default for the rows that have no value \(they would share it\): add it optional \(code: str:20\?!\) without a default/,
    );
    // Made required from optional: the empty rows would all take it.
    expect(() => change((fields) => (fields[1] = withDefault('nick:str:40!', 'x')))).to.throw(
      /a unique field of Customer made required cannot take one default/,
    );
    // Optional, or without the constraint, the default is fine.
    expect(change((fields) => fields.push(parseField('code:str:20?!'))).resourceChanges).to.have.length(1);
    expect(
      change((fields) => fields.push(withDefault('code:str:20', 'none'))).resourceChanges,
    ).to.have.length(1);

    const withStatus = (values: string) =>
      planApply(
        {
          resources: stored().map((r) =>
            r.name === 'Order'
              ? { ...r, fields: [...r.fields, parseField('status:enum(new,paid,void)')] }
              : r,
          ),
        },
        desired((resources) => {
          (resources[1] as DesiredResource).fields = [
            parseField('total:decimal'),
            parseField(`status:enum(${values})`),
          ];
        }),
        SCRIPTS,
      );
    expect(() => withStatus('new,paid')).to.throw(
      /^rows of Order may hold "void", which status no longer allows: keep the value, or move those rows to another value first/,
    );
    expect(withStatus('new,paid,void,shipped').changed).to.deep.equal(['Order']);
  });

  it('renames a field and changes its type in one revision: the rename is a batch of its own', () => {
    const plan = planApply(
      { resources: stored() },
      desired((resources) => {
        const c = customer(resources);
        c.fields = [parseField('full_name:text'), parseField('nick:str:40?'), parseField('mail:str:200!')];
        c.renames = { full_name: 'name', mail: 'email' };
      }),
      SCRIPTS,
    );
    const upgrade = renderChange(plan.resourceChanges[0] as never).upgrade.join('\n');
    const blocks = upgrade.split('    with op.batch_alter_table("customers") as batch:\n').slice(1);
    // Each rename alone (SQLite's batch knows the column by its old name until the batch ends); the
    // unique constraint on the new name, and the type changes, after.
    expect(
      blocks.map((block) =>
        [...block.matchAll(/batch\.(\w+)\(\s*(?:op\.f\()?"(\w+)"/g)].map((m) => `${m[1]} ${m[2]}`),
      ),
    ).to.deep.equal([
      ['alter_column name'],
      ['drop_constraint uq_customers_owner_email', 'alter_column email'],
      ['create_unique_constraint uq_customers_owner_mail', 'alter_column full_name'],
      // After the check of its rows (255 characters to 200), a statement of its own.
      ['alter_column mail'],
    ]);
    expect(upgrade).to.include(
      'refuse_rows(\n        "customers.mail",\n        "are longer than 200 characters",',
    );
    expect(upgrade).to.include('postgresql_using="full_name::TEXT"');
  });

  it('refuses a type change PostgreSQL cannot make, naming the field and both types', () => {
    // What `ALTER ... TYPE ... USING column::TYPE` refuses on an empty table (PostgreSQL 16), and the
    // changes that would lose the time of a datetime or give an enum values it does not have.
    const refused = [
      'int:datetime int:date int:uuid int:json decimal:bool decimal:datetime decimal:date decimal:uuid',
      'decimal:json bool:decimal bool:datetime bool:date bool:uuid bool:json datetime:int datetime:decimal',
      'datetime:bool datetime:uuid datetime:json date:int date:decimal date:bool date:uuid date:json',
      'uuid:int uuid:decimal uuid:bool uuid:datetime uuid:date uuid:json json:datetime json:date json:uuid',
      'datetime:date json:int json:decimal json:bool int:enum(a,b) uuid:enum(a,b) json:enum(a,b)',
    ]
      .join(' ')
      .split(' ');
    const changing = (from: string, to: string) =>
      planApply(
        {
          resources: stored().map((r) =>
            r.name === 'Order' ? { ...r, fields: [parseField(`total:${from}`)] } : r,
          ),
        },
        desired((resources) => {
          (resources[1] as DesiredResource).fields = [parseField(`total:${to}`)];
        }),
        SCRIPTS,
      );
    for (const pair of refused) {
      const [from = '', to = ''] = pair.split(/:(.*)/);
      const shown = to.replace(/\(.*/, '');
      expect(() => changing(from, to), pair).to.throw(
        new RegExp(
          `^Order\\.total cannot change from ${from} to ${shown}: PostgreSQL cannot convert its values; add a new field of type ${shown}, fill it, then remove total$`,
        ),
      );
    }
    for (const pair of [
      'int:decimal',
      'decimal:int',
      'str:int',
      'text:uuid',
      'date:datetime',
      'bool:int',
      'uuid:str',
      'json:text',
      'str:enum(a,b)',
    ]) {
      const [from = '', to = ''] = pair.split(/:(.*)/);
      expect(changing(from, to).changed, pair).to.deep.equal(['Order']);
    }
  });

  it('checks the rows first when only some can take a change: shorter strings, decimal to int, unique', () => {
    const plan = planApply(
      {
        resources: stored().map((r) =>
          r.name === 'Order'
            ? { ...r, fields: ['total:decimal', 'code:str:200', 'tag:str:20', 'wide:str:3'].map(parseField) }
            : r,
        ),
      },
      desired((resources) => {
        (resources[1] as DesiredResource).fields = [
          'total:int',
          'code:str:3',
          'tag:str:20!',
          'wide:str:50',
        ].map(parseField);
      }),
      SCRIPTS,
    );
    const migration = renderChange(plan.resourceChanges[0] as ResourceChange);
    expect(migration.checks).to.equal(true);
    const checks = (lines: string[]) =>
      lines
        .join('\n')
        .match(/refuse_rows\((?:\s*"[^"]*",?)*\s*\)/g)
        // As one line, however long.
        ?.map((call) => call.replace(/\s+/g, ' ').replace('( ', '(').replace(/, \)$/, ')'));
    expect(checks(migration.upgrade)).to.deep.equal([
      'refuse_rows("orders.total", "have a fractional part, which an int would round", "SELECT count(*) FROM orders", "WHERE total <> round(total)")',
      'refuse_rows("orders.code", "are longer than 3 characters", "SELECT count(*) FROM orders", "WHERE length(CAST(code AS TEXT)) > 3")',
      'refuse_rows("orders.tag", "share their value with another of their owner\'s", "SELECT count(*) FROM orders WHERE (owner, tag) IN (", "SELECT owner, tag FROM orders", "GROUP BY owner, tag HAVING count(*) > 1)")',
    ]);
    // Back down: the widened string is narrowed again.
    expect(checks(migration.downgrade)).to.deep.equal([
      'refuse_rows("orders.wide", "are longer than 3 characters", "SELECT count(*) FROM orders", "WHERE length(CAST(wide AS TEXT)) > 3")',
    ]);
    // Each check before the change it guards.
    const upgrade = migration.upgrade.join('\n');
    expect(upgrade.indexOf('"orders.code"')).to.be.lessThan(
      upgrade.indexOf('batch.alter_column(\n            "code"'),
    );
    const plain = planApply({ resources: stored() }, desired(), SCRIPTS);
    expect(plain.resourceChanges).to.deep.equal([]);
  });

  it('records a change the table does not see without a revision', () => {
    const plan = planApply(
      { resources: stored() },
      desired((resources) => {
        customer(resources).fields[0] = { ...parseField('name:str:120'), default: 'anonymous' };
      }),
      SCRIPTS,
    );
    expect(plan.changed).to.deep.equal(['Customer']);
    expect(plan.resourceChanges).to.deep.equal([]);
  });
});

describe('new --spec, apply and export through the CLI', function () {
  this.timeout(120_000);

  it('generates from a spec, refuses a bad one writing nothing, applies a change, and exports what apply keeps', () => {
    const parent = makeTempDir('spec-cli');
    writeFileSync(path.join(parent, 'forge.yaml'), SPEC);
    const made = forge(['new', '--spec', 'forge.yaml', '--yes', '--skip-install'], parent);
    expect(made.status, made.stderr).to.equal(0);
    const dir = path.join(parent, 'shop');
    expect(readConfig(dir).migrations).to.deep.equal(['users', 'resource:customers', 'resource:orders']);
    // The spec goes with the project, as written: `apply` there finds it.
    expect(readFileSync(path.join(dir, 'forge.yaml'), 'utf8')).to.equal(SPEC);
    const unchanged = snapshotTree(dir);
    expect(forge(['apply', '--yes', '--skip-install'], dir).stdout).to.include(
      'The project matches the spec.',
    );
    expect(snapshotTree(dir)).to.deep.equal(unchanged);

    const before = snapshotTree(dir);
    writeFileSync(path.join(parent, 'bad.yaml'), SPEC.replace('belongsTo: Customer', 'belongsTo: Client'));
    const bad = forge(['apply', '--spec', '../bad.yaml', '--yes', '--skip-install'], dir);
    expect(bad.status).to.equal(2);
    expect(bad.stderr.trim()).to.match(
      /^fastapi-forge: \.\.\/bad\.yaml:13: resources\.Order\.belongsTo: no resource Client/,
    );
    const noDefault = SPEC.replace('      total: decimal\n', '      total: decimal\n      qty: int\n');
    writeFileSync(path.join(parent, 'bad.yaml'), noDefault);
    const required = forge(['apply', '--spec', '../bad.yaml', '--yes', '--skip-install'], dir);
    expect(required.status).to.equal(2);
    expect(required.stderr).to.match(
      /bad\.yaml:16: resources\.Order\.fields\.qty: a required field added to Order/,
    );
    expect(snapshotTree(dir)).to.deep.equal(before);

    writeFileSync(
      path.join(parent, 'forge.yaml'),
      SPEC.replace('      total: decimal\n', '      total: decimal\n      qty: {type: int, default: 1}\n'),
    );
    const applied = forge(['apply', '--spec', '../forge.yaml', '--yes', '--skip-install'], dir);
    expect(applied.status, applied.stderr).to.equal(0);
    expect(applied.stdout).to.include('Applied: Order changed.');
    const migration = readFileSync(
      path.join(dir, 'src/shop/migrations/versions/0007_orders_changes.py'),
      'utf8',
    );
    expect(migration).to.include('down_revision: str | Sequence[str] | None = "0006"');
    expect(readConfig(dir).migrations).to.deep.equal([
      'users',
      'resource:customers',
      'resource:orders',
      'change:0007',
    ]);

    const exported = forge(['export', '--output', '-'], dir);
    expect(exported.stdout).to.include('      qty:\n        type: int\n        default: 1\n');
    writeFileSync(path.join(dir, 'forge.yaml'), exported.stdout);
    const after = snapshotTree(dir);
    const again = forge(['apply', '--yes', '--skip-install'], dir);
    expect(again.stdout).to.include('The project matches the spec.');
    expect(snapshotTree(dir)).to.deep.equal(after);
    expect(forge(['export'], dir).status).to.equal(0);
    expect(readFileSync(path.join(dir, 'forge.yaml'), 'utf8')).to.equal(exported.stdout);
  });

  it('merges a change into the files the user edited, three ways; a conflict fails the run until resolved', () => {
    const parent = makeTempDir('spec-edited');
    writeFileSync(path.join(parent, 'forge.yaml'), SPEC);
    expect(forge(['new', '--spec', 'forge.yaml', '--yes', '--skip-install'], parent).status).to.equal(0);
    const dir = path.join(parent, 'shop');
    const changed = SPEC.replace('      total: decimal\n', '      total: decimal\n      note: text?\n');
    const models = path.join(dir, 'src/shop/models/order.py');
    const edit = (file: string) =>
      writeFileSync(file, `# Orders of the shop.\n${readFileSync(file, 'utf8')}`);
    // With the project in git, the rendering the user edited is found there: their line and the field.
    const git = (...args: string[]) =>
      spawnSync('git', ['-c', 'user.email=dev@example.com', '-c', 'user.name=dev', ...args], { cwd: dir });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'generated');
    edit(models);
    writeFileSync(path.join(dir, 'forge.yaml'), changed);
    const merged = forge(['apply', '--yes', '--skip-install'], dir);
    expect(merged.status, merged.stderr).to.equal(0);
    expect(merged.stdout).to.include('Applied: Order changed.');
    const text = readFileSync(models, 'utf8');
    expect(text.startsWith('# Orders of the shop.\n')).to.equal(true);
    expect(text).to.match(/^ {4}note: str \| None = Field\(/m);
    expect(text).to.not.include('<<<<<<<');
    const after = snapshotTree(dir);
    expect(forge(['apply', '--yes', '--skip-install'], dir).stdout).to.include(
      'The project matches the spec.',
    );
    expect(snapshotTree(dir)).to.deep.equal(after);

    // Without the rendering it was edited from, both versions are left to choose from, and the run fails,
    // this one and the next, naming the file.
    rmSync(path.join(dir, '.git'), { recursive: true });
    rmSync(path.join(dir, '.forge/base'), { recursive: true, force: true });
    const routes = path.join(dir, 'src/shop/routes/orders.py');
    edit(routes);
    writeFileSync(
      path.join(dir, 'forge.yaml'),
      changed.replace('      note: text?\n', '      note: text?\n      paid: bool?\n'),
    );
    for (const run of [1, 2]) {
      const conflicted = forge(['apply', '--yes', '--skip-install'], dir);
      expect(conflicted.status, `run ${run}`).to.equal(1);
      expect(conflicted.stderr).to.match(
        /^fastapi-forge: the change conflicts with your edits in \d+ file\(s\), marked with <<<<<<< and >>>>>>>: .*src\/shop\/routes\/orders\.py.*; resolve them, then run apply again$/m,
      );
      expect(conflicted.stdout).to.not.include('The project matches the spec.');
    }
    expect(readFileSync(routes, 'utf8')).to.match(/^<<<<<<< yours \(src\/shop\/routes\/orders\.py\)$/m);
  });

  it('refuses a spec that is no spec, and an export to a missing directory, in one line, writing nothing', () => {
    const parent = makeTempDir('spec-refused');
    const bad: Record<string, string | Buffer> = {
      'latin1.yaml': Buffer.from(SPEC.replace('name: shop', 'name: sh\xf6p'), 'latin1'),
      'bomb.yaml': `${ALIAS_BOMB}${WORKSPACE}`,
      'twice.yaml': WORKSPACE.replace('  - payments', '  - orders'),
      'shadow.yaml': SPEC.replace('email: str!', 'schema: str'),
    };
    for (const [file, content] of Object.entries(bad)) writeFileSync(path.join(parent, file), content);
    const before = snapshotTree(parent);
    for (const file of [...Object.keys(bad), '/dev/zero']) {
      const refused = forge(['new', '--spec', file, '--yes', '--skip-install'], parent);
      expect(refused.status, file).to.equal(2);
      expect(refused.stderr.trim().split('\n'), file).to.have.length(1);
      expect(refused.stderr, file).to.match(/^fastapi-forge: \S+: /);
    }
    expect(snapshotTree(parent)).to.deep.equal(before);

    writeFileSync(path.join(parent, 'forge.yaml'), SPEC);
    expect(forge(['new', '--spec', 'forge.yaml', '--yes', '--skip-install'], parent).status).to.equal(0);
    const dir = path.join(parent, 'shop');
    const made = snapshotTree(dir);
    const missing = forge(['export', '--output', 'nowhere/forge.yaml'], dir);
    expect(missing.status).to.equal(2);
    expect(missing.stderr).to.equal(
      'fastapi-forge: nowhere/forge.yaml: no directory nowhere to write it in\n',
    );
    const directory = forge(['export', '--output', 'src'], dir);
    expect(directory.status).to.equal(2);
    expect(directory.stderr).to.equal(
      'fastapi-forge: src: a directory; --output names the spec file to write\n',
    );
    expect(snapshotTree(dir)).to.deep.equal(made);
  });
});

describe('plugins in the system spec', function () {
  this.timeout(120_000);

  const LEAN = `project:
  name: greeter
  appType: microservice
  db: none
  auth: none
`;
  // A plugin check that knows only greeting and audit-log, as one over node_modules would.
  const installed = (name: string): void => {
    if (!['greeting', 'audit-log'].includes(name)) {
      throw new ForgeUserError(
        `no plugin package generator-fastapi-forge-${name} is installed in /somewhere`,
      );
    }
  };

  it('are read in their order, checked, and refused in one line naming the file, the line and the field', () => {
    const spec = readSpec(`${LEAN}plugins:\n  - greeting\n  - audit-log\n`, 'forge.yaml', installed);
    expect(spec.plugins).to.deep.equal(['greeting', 'audit-log']);
    expect(readSpec(LEAN, 'forge.yaml', installed).plugins).to.deep.equal([]);
    const cases: [string, RegExp][] = [
      ['plugins: greeting\n', /^forge\.yaml:6: plugins: plugins is a list of plugin names/],
      ['plugins:\n  - Greeting\n', /^forge\.yaml:7: plugins\.0: a plugin name: lowercase words/],
      ['plugins:\n  - greeting\n  - 12\n', /^forge\.yaml:8: plugins\.1: a plugin name/],
      ['plugins:\n  - greeting\n  - greeting\n', /^forge\.yaml:8: plugins\.1: greeting is listed twice$/],
      [
        'plugins:\n  - greeting\n  - nosuch\n',
        /^forge\.yaml:8: plugins\.1: no plugin package generator-fastapi-forge-nosuch is installed in \/somewhere$/,
      ],
    ];
    for (const [tail, message] of cases) {
      expect(() => readSpec(`${LEAN}${tail}`, 'forge.yaml', installed), tail).to.throw(message);
    }
  });

  it('are exported from .yo-rc.json, and `apply` keeps them: a spec with other plugins is refused', () => {
    const config = {
      projectName: 'greeter',
      description: 'A greeter',
      appType: 'microservice',
      tier: 1,
      db: 'none',
      auth: 'none',
      agentSdk: 'anthropic',
      deploy: 'compose',
      observability: false,
      services: [],
      plugins: ['greeting', 'audit-log'],
    } as unknown as ForgeConfig;
    const text = exportSpec(config);
    expect(text).to.match(/\nplugins:\n {2}- greeting\n {2}- audit-log\n$/);
    expect(readSpec(text, 'forge.yaml', installed).plugins).to.deep.equal(['greeting', 'audit-log']);
    expect(checkApply(text, 'forge.yaml', config, () => [], installed).plan.added).to.deep.equal([]);
    // A project without plugins exports no key for them, as before plugins existed.
    expect(exportSpec({ ...config, plugins: undefined } as ForgeConfig)).to.not.include('plugins');
    expect(() =>
      checkApply(text.replace('  - audit-log\n', ''), 'forge.yaml', config, () => [], installed),
    ).to.throw(
      /^forge\.yaml:\d+: plugins: the project's plugins are \[greeting, audit-log\]; add one with `fastapi-forge add <plugin>`$/,
    );
  });

  it('go through `new --spec`, `export` and `apply`; an uninstalled one writes nothing', () => {
    // The fixture plugin next to this package, as `npm install -g` of both would place them.
    const root = makeTempDir('spec-plugins');
    const modules = path.join(root, 'node_modules');
    mkdirSync(modules);
    symlinkSync(PACKAGE_ROOT, path.join(modules, 'generator-fastapi-forge'));
    const plugin = path.join(modules, 'generator-fastapi-forge-greeting');
    cpSync(path.join(PACKAGE_ROOT, 'test', 'fixtures', 'generator-fastapi-forge-greeting'), plugin, {
      recursive: true,
    });
    const parent = path.join(root, 'work');
    mkdirSync(parent);
    writeFileSync(path.join(parent, 'forge.yaml'), `${LEAN}plugins:\n  - greeting\n`);

    const made = forge(['new', '--spec', 'forge.yaml', '--yes', '--skip-install'], parent);
    expect(made.status, made.stderr).to.equal(0);
    const dir = path.join(parent, 'greeter');
    expect(readConfig(dir).plugins).to.deep.equal(['greeting']);
    expect(existsSync(path.join(dir, 'src/greeter/routes/greeting.py'))).to.equal(true);
    expect(readFileSync(path.join(dir, 'src/greeter/routes/__init__.py'), 'utf8')).to.include(
      'greeting.router',
    );
    const exported = forge(['export', '--output', '-'], dir);
    expect(exported.stdout).to.match(/\nplugins:\n {2}- greeting\n$/);
    writeFileSync(path.join(dir, 'forge.yaml'), exported.stdout);
    const unchanged = snapshotTree(dir);
    expect(forge(['apply', '--yes', '--skip-install'], dir).stdout).to.include(
      'The project matches the spec.',
    );
    expect(snapshotTree(dir)).to.deep.equal(unchanged);

    renameSync(plugin, `${plugin}.away`);
    const gone = forge(['apply', '--yes', '--skip-install'], dir);
    expect(gone.status).to.equal(2);
    expect(gone.stderr.trim().split('\n'), gone.stderr).to.have.length(1);
    expect(gone.stderr).to.match(
      /^fastapi-forge: forge\.yaml:\d+: plugins\.0: no plugin package generator-fastapi-forge-greeting is installed in /,
    );
    expect(snapshotTree(dir)).to.deep.equal(unchanged);
    const other = path.join(root, 'other');
    mkdirSync(other);
    writeFileSync(path.join(other, 'forge.yaml'), `${LEAN}plugins:\n  - greeting\n`);
    const refused = forge(['new', '--spec', 'forge.yaml', '--yes', '--skip-install'], other);
    expect(refused.status).to.equal(2);
    expect(refused.stderr.trim().split('\n'), refused.stderr).to.have.length(1);
    expect(refused.stderr).to.match(/^fastapi-forge: forge\.yaml:7: plugins\.0: no plugin package/);
    expect(snapshotTree(other)).to.deep.equal({ 'forge.yaml': snapshotTree(other)['forge.yaml'] });
  });
});
