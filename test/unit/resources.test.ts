import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  buildResourceSpec,
  fieldText,
  nextRevision,
  parseField,
  parseResourceName,
  pluralize,
  readRevision,
  refuseServiceClash,
  validateStoredResources,
} from '../../lib/resources.js';
import {
  type CatalogTable,
  asyncpgUrl,
  fieldType,
  mapTables,
  masked,
} from '../../generators/resource/from-database.js';
import { resourceView } from '../../lib/resource-views.js';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { CLI, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';

const forge = (args: string[], cwd: string) => {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', input: '' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

const NO_REVISION = { revision: '', downRevision: '' };

/** An Alembic script reduced to the lines the revision reader looks at. */
const script = (revision: string, down: string | null) =>
  `revision: str = "${revision}"\ndown_revision: str | Sequence[str] | None = ${down === null ? 'None' : `"${down}"`}\n`;

describe('resources: the --field and resource-name syntax', () => {
  it('reads every field type, with a length, enum values, and the optional and unique marks', () => {
    expect(parseField('title:str')).to.deep.equal({
      name: 'title',
      type: 'str',
      length: 255,
      optional: false,
      unique: false,
    });
    expect(parseField('code:str:12!')).to.include({ type: 'str', length: 12, unique: true, optional: false });
    expect(parseField('status:enum(new, paid,shipped)?')).to.deep.equal({
      name: 'status',
      type: 'enum',
      values: ['new', 'paid', 'shipped'],
      optional: true,
      unique: false,
    });
    for (const type of ['text', 'int', 'decimal', 'bool', 'datetime', 'date', 'uuid', 'json']) {
      expect(parseField(`f:${type}?`)).to.deep.include({ type, optional: true });
    }
    expect(parseField('sku:str:40?!')).to.include({ optional: true, unique: true });
  });

  it('spells a field back as --field takes it', () => {
    for (const text of ['a:str:255', 'b:enum(x,y)?!', 'c:json?', 'd:int!']) {
      expect(fieldText(parseField(text))).to.equal(text);
    }
  });

  it('refuses bad names, keywords, unknown types and broken marks with a one-line reason', () => {
    const cases: [string, RegExp][] = [
      ['Title:str', /field name is lowercase/],
      ['9lives:int', /field name is lowercase/],
      ['class:str', /Python keyword/],
      ['select:int', /SQL keyword/],
      ['order:int', /SQL keyword/],
      ['id:uuid', /taken by every resource/],
      ['owner:str', /taken by every resource/],
      ['sort:str', /taken by every resource/],
      ['model_name:str', /shadow an attribute of Pydantic's BaseModel/],
      ['json:json', /shadow an attribute of Pydantic's BaseModel/],
      ['schema:str', /shadow an attribute of Pydantic's BaseModel/],
      ['validate:bool', /shadow an attribute of Pydantic's BaseModel/],
      ['copy:text', /shadow an attribute of Pydantic's BaseModel/],
      ['dict:json', /shadow an attribute of Pydantic's BaseModel/],
      ['price:money', /unknown type "money"/],
      ['price:float', /unknown type "float"/],
      ['title:str:0', /length is 1 to 10000/],
      ['status:enum(new)', /two or more values/],
      ['status:enum(new,new)', /repeated/],
      ['status:enum(New,old)', /lowercase/],
      ['status:enum(new,class)', /Python keyword/],
      ['title', /write name:type/],
      ['title:str??', /repeated \? or !/],
      ['payload:json!', /cannot be unique/],
    ];
    for (const [text, reason] of cases) {
      expect(() => parseField(text), text).to.throw(reason);
      try {
        parseField(text);
      } catch (error) {
        expect((error as Error).name).to.equal('ForgeUserError');
        expect((error as Error).message).to.not.include('\n');
      }
    }
  });

  it('refuses a field name that shadows what the generated classes use: the members of their base, and their types', () => {
    // PartialUpdate, the base of every Update schema, as the template writes it: its methods and attributes.
    const template = readFileSync(
      path.join(PACKAGE_ROOT, 'templates/resource/shared/src/_package_/models/resource_schemas.py.ejs'),
      'utf8',
    );
    const body = template.slice(template.indexOf('class PartialUpdate(')).split(/\n(?=\S)/)[0] ?? '';
    const members = [...body.matchAll(/^ {4}(?:def (\w+)\(|(\w+)\s*[:=])/gm)]
      .map((match) => match[1] ?? match[2] ?? '')
      .filter((name) => !name.startsWith('_'));
    expect(members).to.include.members(['model_config', 'not_null', 'refuse_null', 'changes']);
    // The annotations of the schemas and the row class: `total: Decimal` after a field `decimal`...
    const types = ['str', 'int', 'float', 'bool', 'dict', 'list', 'decimal', 'datetime', 'date', 'uuid'];
    for (const name of [...members, ...types, 'mapped_column', 'relationship']) {
      expect(() => parseField(`${name}:str`), name).to.throw(
        new RegExp(`^--field "${name}:str": the name "${name}" would shadow `),
      );
    }
    expect(parseField('changed:bool').name).to.equal('changed');
  });

  it('refuses a resource whose modules, tests or routes the project has already', () => {
    const cases: [string, RegExp][] = [
      ['Doc', /^resource name "Doc" would serve \/docs, which the project serves; choose another$/],
      [
        'Migration',
        /^resource name "Migration" would write tests\/test_migrations\.py, which the project has/,
      ],
      ['ApiDoc', /would write tests\/test_api_docs\.py/],
    ];
    for (const [name, reason] of cases) expect(() => parseResourceName(name), name).to.throw(reason);
    // In a service, its own: the example items' tests, the events it receives, the views of tier 3.
    const inService: [string, RegExp][] = [
      ['Item', /^resource name "Item" would write tests\/test_items\.py, which the service's own code has/],
      ['Event', /would write tests\/test_events\.py/],
      ['View', /would serve \/views, which the service's own code serves/],
    ];
    for (const [name, reason] of inService) expect(() => refuseServiceClash(name), name).to.throw(reason);
    // At tier 1 the project has none of those.
    for (const name of ['Order', 'OrderItem', 'Client', 'Job', 'Payment', 'Item', 'Event']) {
      expect(parseResourceName(name)).to.equal(name);
    }
    refuseServiceClash('Order');
  });

  it('takes resource names in either case and refuses keywords and names the project uses', () => {
    expect(parseResourceName('Order')).to.equal('Order');
    expect(parseResourceName('order_item')).to.equal('OrderItem');
    expect(parseResourceName('OrderItem')).to.equal('OrderItem');
    expect(() => parseResourceName('class')).to.throw(/Python keyword/);
    expect(() => parseResourceName('User')).to.throw(/taken by the project/);
    expect(() => parseResourceName('Note')).to.throw(/taken by the project/);
    expect(() => parseResourceName('my-order')).to.throw(/letters, digits/);
    expect(() => parseResourceName(undefined)).to.throw(/resource name is required/);
    expect(() => parseResourceName('A'.repeat(25))).to.throw(/longer than 24/);
    // Modules of every resource, names the resources' modules import, and the files they share.
    expect(() => parseResourceName('CustomerRow')).to.throw(/modules of every resource end in/);
    expect(() => parseResourceName('BillingService')).to.throw(/modules of every resource end in/);
    for (const name of [
      'ColumnTypes',
      'ResourceSchemas',
      'Field',
      'Query',
      'Literal',
      'Depends',
      'BaseModel',
    ]) {
      expect(() => parseResourceName(name), name).to.throw(/taken by the project/);
    }
  });

  it('names tables in the plural', () => {
    expect(['category', 'box', 'order_item', 'day', 'address'].map(pluralize)).to.deep.equal([
      'categories',
      'boxes',
      'order_items',
      'days',
      'addresses',
    ]);
  });
});

describe('resources: a resource spec against the project', () => {
  const customer = buildResourceSpec('Customer', ['name:str'], undefined, [], {
    revision: '0005',
    downRevision: '0002',
  });

  it('refuses repeated fields, missing fields and relations to resources that do not exist', () => {
    expect(() => buildResourceSpec('Order', ['a:int', 'a:str'], undefined, [], NO_REVISION)).to.throw(
      /field "a" is repeated/,
    );
    expect(() => buildResourceSpec('Order', [], undefined, [], NO_REVISION)).to.throw(/at least one --field/);
    expect(() => buildResourceSpec('Order', ['a:int'], 'supplier', [customer], NO_REVISION)).to.throw(
      /--belongs-to supplier: no such resource in this project \(its resources: Customer\)/,
    );
    expect(() =>
      buildResourceSpec('Order', ['customer_id:uuid'], 'customer', [customer], NO_REVISION),
    ).to.throw(/taken by its parent Customer/);
    expect(() => buildResourceSpec('Customer', ['a:int'], 'customer', [customer], NO_REVISION)).to.throw(
      /cannot belong to itself/,
    );
    const category = buildResourceSpec('Category', ['a:int'], undefined, [], NO_REVISION);
    expect(() => buildResourceSpec('Categorie', ['a:int'], undefined, [category], NO_REVISION)).to.throw(
      /resource Categorie: its table categories is that of Category/,
    );
  });

  it('refuses a constraint name longer than PostgreSQL keeps', () => {
    const parent = buildResourceSpec('AbcdefghijAbcdefghijAb', ['a:int'], undefined, [], NO_REVISION);
    expect(() =>
      buildResourceSpec('BcdefghijAbcdefghijAbc', ['a:int'], parent.name, [parent], NO_REVISION),
    ).to.throw(/fk_bcdefghij_abcdefghij_abcs_abcdefghij_abcdefghij_ab_id_\w+ is longer than PostgreSQL's 63/);
  });

  it('relates a child to its parent both ways', () => {
    const order = buildResourceSpec('Order', ['total:decimal'], 'Customer', [customer], NO_REVISION);
    const all = [customer, order];
    expect(resourceView(order, all).parent).to.include({
      column: 'customer_id',
      table: 'customers',
      foreignKey: 'fk_orders_customer_id_customers',
    });
    expect(resourceView(customer, all).children.map((child) => child.table)).to.deep.equal(['orders']);
  });
});

describe('resources: where a new migration goes', () => {
  it('follows the single head, numbered after every numbered revision and the features', () => {
    expect(nextRevision([script('0001', null), script('0002', '0001')])).to.deep.equal({
      revision: '0005',
      downRevision: '0002',
    });
    expect(
      nextRevision([script('0001', null), script('0005', '0001'), script('0006', '0005')]),
    ).to.deep.equal({
      revision: '0007',
      downRevision: '0006',
    });
  });

  it("chains after the user's own revision when that is the head", () => {
    const scripts = [script('0001', null), script('0005', '0001'), script('a1b2c3d4e5f6', '0005')];
    expect(nextRevision(scripts)).to.deep.equal({ revision: '0006', downRevision: 'a1b2c3d4e5f6' });
  });

  it('reads a revision written without annotations, as older Alembic templates and people write them', () => {
    const plain = [
      "'''Add an index.'''",
      "revision = 'b2c3d4e5f6a7'",
      "down_revision = '0005'",
      'branch_labels = None',
      '',
    ].join('\n');
    const scripts = [script('0001', null), script('0005', '0001'), plain];
    expect(nextRevision(scripts)).to.deep.equal({ revision: '0006', downRevision: 'b2c3d4e5f6a7' });
    const merged = 'revision="c3"\ndown_revision = ("0005", "b2c3d4e5f6a7")\n';
    expect(readRevision(merged)).to.deep.equal({ revision: 'c3', parents: ['0005', 'b2c3d4e5f6a7'] });
  });

  it('refuses to pick one of several heads', () => {
    const scripts = [script('0001', null), script('0002', '0001'), script('abc', '0001')];
    expect(() => nextRevision(scripts)).to.throw(/2 heads \(0002, abc\); merge them first/);
  });
});

describe('add resource from the CLI', function () {
  this.timeout(120_000);

  const project = (flags: string[]): string => {
    const cwd = makeTempDir('resources');
    const created = forge(
      ['new', 'shop', '--yes', '--skip-install', '--app-type', 'microservice', ...flags],
      cwd,
    );
    expect(created.status, created.stderr).to.equal(0);
    return path.join(cwd, 'shop');
  };

  it('refuses bad input in one line with a non-zero exit and writes nothing', () => {
    const dir = project(['--db', 'postgres', '--auth', 'none']);
    const before = snapshotTree(dir);
    const bad: [string[], RegExp][] = [
      [['Order', '--field', 'total:money'], /unknown type "money"/],
      [['Order', '--field', 'a:int', '--field', 'a:str'], /field "a" is repeated/],
      [['Order', '--field', 'from:int'], /Python keyword/],
      [['Order', '--field', 'a:int', '--belongs-to', 'customer'], /no such resource/],
      [['class', '--field', 'a:int'], /Python keyword/],
      [['Order'], /at least one --field/],
    ];
    for (const [args, reason] of bad) {
      const result = forge(['add', 'resource', ...args, '--yes', '--skip-install'], dir);
      expect(result.status, args.join(' ')).to.equal(2);
      expect(result.stderr.trim().split('\n'), result.stderr).to.have.length(1);
      expect(result.stderr).to.match(reason);
    }
    expect(snapshotTree(dir)).to.deep.equal(before);
  });

  it('needs the SQL database', () => {
    const dir = project(['--db', 'none', '--auth', 'none']);
    const before = snapshotTree(dir);
    const result = forge(['add', 'resource', 'Order', '--field', 'a:int', '--yes', '--skip-install'], dir);
    expect(result.status).to.equal(2);
    expect(result.stderr).to.match(
      /a resource needs the SQL database: add it first with `fastapi-forge add db/,
    );
    expect(snapshotTree(dir)).to.deep.equal(before);
  });

  it('sends a change of a resource it has to the spec, and changes nothing when run again with the same fields', () => {
    const dir = project(['--db', 'postgres', '--auth', 'none']);
    const add = (fields: string[]) =>
      forge(
        ['add', 'resource', 'Order', ...fields.flatMap((f) => ['--field', f]), '--yes', '--skip-install'],
        dir,
      );
    expect(add(['total:decimal', 'status:enum(new,paid)']).status).to.equal(0);
    const before = snapshotTree(dir);
    expect(add(['total:decimal', 'status:enum(new,paid)']).status).to.equal(0);
    expect(snapshotTree(dir)).to.deep.equal(before);
    const changed = add(['total:decimal']);
    expect(changed.status).to.equal(2);
    expect(changed.stderr).to.match(
      /exists with other fields or relations; change it in the system spec: `fastapi-forge export`, edit forge.yaml, then `fastapi-forge apply`/,
    );
    expect(snapshotTree(dir)).to.deep.equal(before);
  });

  it('documents its options in --help and in list', () => {
    const cwd = makeTempDir('resources-help');
    const help = forge(['add', 'resource', '--help'], cwd);
    expect(help.status).to.equal(0);
    expect(help.stdout).to.include('--field <name:type>');
    expect(help.stdout).to.include('--belongs-to <resource>');
    expect(forge(['list'], cwd).stdout).to.match(/^resource\s+A resource in the SQL database/m);
  });
});

describe('the resource generator run by Yeoman (`yo fastapi-forge:resource`)', function () {
  this.timeout(120_000);

  it('takes one --field or several as yo passes them, and chains each migration after the last', async () => {
    const app = await runForge('app', { appType: 'microservice', db: 'postgres', auth: 'none' })
      .cd(makeTempDir('resources-yo'))
      .withArguments(['shop']);
    await runForge('resource', { field: 'name:str:80' }).cd(app.cwd).withArguments(['Customer']);
    const order = await runForge('resource', {
      field: ['total:decimal', 'status:enum(new,paid)'],
      'belongs-to': 'customer',
    })
      .cd(app.cwd)
      .withArguments(['Order']);
    order.assertFile([
      'src/shop/migrations/versions/0005_customers.py',
      'src/shop/migrations/versions/0006_orders.py',
      'src/shop/routes/orders.py',
      'tests/test_orders.py',
    ]);
    order.assertFileContent(
      'src/shop/migrations/versions/0006_orders.py',
      'down_revision: str | Sequence[str] | None = "0005"',
    );
    order.assertFileContent(
      'src/shop/routes/__init__.py',
      /app.include_router\(\s+orders.router_by_customer,/,
    );
    const config = readConfig(app.cwd);
    expect(config.migrations).to.deep.equal(['resource:customers', 'resource:orders']);
    expect(
      (config.resources as { name: string; belongsTo?: string }[]).map((r) => [r.name, r.belongsTo]),
    ).to.deep.equal([
      ['Customer', undefined],
      ['Order', 'Customer'],
    ]);
  });

  it('lets a feature added later follow the resources: its migration after theirs, their tests with it', async () => {
    const app = await runForge('app', { appType: 'microservice', db: 'postgres', auth: 'none' })
      .cd(makeTempDir('resources-chain'))
      .withArguments(['shop']);
    await runForge('resource', { field: 'name:str' }).cd(app.cwd).withArguments(['Item']);
    const scripts = () =>
      Object.entries(snapshotTree(app.cwd)).filter(([file]) => file.includes('/migrations/versions/'));
    const before = scripts();
    const auth = await runForge('auth', { auth: 'jwt' }).cd(app.cwd);
    auth.assertFileContent(
      'src/shop/migrations/versions/0005_items.py',
      'down_revision: str | Sequence[str] | None = "0001"',
    );
    auth.assertFileContent(
      'src/shop/migrations/versions/0002_users.py',
      'down_revision: str | Sequence[str] | None = "0005"',
    );
    expect(readConfig(app.cwd).migrations).to.deep.equal(['resource:items', 'users']);
    // The resource's tests follow the authentication: with it, a second caller is refused.
    auth.assertFileContent(
      'tests/test_items.py',
      'async def test_another_caller_can_neither_see_nor_change_it(',
    );
    // Agents' jobs then chain after the users; no revision written before is rendered differently.
    await runForge('agents', { 'agent-sdk': 'openai' }).cd(app.cwd);
    const after = Object.fromEntries(scripts());
    for (const [file, text] of before) expect(after[file], file).to.equal(text);
    expect(readConfig(app.cwd).migrations).to.deep.equal([
      'resource:items',
      'users',
      'agent_jobs',
      'agent_job_owners',
    ]);
  });
});

/** A table as the catalog reader reports it: a UUID id and the given columns, nothing else unless given. */
const catalogTable = (
  name: string,
  columns: [string, string, boolean?][],
  rest: Partial<CatalogTable> = {},
): CatalogTable => ({
  name,
  columns: [['id', 'UUID', false] as [string, string, boolean?], ...columns].map(
    ([column, type, nullable]) => ({
      name: column,
      type,
      nullable: nullable ?? false,
      default: null,
      identity: false,
    }),
  ),
  primaryKey: { name: `${name}_pkey`, columns: ['id'] },
  uniques: [],
  foreignKeys: [],
  indexes: [],
  checks: [],
  ...rest,
});
/** The table with its column `name` filled from a sequence, as `serial` does. */
const sequenced = (table: CatalogTable, name: string): CatalogTable => ({
  ...table,
  columns: table.columns.map((column) =>
    column.name === name ? { ...column, default: `nextval('${table.name}_${name}_seq'::regclass)` } : column,
  ),
});
const ADOPTION = { owner: 'ops', baseline: '0005', baselineDown: '0001' };
/** The table keyed by an integer `id` of this type, numbered as `options` says. */
const keyedBy = (
  table: CatalogTable,
  type: string,
  options: Partial<CatalogTable['columns'][number]> = {},
): CatalogTable => ({
  ...table,
  columns: table.columns.map((column) => (column.name === 'id' ? { ...column, type, ...options } : column)),
});
/** A foreign key of `column` to `parent`'s id, as the catalog reads it. */
const referring = (column: string, parent: string): Pick<CatalogTable, 'foreignKeys'> => ({
  foreignKeys: [
    { name: null, columns: [column], table: parent, schema: null, referred: ['id'], ondelete: null },
  ],
});

describe('resources from an existing database: types, tables and refusals', () => {
  it('maps each PostgreSQL type a field has, and names why the others have none', () => {
    const mapped: [string, string][] = [
      ['VARCHAR(120)', 'str:120'],
      ['TEXT', 'text'],
      ['INTEGER', 'int'],
      ['NUMERIC(18, 2)', 'decimal'],
      ['BOOLEAN', 'bool'],
      ['TIMESTAMP WITH TIME ZONE', 'datetime'],
      ['DATE', 'date'],
      ['UUID', 'uuid'],
      ['JSONB', 'json'],
    ];
    for (const [sql, type] of mapped) expect(fieldType(sql), sql).to.deep.equal({ type });
    const refused: [string, RegExp][] = [
      ['VARCHAR', /without a maximum length/],
      ['BIGINT', /32-bit integers/],
      ['NUMERIC(10, 4)', /NUMERIC\(18, 2\)/],
      ['TIMESTAMP WITHOUT TIME ZONE', /time zone/],
      ['JSON', /JSONB/],
      ['INTERVAL', /the type INTERVAL has no field type/],
    ];
    for (const [sql, reason] of refused) {
      const result = fieldType(sql);
      expect(result, sql).to.have.property('reason').that.matches(reason);
    }
  });

  it('makes a resource of each table that maps, parents first, numbered after the baseline', () => {
    const orders = catalogTable(
      'orders',
      [
        ['customer_id', 'UUID', true],
        ['total', 'NUMERIC(18, 2)'],
        ['note', 'TEXT', true],
      ],
      {
        foreignKeys: [
          {
            name: 'orders_customer_id_fkey',
            columns: ['customer_id'],
            table: 'customers',
            schema: null,
            referred: ['id'],
            ondelete: 'CASCADE',
          },
        ],
        indexes: [{ name: 'orders_customer_idx', columns: ['customer_id'] }],
      },
    );
    const customers = catalogTable(
      'customers',
      [
        ['email', 'VARCHAR(255)'],
        ['created_at', 'TIMESTAMP WITH TIME ZONE'],
      ],
      { uniques: [{ name: 'customers_email_key', columns: ['email'] }] },
    );
    const { mapped, skipped } = mapTables([orders, customers], [], ADOPTION);
    expect(skipped).to.deep.equal([]);
    expect(
      mapped.map(({ table, spec }) => [table, spec.name, spec.revision, spec.downRevision]),
    ).to.deep.equal([
      ['customers', 'Customer', '0006', '0005'],
      ['orders', 'Order', '0007', '0006'],
    ]);
    const [customer, order] = mapped.map((entry) => entry.spec);
    expect(customer?.fields.map(fieldText)).to.deep.equal(['email:str:255!']);
    expect(customer?.adopted.timestamps).to.deep.equal([{ name: 'created_at', nullable: false }]);
    expect(customer?.adopted.uniques).to.deep.equal([{ name: 'customers_email_key', column: 'email' }]);
    expect(order?.fields.map(fieldText)).to.deep.equal(['total:decimal', 'note:text?']);
    expect(order).to.include({ belongsTo: 'Customer', optionalParent: true });
    expect(order?.adopted).to.deep.include({
      owner: 'ops',
      baseline: '0005',
      baselineDown: '0001',
      parentIndex: 'orders_customer_idx',
      foreignKey: {
        name: 'orders_customer_id_fkey',
        column: 'customer_id',
        table: 'customers',
        ondelete: 'CASCADE',
      },
    });
    expect(order?.adopted.columns.map((column) => column.type)).to.deep.equal([
      'sa.Uuid()',
      'sa.Uuid()',
      'sa.Numeric(precision=18, scale=2)',
      'sa.Text()',
    ]);
  });

  it('skips each table that cannot be a resource, with the reason, and the children of those', () => {
    const tables: [CatalogTable, RegExp][] = [
      [
        catalogTable('line_items', [['n', 'INTEGER']], {
          primaryKey: { name: 'line_items_pkey', columns: ['id', 'n'] },
        }),
        /primary key is composite \(id, n\)/,
      ],
      [
        catalogTable('events', [['payload', 'JSONB']], {
          primaryKey: { name: 'events_pkey', columns: ['event_id'] },
        }),
        /not a column named id of type UUID, INTEGER or BIGINT/,
      ],
      [catalogTable('people', [['name', 'TEXT']]), /not the plural of a resource name/],
      [catalogTable('visits', [['at', 'TIMESTAMP WITHOUT TIME ZONE']]), /column at: .*time zone/],
      [catalogTable('imports', [['name', 'TEXT']]), /Python keyword/],
      [catalogTable('tags', [['owner', 'TEXT']]), /column owner: .*taken by every resource/],
      [catalogTable('notes', [['title', 'TEXT']]), /taken by the project's own code/],
      [
        catalogTable('labels', [['name', 'TEXT']], { checks: [{ name: 'labels_name_check' }] }),
        /CHECK constraint/,
      ],
      [
        catalogTable('boxes', [['size', 'INTEGER']], {
          indexes: [{ name: 'boxes_size_idx', columns: ['size'] }],
        }),
        /index boxes_size_idx/,
      ],
      [
        catalogTable(
          'pairs',
          [
            ['a', 'TEXT'],
            ['b', 'TEXT'],
          ],
          { uniques: [{ name: 'pairs_a_b_key', columns: ['a', 'b'] }] },
        ),
        /spans several columns/,
      ],
      [
        catalogTable('flags', [['on_off', 'BOOLEAN']], {
          uniques: [{ name: 'flags_on_off_key', columns: ['on_off'] }],
        }),
        /bool field cannot be unique/,
      ],
      [catalogTable('stamps', [['created_at', 'DATE']]), /created_at is DATE/],
      [catalogTable('blanks', []), /no column besides its keys/],
      [sequenced(catalogTable('counters', [['n', 'INTEGER']]), 'n'), /takes numbers from a sequence/],
    ];
    const { mapped, skipped } = mapTables(
      tables.map(([table]) => table),
      [],
      ADOPTION,
    );
    expect(mapped).to.deep.equal([]);
    for (const [table, reason] of tables) {
      const entry = skipped.find((candidate) => candidate.table === table.name);
      expect(entry?.reason, table.name).to.match(reason);
    }
    // A child of a table that cannot map cannot either; nor can one the project has already.
    const child = catalogTable(
      'replies',
      [
        ['body', 'TEXT'],
        ['person_id', 'UUID'],
      ],
      {
        foreignKeys: [
          {
            name: null,
            columns: ['person_id'],
            table: 'people',
            schema: null,
            referred: ['id'],
            ondelete: null,
          },
        ],
      },
    );
    const orphan = mapTables([catalogTable('people', [['name', 'TEXT']]), child], [], ADOPTION);
    expect(orphan.skipped.map((entry) => entry.table)).to.include('replies');
    const existing = buildResourceSpec('Order', ['total:decimal'], undefined, [], NO_REVISION);
    const again = mapTables([catalogTable('orders', [['total', 'NUMERIC(18, 2)']])], [existing], ADOPTION);
    expect(again.skipped).to.deep.equal([
      { table: 'orders', reason: 'the project has a resource Order already' },
    ]);
    // A later run: a child of a table the project has adopted already belongs to that resource.
    const items = catalogTable(
      'items',
      [
        ['order_id', 'UUID'],
        ['sku', 'VARCHAR(40)'],
      ],
      {
        foreignKeys: [
          {
            name: null,
            columns: ['order_id'],
            table: 'orders',
            schema: null,
            referred: ['id'],
            ondelete: null,
          },
        ],
      },
    );
    const later = mapTables(
      [catalogTable('orders', [['total', 'NUMERIC(18, 2)']]), items],
      [existing],
      ADOPTION,
    );
    expect(later.mapped.map(({ spec }) => [spec.name, spec.belongsTo, spec.revision])).to.deep.equal([
      ['Item', 'Order', '0006'],
    ]);
  });

  it('keeps an integer key as the table numbers it (serial, identity or not at all); a child refers to it with the same type', () => {
    const authors = sequenced(keyedBy(catalogTable('authors', [['name', 'VARCHAR(120)']]), 'INTEGER'), 'id');
    const books = keyedBy(
      catalogTable(
        'books',
        [
          ['author_id', 'INTEGER'],
          ['title', 'TEXT'],
        ],
        referring('author_id', 'authors'),
      ),
      'BIGINT',
      { identity: true },
    );
    const racks = keyedBy(catalogTable('racks', [['label', 'VARCHAR(40)']]), 'INTEGER');
    const tags = keyedBy(catalogTable('tags', [['name', 'TEXT']]), 'INTEGER', {
      identity: true,
      identityAlways: true,
    });
    // Refused: a child whose column is not of its parent's key type, keys of other types or defaults.
    const chapters = catalogTable(
      'chapters',
      [
        ['book_id', 'INTEGER'],
        ['title', 'TEXT'],
      ],
      referring('book_id', 'books'),
    );
    const shorts = keyedBy(catalogTable('shorts', [['n', 'TEXT']]), 'SMALLINT');
    const zeros = keyedBy(catalogTable('zeros', [['n', 'TEXT']]), 'INTEGER', { default: '0' });
    const { mapped, skipped } = mapTables(
      [authors, books, racks, tags, chapters, shorts, zeros],
      [],
      ADOPTION,
    );
    expect(skipped).to.deep.equal([
      {
        table: 'shorts',
        reason:
          'its primary key is not a column named id of type UUID, INTEGER or BIGINT (serial, bigserial and identity columns are)',
      },
      { table: 'zeros', reason: 'its key id takes the default 0, not numbers from a sequence' },
      {
        table: 'chapters',
        reason: 'its foreign key column book_id is INTEGER, and the id of books is BIGINT',
      },
    ]);
    const adopted = Object.fromEntries(mapped.map(({ table, spec }) => [table, spec]));
    expect(adopted.authors?.adopted.key).to.deep.equal({ type: 'int', generated: 'sequence' });
    expect(adopted.books?.adopted.key).to.deep.equal({ type: 'bigint', generated: 'identity' });
    expect(adopted.racks?.adopted.key).to.deep.equal({ type: 'int', generated: 'none' });
    expect(adopted.tags?.adopted.key).to.deep.equal({ type: 'int', generated: 'identity', always: true });
    expect(adopted.books).to.include({ belongsTo: 'Author' });
    // The baseline makes a serial's sequence by the key's type: the catalog's nextval default is not kept.
    expect(adopted.authors?.adopted.columns[0]).to.deep.equal({
      name: 'id',
      type: 'sa.Integer()',
      nullable: false,
    });
    expect(adopted.books?.adopted.columns.slice(0, 2).map((column) => column.type)).to.deep.equal([
      'sa.BigInteger().with_variant(sa.Integer(), "sqlite")',
      'sa.Integer()',
    ]);
    // The views type the key, and the child's column of it, as the table does.
    const specs = mapped.map(({ spec }) => spec);
    const book = resourceView(adopted.books as (typeof specs)[number], specs);
    expect([book.key.pyType, book.key.type, book.parent?.key.pyType, book.parent?.key.type]).to.deep.equal([
      'int',
      'bigint',
      'int',
      'int',
    ]);
    // A later run: a child of a resource adopted with an integer key maps with a column of that type.
    const later = mapTables(
      [
        keyedBy(
          catalogTable(
            'pages',
            [
              ['book_id', 'BIGINT'],
              ['n', 'INTEGER'],
            ],
            referring('book_id', 'books'),
          ),
          'INTEGER',
        ),
      ],
      specs,
      ADOPTION,
    );
    expect(later.mapped.map(({ spec }) => spec.belongsTo)).to.deep.equal(['Book']);
    // At tier 3 a service's read models are keyed by UUID: an integer key is not adopted there.
    expect(mapTables([racks], [], { ...ADOPTION, uuidKeysOnly: true }).skipped).to.deep.equal([
      {
        table: 'racks',
        reason: 'its key id is INTEGER; at tier 3 the read models of resources are keyed by UUID',
      },
    ]);
    // .yo-rc.json keeps the key; one it cannot render is refused when read.
    expect(() => validateStoredResources(specs, undefined, '.yo-rc.json')).to.not.throw();
    const rack = adopted.racks as (typeof specs)[number];
    const broken = { ...rack, adopted: { ...rack.adopted, key: { type: 'smallint', generated: 'none' } } };
    expect(() => validateStoredResources([broken], undefined, '.yo-rc.json')).to.throw(
      /resource "Rack" is not valid: its adopted key must be/,
    );
  });

  it('takes PostgreSQL URLs only, and never shows their password', () => {
    expect(asyncpgUrl('postgresql://u:secret@db:5432/shop').href).to.equal(
      'postgresql+asyncpg://u:secret@db:5432/shop',
    );
    expect(asyncpgUrl('postgres://db/shop').protocol).to.equal('postgresql+asyncpg:');
    expect(masked(asyncpgUrl('postgresql://u:secret@db/shop'))).to.equal(
      'postgresql+asyncpg://u:***@db/shop',
    );
    expect(() => asyncpgUrl('mysql://u:secret@db/shop')).to.throw(/mysql is not PostgreSQL/);
    expect(() => asyncpgUrl('not a url')).to.throw(/not a URL/);
    expect(() => asyncpgUrl('postgresql://u:secret@db')).to.throw(
      /^--from-database \S+\*\*\*@db: name the database/,
    );
    // libpq's sslmode is asyncpg's ssl; no other parameter is passed on, none is dropped unsaid.
    expect(asyncpgUrl('postgresql://db/shop?sslmode=verify-full').href).to.equal(
      'postgresql+asyncpg://db/shop?ssl=verify-full',
    );
    expect(() => asyncpgUrl('postgresql://u:secret@db/shop?sslmode=on')).to.throw(
      /^--from-database postgresql:\/\/u:\*\*\*@db\/shop\?sslmode=on: sslmode=on is not an SSL mode; write one of disable, allow, prefer, require, verify-ca, verify-full$/,
    );
    expect(() => asyncpgUrl('postgresql://db/shop?sslmode=require&bio=1')).to.throw(
      /^--from-database \S+: the parameter bio is not one this reader takes \(only sslmode=disable\|allow\|prefer\|require\|verify-ca\|verify-full\)$/,
    );
  });
});
