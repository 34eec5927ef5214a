import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, makeTempDir, snapshotTree } from '../helpers.js';
import { nowSeconds, randomSecret, signJwt } from './fakes.js';
import {
  type RunningServer,
  UV,
  freePort,
  requestJson,
  run,
  spawnInBackground,
  startServer,
} from './processes.js';
import {
  POSTGRES_SERVER,
  freshDatabase,
  generateProject,
  installProject,
  migrateService,
  verifyMember,
  verifyProject,
} from './projects.js';

const PROJECT = 'e2e-res';
/** The Authorization header of an hour-long token of `subject`, signed as the served app expects. */
const bearer = (secret: string, issuer: string, subject: string): Record<string, string> => ({
  authorization: `Bearer ${signJwt({ sub: subject, iss: issuer, aud: PROJECT, iat: nowSeconds(), exp: nowSeconds() + 3600 }, { secret })}`,
});

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const PACKAGE = 'e2e_res';
/** Three resources with a relation, covering every field type and the optional and unique variants. */
const RESOURCES: string[][] = [
  [
    'Customer',
    '--field',
    'name:str:120',
    '--field',
    'email:str!',
    '--field',
    'vip:bool',
    '--field',
    'bio:text?',
  ],
  [
    'Order',
    '--field',
    'total:decimal',
    '--field',
    'status:enum(new,paid,shipped)',
    '--field',
    'placed_on:date',
    '--field',
    'due_at:datetime?',
    '--field',
    'qty:int',
    '--belongs-to',
    'customer',
  ],
  [
    'Tag',
    '--field',
    'label:str:40!',
    '--field',
    'ref:uuid?',
    '--field',
    'data:json?',
    '--field',
    'rank:int?',
  ],
];

/** The same three resources as a system spec: the project is generated from it. */
const SPEC = `project:
  name: ${PROJECT}
  appType: microservice
  db: postgres
  auth: jwt
resources:
  Customer:
    fields:
      name: str:120
      email: str!
      vip: bool
      bio: text?
  Order:
    belongsTo: Customer
    fields:
      total: decimal
      status: enum(new,paid,shipped)
      placed_on: date
      due_at: datetime?
      qty: int
  Tag:
    fields:
      label: str:40!
      ref: uuid?
      data: json?
      rank: int?
`;

const forge = (dir: string, args: string[]): string =>
  run(process.execPath, [CLI, ...args, '--yes', '--skip-install'], dir).output;

const addResource = (dir: string, args: string[]): string =>
  run(process.execPath, [CLI, 'add', 'resource', ...args, '--yes', '--skip-install'], dir).output;

type Json = Record<string, unknown>;

/** A project's files but its spec. */
const withoutSpec = (tree: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(tree).filter(([file]) => file !== 'forge.yaml'));

/**
 * The spec of the project in `dir` changed by `change` and applied, as a user does it: `export`, whose spec
 * `apply` finds the project matching; the changed spec applied (`applied`: its summary), which leaves every
 * revision a database may have applied as it was; and applied again, which changes nothing.
 */
function applyChangedSpec(dir: string, change: (exported: string) => string, applied: string): void {
  const before = withoutSpec(snapshotTree(dir));
  // Over the spec `new --spec` copied in, which export spells its own way.
  run(process.execPath, [CLI, 'export', '--force'], dir);
  const exported = readFileSync(path.join(dir, 'forge.yaml'), 'utf8');
  expect(forge(dir, ['apply'])).to.include('The project matches the spec.');
  expect(withoutSpec(snapshotTree(dir))).to.deep.equal(before);
  const changed = change(exported);
  expect(changed).to.not.equal(exported);
  writeFileSync(path.join(dir, 'forge.yaml'), changed);
  expect(forge(dir, ['apply'])).to.include(applied);
  const after = snapshotTree(dir);
  // The revisions a database has applied are the same files; the changes are new revisions after them.
  for (const [file, content] of Object.entries(before)) {
    if (file.includes('/migrations/versions/')) expect(after[file], file).to.equal(content);
  }
  expect(forge(dir, ['apply'])).to.include('The project matches the spec.');
  expect(snapshotTree(dir)).to.deep.equal(after);
}

/** `alembic revision --autogenerate` in `dir` against `env`'s database writes a revision that does nothing. */
function expectNothingToAutogenerate(dir: string, versions: string, env: Record<string, string>): void {
  run(UV, ['run', '--no-sync', 'alembic', 'revision', '--autogenerate', '-m', 'nothing left'], dir, env);
  const generated = readdirSync(versions).find((file) => file.includes('nothing_left'));
  expect(generated, 'autogenerate wrote no revision').to.be.a('string');
  const script = readFileSync(path.join(versions, String(generated)), 'utf8');
  rmSync(path.join(versions, String(generated)));
  expect(script.match(/^\s*op\./gm), script).to.equal(null);
}

describe('resources end to end: a project from a spec, PostgreSQL migrated, CRUD to two users, the spec changed and applied', function () {
  this.timeout(10 * 60_000);
  let dir: string;
  const databases: { drop: () => void }[] = [];
  let server: RunningServer | undefined;

  before(() => {
    const parent = makeTempDir('e2e');
    writeFileSync(path.join(parent, 'forge.yaml'), SPEC);
    forge(parent, ['new', '--spec', 'forge.yaml']);
    dir = path.join(parent, PROJECT);
  });

  after(async () => {
    await server?.stop();
    for (const database of databases) database.drop();
  });

  it('passes ruff, mypy --strict and its own tests on PostgreSQL; the same resources added again, or the spec applied again, change nothing', () => {
    const server = freshDatabase('forge_res');
    databases.push(server);
    // The project's tests create (and drop) their own databases on this server.
    const summary = verifyProject(dir, { TEST_DATABASE_URL: server.url, REDIS_URL });
    console.log(`      ${PROJECT}: ${summary}`);
    expect(summary).to.match(/^\d+ passed/);
    const before = snapshotTree(dir);
    // The spec made what `add resource` makes.
    for (const args of RESOURCES) addResource(dir, args);
    expect(snapshotTree(dir)).to.deep.equal(before);
    // `new --spec` left the spec in the project, as written: `apply` there finds it.
    expect(readFileSync(path.join(dir, 'forge.yaml'), 'utf8')).to.equal(SPEC);
    expect(forge(dir, ['apply'])).to.include('The project matches the spec.');
    expect(snapshotTree(dir)).to.deep.equal(before);
  });

  it('migrates PostgreSQL after the existing revisions, and autogenerate then finds nothing to change', () => {
    const database = freshDatabase('forge_res');
    databases.push(database);
    const env = { DATABASE_URL: database.url };
    const upgrade = run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, env).output;
    expect(upgrade).to.match(/0002 -> 0005, The customers resource/);
    expect(upgrade).to.match(/0005 -> 0006, The orders resource/);
    expect(upgrade).to.match(/0006 -> 0007, The tags resource/);
    expectNothingToAutogenerate(dir, path.join(dir, 'src', PACKAGE, 'migrations', 'versions'), env);
  });

  it('serves every route over HTTP to two users: ownership, 250 rows page by page, filters and sorts', async () => {
    const database = freshDatabase('forge_res');
    databases.push(database);
    run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, { DATABASE_URL: database.url });
    const secret = randomSecret();
    const issuer = 'https://auth.example.com';
    server = await startServer(dir, PACKAGE, {
      ENVIRONMENT: 'production',
      CORS_ORIGINS: 'https://app.example.com',
      RATE_LIMIT: '100000/minute',
      API_DOCS: 'true',
      JWT_SECRET: secret,
      JWT_ISSUER: issuer,
      DATABASE_URL: database.url,
    });
    const alice = bearer(secret, issuer, 'alice');
    const bob = bearer(secret, issuer, 'bob');
    const api = server;
    const call = async (method: string, route: string, headers: Record<string, string>, body?: Json) =>
      requestJson(api, method, route, headers, body);

    // Create, read, change, delete; the other user sees nothing of it.
    const customer = await call('POST', '/customers', alice, {
      name: 'Ada',
      email: 'ada@example.com',
      vip: true,
    });
    expect(customer.status, JSON.stringify(customer.body)).to.equal(201);
    const customerUrl = `/customers/${String(customer.body.id)}`;
    expect((await call('GET', customerUrl, alice)).body).to.deep.equal(customer.body);
    for (const [method, body] of [['GET'], ['PATCH', { vip: false }], ['DELETE']] as [string, Json?][]) {
      const answer = await call(method, customerUrl, bob, body);
      expect(answer.status, `${method} by another user`).to.equal(404);
      expect(answer.body.code).to.equal('not_found');
    }
    expect((await call('GET', '/customers', bob)).body.items).to.deep.equal([]);
    const patched = await call('PATCH', customerUrl, alice, { bio: 'Counts', vip: false });
    expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
    expect(patched.body).to.include({ name: 'Ada', bio: 'Counts', vip: false });
    const duplicate = await call('POST', '/customers', alice, {
      name: 'Other',
      email: 'ada@example.com',
      vip: false,
    });
    expect(duplicate.status).to.equal(409);
    // Unique per owner: another user may use the same e-mail.
    expect(
      (await call('POST', '/customers', bob, { name: 'B', email: 'ada@example.com', vip: false })).status,
    ).to.equal(201);

    // Orders belong to a customer: a nested read, and bob cannot attach one to alice's customer.
    const order = await call('POST', '/orders', alice, {
      total: '19.99',
      status: 'paid',
      placed_on: '2026-03-01',
      qty: 2,
      customer_id: customer.body.id,
    });
    expect(order.status, JSON.stringify(order.body)).to.equal(201);
    expect(order.body.customer).to.deep.equal(patched.body);
    expect(order.body.total).to.equal('19.99');
    const stolen = await call('POST', '/orders', bob, {
      total: '1.00',
      status: 'new',
      placed_on: '2026-03-01',
      qty: 1,
      customer_id: customer.body.id,
    });
    expect(stolen.status).to.equal(404);
    expect((await call('DELETE', customerUrl, alice)).status, 'a customer with orders').to.equal(409);
    const ofCustomer = await call('GET', `${customerUrl}/orders`, alice);
    expect((ofCustomer.body.items as Json[]).map((item) => item.id)).to.deep.equal([order.body.id]);

    // 250 orders, paged 100 at a time, every one once.
    const statuses = ['new', 'paid', 'shipped'];
    for (let n = 0; n < 250; n++) {
      const created = await call('POST', '/orders', alice, {
        total: `${n}.25`,
        status: statuses[n % 3],
        placed_on: `2026-01-${String((n % 28) + 1).padStart(2, '0')}`,
        qty: n,
        customer_id: customer.body.id,
      });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
    }
    const walk = async (query: string): Promise<{ items: Json[]; pages: number }> => {
      const items: Json[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const after: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page = await call('GET', `/orders?limit=100${query}${after}`, alice);
        expect(page.status, JSON.stringify(page.body)).to.equal(200);
        items.push(...(page.body.items as Json[]));
        cursor = page.body.next_cursor as string | null;
        pages++;
      } while (cursor !== null);
      return { items, pages };
    };
    const all = await walk('');
    expect(all.pages).to.equal(3);
    expect(all.items).to.have.length(251);
    expect(new Set(all.items.map((item) => item.id)).size).to.equal(251);
    expect((await call('GET', '/orders', bob)).body.items).to.deep.equal([]);

    // Sorted across pages: by an exact decimal ascending, by an integer descending.
    const byTotal = await walk('&sort=total');
    const totals = byTotal.items.map((item) => Number(item.total));
    expect(totals).to.deep.equal([...totals].sort((a, b) => a - b));
    const byQuantity = await walk('&sort=-qty');
    const quantities = byQuantity.items.map((item) => Number(item.qty));
    expect(quantities).to.deep.equal([...quantities].sort((a, b) => b - a));
    // Filters: an enum and a date.
    const shipped = await walk('&status=shipped');
    expect(shipped.items).to.have.length(83);
    expect(shipped.items.every((item) => item.status === 'shipped')).to.equal(true);
    const onTheFirst = await walk('&placed_on=2026-01-01');
    expect(onTheFirst.items.map((item) => item.qty).sort((a, b) => Number(a) - Number(b))).to.deep.equal(
      Array.from({ length: 9 }, (_, index) => index * 28),
    );
    const badSort = await call('GET', '/orders?sort=owner', alice);
    expect(badSort.status).to.equal(422);

    // Deleting: an order, then the customer once it has none.
    for (const item of all.items)
      expect((await call('DELETE', `/orders/${String(item.id)}`, alice)).status).to.equal(204);
    expect((await call('DELETE', customerUrl, alice)).status).to.equal(204);
    expect((await call('GET', customerUrl, alice)).status).to.equal(404);

    // The API documents the routes.
    const openapi = await call('GET', '/openapi.json', alice);
    const paths = Object.keys(openapi.body.paths as Json);
    expect(paths).to.include.members([
      '/customers',
      '/customers/{customer_id}',
      '/customers/{customer_id}/orders',
      '/orders',
      '/orders/{order_id}',
      '/tags',
      '/tags/{tag_id}',
    ]);
  });

  it('applies a changed spec (a field added with a default, one renamed, a relation added): the old rows are kept, autogenerate finds nothing', async () => {
    await server?.stop();
    run(UV, ['sync', '--quiet'], dir);
    const database = freshDatabase('forge_res');
    databases.push(database);
    const env = { DATABASE_URL: database.url };
    run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, env);
    const secret = randomSecret();
    const issuer = 'https://auth.example.com';
    const serve = () =>
      startServer(dir, PACKAGE, {
        ENVIRONMENT: 'production',
        CORS_ORIGINS: 'https://app.example.com',
        JWT_SECRET: secret,
        JWT_ISSUER: issuer,
        DATABASE_URL: database.url,
      });
    const alice = bearer(secret, issuer, 'alice');
    const bob = bearer(secret, issuer, 'bob');

    // Rows of the first version, written by its API.
    let api = await serve();
    server = api;
    const call = async (method: string, route: string, headers: Record<string, string>, body?: Json) =>
      requestJson(api, method, route, headers, body);
    const ada = await call('POST', '/customers', alice, {
      name: 'Ada',
      email: 'ada@example.com',
      vip: true,
      bio: 'First',
    });
    const bea = await call('POST', '/customers', bob, { name: 'Bea', email: 'bea@example.com', vip: false });
    const tag = await call('POST', '/tags', alice, { label: 'red' });
    const order = await call('POST', '/orders', alice, {
      total: '5.00',
      status: 'new',
      placed_on: '2026-02-01',
      qty: 1,
      customer_id: ada.body.id,
    });
    for (const created of [ada, bea, tag, order])
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
    await api.stop();

    applyChangedSpec(
      dir,
      (exported) =>
        exported
          .replace(
            '      bio: text?\n',
            '      about:\n        type: text?\n        renamedFrom: bio\n      tier:\n        type: str:20\n        default: basic\n',
          )
          .replace('      name: str:120\n', '      name: str:200\n')
          .replace('  Tag:\n    fields:', '  Tag:\n    belongsTo: Customer?\n    fields:')
          // A unique field renamed (its constraint with it) and one removed.
          .replace(
            '      label: str:40!\n      ref: uuid?\n',
            '      title:\n        type: str:40!\n        renamedFrom: label\n',
          ),
      'Applied: Customer changed, Tag changed.',
    );

    const upgrade = run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, env).output;
    expect(upgrade).to.match(
      /0007 -> 0008, The customers resource: bio renamed to about, name changed, tier added/,
    );
    expect(upgrade).to.match(
      /0008 -> 0009, The tags resource: ref removed, label renamed to title, belongs to customer/,
    );
    expectNothingToAutogenerate(dir, path.join(dir, 'src', PACKAGE, 'migrations', 'versions'), env);
    const tests = freshDatabase('forge_res');
    databases.push(tests);
    const summary = verifyProject(dir, { TEST_DATABASE_URL: tests.url, REDIS_URL });
    console.log(`      ${PROJECT} after apply: ${summary}`);

    // The old rows, served by the new version: renamed, backfilled, and still each owner's own.
    api = await serve();
    server = api;
    const adaNow = await call('GET', `/customers/${String(ada.body.id)}`, alice);
    expect(adaNow.body).to.include({ name: 'Ada', about: 'First', tier: 'basic', vip: true });
    expect(adaNow.body).to.not.have.property('bio');
    expect((await call('GET', `/customers/${String(ada.body.id)}`, bob)).status).to.equal(404);
    const beaKept = Object.fromEntries(Object.entries(bea.body).filter(([key]) => key !== 'bio'));
    expect((await call('GET', '/customers', bob)).body.items).to.deep.equal([
      { ...beaKept, about: null, tier: 'basic' },
    ]);
    const orderNow = await call('GET', `/orders/${String(order.body.id)}`, alice);
    expect(orderNow.body.customer).to.deep.equal(adaNow.body);
    // The relation added: old tags have none, new ones may have one of the caller's customers.
    const tagNow = await call('GET', `/tags/${String(tag.body.id)}`, alice);
    expect(tagNow.body).to.include({ title: 'red', customer_id: null, customer: null });
    expect(tagNow.body).to.not.have.any.keys('label', 'ref');
    // Still unique among each caller's tags, under its new name.
    expect((await call('POST', '/tags', alice, { title: 'red' })).status).to.equal(409);
    const linked = await call('PATCH', `/tags/${String(tag.body.id)}`, alice, { customer_id: ada.body.id });
    expect(linked.status, JSON.stringify(linked.body)).to.equal(200);
    expect(linked.body.customer).to.deep.equal(adaNow.body);
    const stolen = await call('POST', '/tags', bob, { title: 'blue', customer_id: ada.body.id });
    expect(stolen.status).to.equal(404);
    const longer = await call('POST', '/customers', alice, {
      name: 'N'.repeat(200),
      email: 'n@example.com',
      vip: false,
      tier: 'gold',
    });
    expect(longer.status, JSON.stringify(longer.body)).to.equal(201);
    const ofAda = await call('GET', `/customers/${String(ada.body.id)}/tags`, alice);
    expect((ofAda.body.items as Json[]).map((item) => item.id)).to.deep.equal([tag.body.id]);
  });
});

/**
 * A database made by plain SQL, as an existing application left it: four tables that map (two keyed by a
 * UUID, one by a plain integer, one by a bigserial referring to it), two that do not.
 */
const LEGACY_SQL = `
CREATE TABLE customers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name varchar(120) NOT NULL,
  email varchar(255) NOT NULL UNIQUE,
  vip boolean NOT NULL DEFAULT false,
  bio text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE orders (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  total numeric(18, 2) NOT NULL,
  placed_on date NOT NULL,
  qty integer NOT NULL DEFAULT 1,
  data jsonb
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE TABLE line_items (order_id uuid, n integer, note text, PRIMARY KEY (order_id, n));
CREATE TABLE stores (id integer PRIMARY KEY, city varchar(80) NOT NULL);
CREATE TABLE events (id bigserial PRIMARY KEY, store_id integer NOT NULL REFERENCES stores (id), payload jsonb);
CREATE TABLE visits (id uuid PRIMARY KEY, at timestamp NOT NULL);
INSERT INTO customers (id, name, email, vip) VALUES
  ('11111111-1111-1111-1111-111111111111', 'Ada', 'ada@example.com', true),
  ('22222222-2222-2222-2222-222222222222', 'Bea', 'bea@example.com', false);
INSERT INTO orders (id, customer_id, total, placed_on, qty) VALUES
  ('33333333-3333-3333-3333-333333333333', '11111111-1111-1111-1111-111111111111', 19.99, '2026-03-01', 2);
INSERT INTO stores (id, city) VALUES (5, 'Oslo'), (7, 'Bergen');
INSERT INTO events (store_id, payload) VALUES (5, '{"kind": "opened"}'), (7, NULL), (5, '{"kind": "closed"}');
`;

describe('resources with the longest names: the generated code passes ruff, mypy --strict and its tests', function () {
  this.timeout(10 * 60_000);
  let dir: string;
  let server: RunningServer | undefined;
  const databases: { drop: () => void }[] = [];

  after(async () => {
    await server?.stop();
    for (const database of databases) database.drop();
  });

  it('formats every line as ruff does, within 100 columns', () => {
    const project = 'abcdefghij-abcdefghij-abcdefghij-abcdefg';
    dir = generateProject(project, ['--app-type', 'microservice', '--db', 'postgres', '--auth', 'apikey']);
    // 24 characters: the longest resource, field and enum value names.
    const long = (suffix: string) => `abcdefghij_abcdefghij_${suffix}`;
    addResource(dir, [
      'AbcdefghijAbcdefghijAb',
      ...[
        'str:3000',
        'enum(abcdefghij_abcdefghij_ab,bcdefghij_abcdefghij_abc)',
        'decimal?',
        'str:10!',
        'datetime',
      ].flatMap((type, index) => ['--field', `${long(`a${index}`)}:${type}`]),
    ]);
    addResource(dir, [
      'Bcd',
      ...['datetime', 'json?', 'uuid!', 'date', 'bool', 'int?', 'text'].flatMap((type, index) => [
        '--field',
        `${long(`b${index}`)}:${type}`,
      ]),
      '--belongs-to',
      'AbcdefghijAbcdefghijAb',
    ]);
    addResource(dir, ['Efghij_Abcdefghij_Abcdef', '--field', `${long('c0')}:int`, '--belongs-to', 'bcd']);
    run(UV, ['sync', '--quiet'], dir);
    run(UV, ['run', '--no-sync', 'ruff', 'check', '.'], dir);
    run(UV, ['run', '--no-sync', 'ruff', 'format', '--check', '.'], dir);
    run(UV, ['run', '--no-sync', 'mypy', '--strict', 'src', 'tests'], dir);
    const tests = [
      'tests/test_abcdefghij_abcdefghij_abs.py',
      'tests/test_bcds.py',
      'tests/test_efghij_abcdefghij_abcdefs.py',
    ];
    const pytest = run(
      UV,
      ['run', '--no-sync', 'pytest', '-q', '-p', 'no:cacheprovider', ...tests, 'tests/test_migrations.py'],
      dir,
    );
    expect(pytest.output.trim().split('\n').pop()).to.match(/^\d+ passed/);
  });

  it('makes resources of the tables of a database created by plain SQL: its rows kept and served, autogenerate empty', async () => {
    const legacy = freshDatabase('forge_legacy');
    const empty = freshDatabase('forge_legacy');
    databases.push(legacy, empty);
    const postgres = new URL(POSTGRES_SERVER);
    const psqlUrl = (name: string) => `postgresql://${postgres.username}@${postgres.host}/${name}`;
    run('psql', [psqlUrl(legacy.name), '-v', 'ON_ERROR_STOP=1', '-qc', LEGACY_SQL], dir);
    // The server trusts local connections: the password is there to show it is never printed or written.
    const password = 'pw-never-shown';
    const withPassword = (name: string, port = postgres.port || '5432') =>
      `postgresql://${postgres.username}:${password}@${postgres.hostname}:${port}/${name}`;
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [CLI, 'add', 'resource', ...args, '--yes', '--skip-install'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${path.dirname(UV)}:${process.env.PATH ?? ''}` },
      });
    const before = snapshotTree(dir);
    // Refusals that need a server; the URL's syntax and the options are the unit tests'.
    const refusals: [string[], RegExp][] = [
      [['--from-database', withPassword(legacy.name, '1'), '--owner', 'legacy'], /cannot read the database/],
      [['--from-database', withPassword(empty.name), '--owner', 'legacy'], /has no tables/],
      [
        ['--from-database', withPassword(legacy.name), '--owner', 'legacy', '--table', 'line_items'],
        /table line_items cannot be a resource: its primary key is composite/,
      ],
    ];
    for (const [args, message] of refusals) {
      const refused = cli(args);
      expect(refused.status, refused.stderr).to.equal(2);
      expect(refused.stderr.trim().split('\n'), refused.stderr).to.have.length(1);
      expect(refused.stderr).to.match(message);
      expect(refused.stderr + refused.stdout).to.not.include(password);
    }
    expect(snapshotTree(dir)).to.deep.equal(before);

    const adopted = cli(['--from-database', withPassword(legacy.name), '--owner', 'legacy']);
    expect(adopted.status, adopted.stderr).to.equal(0);
    for (const reason of [
      'Skipped table line_items: its primary key is composite',
      'Skipped table visits: its column at: TIMESTAMP WITHOUT TIME ZONE',
    ])
      expect(adopted.stdout + adopted.stderr).to.include(reason);
    const tree = snapshotTree(dir);
    for (const [file, content] of Object.entries(tree)) expect(content, file).to.not.include(password);
    const rc = JSON.parse(tree['.yo-rc.json'] ?? '{}')['generator-fastapi-forge'] as Json;
    expect((rc.resources as Json[]).slice(-4).map((resource) => resource.name)).to.deep.equal([
      'Customer',
      'Store',
      'Event',
      'Order',
    ]);
    // Again: nothing changes.
    expect(cli(['--from-database', withPassword(legacy.name), '--owner', 'legacy']).status).to.equal(0);
    expect(snapshotTree(dir)).to.deep.equal(tree);

    run(UV, ['sync', '--quiet'], dir);
    run(UV, ['run', '--no-sync', 'ruff', 'check', '.'], dir);
    run(UV, ['run', '--no-sync', 'ruff', 'format', '--check', '.'], dir);
    run(UV, ['run', '--no-sync', 'mypy', '--strict', 'src', 'tests'], dir);
    const pytest = run(
      UV,
      [
        'run',
        '--no-sync',
        'pytest',
        '-q',
        '-p',
        'no:cacheprovider',
        'tests/test_customers.py',
        'tests/test_orders.py',
        'tests/test_stores.py',
        'tests/test_events.py',
        'tests/test_migrations.py',
      ],
      dir,
    );
    expect(pytest.output.trim().split('\n').pop()).to.match(/^\d+ passed/);

    // The baseline finds the tables there; the resources' revisions give the rows their owner.
    const env = { DATABASE_URL: legacy.url };
    const upgrade = run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, env).output;
    expect(upgrade).to.match(
      /-> 0008, The tables the database had before the project: customers, stores, events, orders/,
    );
    const rows = run(
      'psql',
      [psqlUrl(legacy.name), '-tAc', 'SELECT name, owner FROM customers ORDER BY name'],
      dir,
    );
    expect(rows.output.trim().split('\n')).to.deep.equal(['Ada|legacy', 'Bea|legacy']);
    expectNothingToAutogenerate(
      dir,
      path.join(dir, 'src', 'abcdefghij_abcdefghij_abcdefghij_abcdefg', 'migrations', 'versions'),
      env,
    );

    // The existing rows over HTTP, to the principal that owns them and to no other.
    const key = randomSecret();
    server = await startServer(dir, 'abcdefghij_abcdefghij_abcdefghij_abcdefg', {
      ENVIRONMENT: 'production',
      CORS_ORIGINS: 'https://app.example.com',
      API_KEYS: JSON.stringify({ legacy: key, other: `${key}-other` }),
      DATABASE_URL: legacy.url,
    });
    const owner = { 'x-api-key': key };
    const customers = await requestJson(server, 'GET', '/customers?sort=name', owner);
    expect(customers.status, JSON.stringify(customers.body)).to.equal(200);
    expect((customers.body.items as Json[]).map((item) => [item.name, item.email, item.vip])).to.deep.equal([
      ['Ada', 'ada@example.com', true],
      ['Bea', 'bea@example.com', false],
    ]);
    const order = await requestJson(server, 'GET', '/orders/33333333-3333-3333-3333-333333333333', owner);
    expect(order.status, JSON.stringify(order.body)).to.equal(200);
    expect(order.body).to.include({ total: '19.99', placed_on: '2026-03-01', qty: 2 });
    expect((order.body.customer as Json).name).to.equal('Ada');
    const other = await requestJson(server, 'GET', '/customers', { 'x-api-key': `${key}-other` });
    expect(other.body.items).to.deep.equal([]);

    // Integer keys: the existing ids served, page after page (ties of created_at in id order); new rows
    // numbered after the last by the database (a serial's sequence, and the identity the stores'
    // revision gave their plain key).
    const events: Json[] = [];
    for (let cursor = ''; ;) {
      const page = await requestJson(server, 'GET', `/events?sort=created_at&limit=2${cursor}`, owner);
      expect(page.status, JSON.stringify(page.body)).to.equal(200);
      events.push(...(page.body.items as Json[]));
      if (page.body.next_cursor === null) break;
      cursor = `&cursor=${String(page.body.next_cursor)}`;
    }
    expect(events.map((event) => [event.id, event.store_id, (event.store as Json).city])).to.deep.equal([
      [1, 5, 'Oslo'],
      [2, 7, 'Bergen'],
      [3, 5, 'Oslo'],
    ]);
    const store = await requestJson(server, 'POST', '/stores', owner, { city: 'Trondheim' });
    expect(store.status, JSON.stringify(store.body)).to.equal(201);
    expect(store.body.id).to.equal(8);
    const event = await requestJson(server, 'POST', '/events', owner, { store_id: store.body.id });
    expect([event.status, event.body.id], JSON.stringify(event.body)).to.deep.equal([201, 4]);
    const ofOslo = await requestJson(server, 'GET', '/stores/5/events', owner);
    expect((ofOslo.body.items as Json[]).map((item) => item.id)).to.have.members([1, 3]);
    const tooBig = await requestJson(server, 'GET', '/stores/2147483648', owner);
    expect(tooBig.status).to.equal(422);
    const notOwn = await requestJson(server, 'GET', '/events/1', { 'x-api-key': `${key}-other` });
    expect(notOwn.status).to.equal(404);
  });
});

const WORKSPACE = 'e2e-svc';
/** Three resources, two of them related, in the orders service of a tier-3 system. */
const SERVICE_SPEC = `project:
  name: ${WORKSPACE}
  tier: 3
  appType: microservice
  db: postgres
  auth: jwt
services: [orders, inventory]
resources:
  Customer:
    service: orders
    fields:
      name: str:120
      email: str!
  Order:
    service: orders
    belongsTo: Customer
    fields:
      total: decimal
      status: enum(new,paid,shipped)
  Tag:
    service: orders
    fields:
      label: str:40
`;

describe('resources in a tier-3 service: CRUD to two users, created, updated and deleted events through the outbox to a read model', function () {
  this.timeout(20 * 60_000);
  let dir: string;
  const databases: { drop: () => void }[] = [];
  const processes: { stop: () => Promise<unknown> }[] = [];
  const prefix = `e2e-svc-${randomSecret().slice(0, 8)}`;
  const service = () => path.join(dir, 'services', 'orders');
  const versions = () => path.join(service(), 'src', 'orders', 'migrations', 'versions');
  /** The database the started service wrote its rows in, which the changed spec's revisions migrate. */
  let database: { name: string; url: string; drop: () => void };
  const sql = (query: string) =>
    run('psql', [database.url.replace('+asyncpg', ''), '-tAc', query], dir).output.trim();
  const secret = randomSecret();
  const issuer = 'https://auth.example.com';
  const serviceEnv = () => ({
    ENVIRONMENT: 'development',
    REDIS_URL,
    EVENTS_PREFIX: prefix,
    ORDERS_DATABASE_URL: database.url,
    RATE_LIMIT: '100000/minute',
    JWT_SECRET: secret,
    JWT_ISSUER: issuer,
  });
  const token = (subject: string) => ({
    authorization: `Bearer ${signJwt({ sub: subject, iss: issuer, aud: WORKSPACE, iat: nowSeconds(), exp: nowSeconds() + 3600 }, { secret })}`,
  });

  before(() => {
    const parent = makeTempDir('e2e-svc');
    writeFileSync(path.join(parent, 'forge.yaml'), SERVICE_SPEC);
    forge(parent, ['new', '--spec', 'forge.yaml']);
    dir = path.join(parent, WORKSPACE);
    installProject(dir);
  });

  after(async () => {
    for (const process of processes.reverse()) await process.stop();
    for (const database of databases) database.drop();
    const keys = run('redis-cli', ['-u', REDIS_URL, '--scan', '--pattern', `${prefix}:*`], dir).output;
    const streams = keys.split('\n').filter(Boolean);
    if (streams.length > 0) run('redis-cli', ['-u', REDIS_URL, 'del', ...streams], dir);
  });

  it('writes the resources into services/orders, which passes ruff, mypy --strict and its tests; re-runs change nothing', () => {
    expect(readdirSync(versions()).sort()).to.deep.equal([
      '0001_items.py',
      '0002_events.py',
      '0005_customers.py',
      '0006_orders.py',
      '0007_tags.py',
      '__init__.py',
    ]);
    const server = freshDatabase('forge_svc');
    databases.push(server);
    // The service the resources live in; the other members of a tier-3 workspace are checked by the matrix.
    // Its tests create (and drop) their own databases on this server.
    const summary = verifyMember(service(), { TEST_DATABASE_URL: server.url, REDIS_URL });
    console.log(`      services/orders: ${summary}`);
    expect(summary).to.match(/^\d+ passed/);
    const before = snapshotTree(dir);
    addResource(dir, ['Customer', '--field', 'name:str:120', '--field', 'email:str!', '--service', 'orders']);
    expect(forge(dir, ['apply'])).to.include('The project matches the spec.');
    expect(run(process.execPath, [CLI, 'export', '--output', '-'], dir).output).to.match(
      /Order:\n {4}service: orders\n/,
    );
    expect(snapshotTree(dir)).to.deep.equal(before);
  });

  it('serves the resources from a started service to two users, and its consumer projects their events', async () => {
    database = freshDatabase('forge_svc');
    databases.push(database);
    migrateService(dir, 'orders', database.url);
    const env = serviceEnv();
    const api = await startServer(service(), 'orders', env);
    processes.push(api);
    processes.push(
      spawnInBackground(UV, ['run', '--no-sync', 'python', '-m', 'orders.consumer'], {
        cwd: service(),
        env: { ...process.env, VIRTUAL_ENV: '', ...env, EVENTS_CONSUMER_PORT: String(await freePort()) },
      }),
    );
    const [alice, bob] = [token('alice'), token('bob')];
    const call = async (method: string, route: string, headers: Record<string, string>, body?: Json) =>
      requestJson(api, method, route, headers, body);

    const customer = await call('POST', '/customers', alice, { name: 'Ada', email: 'ada@example.com' });
    expect(customer.status, JSON.stringify(customer.body)).to.equal(201);
    const kept = await call('POST', '/orders', alice, {
      total: '19.99',
      status: 'new',
      customer_id: customer.body.id,
    });
    const dropped = await call('POST', '/orders', alice, {
      total: '5.00',
      status: 'new',
      customer_id: customer.body.id,
    });
    expect([kept.status, dropped.status]).to.deep.equal([201, 201]);
    const keptUrl = `/orders/${String(kept.body.id)}`;
    for (const [method, body] of [['GET'], ['PATCH', { status: 'paid' }], ['DELETE']] as [string, Json?][]) {
      const answer = await call(method, keptUrl, bob, body);
      expect(answer.status, `${method} by another user`).to.equal(404);
    }
    expect(
      (await call('POST', '/orders', bob, { total: '1.00', status: 'new', customer_id: customer.body.id }))
        .status,
    ).to.equal(404);
    const paid = await call('PATCH', keptUrl, alice, { status: 'paid' });
    expect(paid.status, JSON.stringify(paid.body)).to.equal(200);
    expect((await call('DELETE', `/orders/${String(dropped.body.id)}`, alice)).status).to.equal(204);

    // Five events went through the outbox; the consumer applies each once, the deletion included.
    const views = async (resource: string, headers: Record<string, string>) =>
      (await call('GET', `/views/resources/${resource}`, headers)).body.items as Json[];
    const deadline = Date.now() + 60_000;
    while (sql('SELECT count(*) FROM processed_events') !== '5') {
      if (Date.now() > deadline) throw new Error('the consumer did not apply the five events');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((await views('order', alice)).map((view) => view.data)).to.deep.equal([paid.body]);
    expect((await views('customer', alice)).map((view) => view.data)).to.deep.equal([customer.body]);
    expect(await views('order', bob)).to.deep.equal([]);
    expect(sql('SELECT count(*) FROM outbox WHERE published_at IS NULL')).to.equal('0');
    expect(sql('SELECT deleted FROM read_orders ORDER BY deleted')).to.equal('f\nt');
  });

  it('applies a changed spec (a field added with a default, one renamed, a relation added): the service’s rows are kept, autogenerate finds nothing', async () => {
    // Stopped, as for a deployment: the database keeps the rows they wrote.
    for (const process of processes.splice(0).reverse()) await process.stop();
    const rowsBefore = sql('SELECT id, name FROM customers');
    applyChangedSpec(
      dir,
      (exported) =>
        exported
          .replace(
            '      email: str:255!\n',
            '      contact:\n        type: str:255!\n        renamedFrom: email\n      tier:\n        type: str:20\n        default: basic\n',
          )
          .replace(
            '  Tag:\n    service: orders\n',
            '  Tag:\n    service: orders\n    belongsTo: Customer?\n',
          ),
      'Applied: Customer changed, Tag changed.',
    );
    const upgrade = migrateService(dir, 'orders', database.url);
    expect(upgrade).to.match(/0007 -> 0008, The customers resource: email renamed to contact, tier added/);
    expect(upgrade).to.match(/0008 -> 0009, The tags resource: belongs to customer/);
    expect(sql('SELECT id, name FROM customers')).to.equal(rowsBefore);
    expect(sql('SELECT contact, tier FROM customers')).to.equal('ada@example.com|basic');
    expect(sql('SELECT status FROM orders')).to.equal('paid');
    expect(sql('SELECT count(*) FROM read_orders')).to.equal('2');
    expectNothingToAutogenerate(service(), versions(), { ORDERS_DATABASE_URL: database.url });
    const tests = freshDatabase('forge_svc');
    databases.push(tests);
    const summary = verifyMember(service(), { TEST_DATABASE_URL: tests.url, REDIS_URL });
    console.log(`      services/orders after apply: ${summary}`);

    // The old row served by the new version, renamed and backfilled; a tag may now have a customer.
    const api = await startServer(service(), 'orders', serviceEnv());
    processes.push(api);
    const alice = token('alice');
    const [id] = rowsBefore.split('|');
    const ada = await requestJson(api, 'GET', `/customers/${String(id)}`, alice);
    expect(ada.body).to.include({ name: 'Ada', contact: 'ada@example.com', tier: 'basic' });
    expect(ada.body).to.not.have.property('email');
    const tag = await requestJson(api, 'POST', '/tags', alice, { label: 'vip', customer_id: id });
    expect(tag.status, JSON.stringify(tag.body)).to.equal(201);
    expect(tag.body.customer).to.deep.equal(ada.body);
  });
});
