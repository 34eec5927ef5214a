import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { resourceFiles } from '../../generators/resource/files.js';
import { applicableSections } from '../../lib/files.js';
import { readRevision } from '../../lib/resources.js';
import { expectUserError, makeTempDir, runForge, snapshotTree } from '../helpers.js';
import { declarationTests } from './declaration.js';

// The field syntax, migrations and relations are tested in resources.test.ts.
describe('resource generator', () => {
  it('names a resource’s files in one pass: a name that holds another name’s token is kept as it is', () => {
    const resource = { revision: '0003', module: 'my_table_row', table: 'my_table_rows' };
    const [files, migrations] = applicableSections(resourceFiles, {
      packageName: 'shop',
      resource,
      created: resource,
    });
    expect(files?.named('src/_package_/models/_module_.py.ejs')).to.equal(
      'src/_package_/models/my_table_row.py.ejs',
    );
    expect(migrations?.named('src/_package_/migrations/versions/_revision___table_.py.ejs')).to.equal(
      'src/_package_/migrations/versions/0003_my_table_rows.py.ejs',
    );
    expect(files?.renders('tests/test__table_.py.ejs')).to.equal(true);
    expect(migrations?.renders('tests/test__table_.py.ejs')).to.equal(false);
  });

  declarationTests('resource');

  it('writes a resource from its declared argument and options, and changes nothing when run again', async () => {
    const app = await runForge('app', { appType: 'microservice', db: 'postgres', auth: 'none' })
      .cd(makeTempDir('resource'))
      .withArguments(['shop']);
    const options = { field: ['sku:str:40!', 'price:decimal'] };
    const added = await runForge('resource', options).cd(app.cwd).withArguments(['Product']);
    added.assertFile([
      'src/shop/models/product.py',
      'src/shop/routes/products.py',
      'src/shop/migrations/versions/0005_products.py',
      'tests/test_products.py',
    ]);
    added.assertFileContent('src/shop/models/product.py', /sku: str = Field\(/);
    const before = snapshotTree(app.cwd);
    await runForge('resource', options).cd(app.cwd).withArguments(['Product']);
    expect(snapshotTree(app.cwd)).to.deep.equal(before);
  });

  it('lays out a two-word resource of optional fields, and one of 400 fields, as ruff format keeps them', async () => {
    const app = await runForge('app', { appType: 'microservice', db: 'postgres', auth: 'apikey' })
      .cd(makeTempDir('resource-layout'))
      .withArguments(['shop']);
    const types = ['str', 'int', 'decimal', 'bool', 'datetime', 'date', 'uuid', 'enum(a,b)', 'json', 'text'];
    const wide = Array.from({ length: 400 }, (_, i) => `f${i}:${types[i % types.length]}${i % 3 ? '' : '?'}`);
    await runForge('resource', { field: ['total:decimal?', 'due_at:datetime?'] })
      .cd(app.cwd)
      .withArguments(['OrderItem']);
    await runForge('resource', { field: wide }).cd(app.cwd).withArguments(['Wide']);

    const python = Object.entries(snapshotTree(app.cwd)).filter(([file]) => file.endsWith('.py'));
    expect(python.map(([file]) => file)).to.include.members([
      'src/shop/models/wide.py',
      'tests/test_wides.py',
    ]);
    for (const [file, text] of python) {
      // ruff format keeps one blank line at most inside a block, two between top-level statements.
      expect(/\n{3}(?=[ \t])|\n{4}/.exec(text)?.index, file).to.equal(undefined);
      expect(
        text.split('\n').filter((line) => line.length > 100),
        file,
      ).to.deep.equal([]);
    }
    // Its tests expect the operation ids every other operation has: kebab case, the tag's too.
    expect(Object.fromEntries(python)['tests/test_order_items.py']).to.include('f"order-items-{route}"');
  });

  describe('inside a workspace', () => {
    const workspace = async (tier: string) =>
      runForge('app', {
        appType: 'microservice',
        tier,
        db: 'postgres',
        auth: 'jwt',
        services: 'orders,stock',
      })
        .cd(makeTempDir(`resource-tier${tier}`))
        .withArguments(['shop']);
    const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');
    const service = 'services/orders/src/orders';

    it('refuses a resource without --service, naming the services, or with an unknown one; writes nothing', async () => {
      const app = await workspace('2');
      const before = snapshotTree(app.cwd);
      const run = (options: Record<string, unknown>, name = 'Customer') =>
        runForge('resource', { field: ['name:str'], ...options })
          .cd(app.cwd)
          .withArguments([name])
          .run();
      await expectUserError(
        run({}),
        /a resource lives in a service: add --service <name> \(its services: orders, stock\)/,
      );
      await expectUserError(
        run({ service: 'billing' }),
        /--service billing: no such service \(its services: orders, stock\)/,
      );
      // The service's own tables and routes are taken.
      await expectUserError(run({ service: 'orders' }, 'Item'), /taken by the service's own code/);
      // Tables of an existing database are adopted into a tier-1 project only.
      await expectUserError(
        runForge('resource', { fromDatabase: 'postgresql://127.0.0.1/shop', owner: 'ops', service: 'orders' })
          .cd(app.cwd)
          .run(),
        /^--from-database adopts tables into a tier-1 project; a workspace service is not supported$/,
      );
      expect(snapshotTree(app.cwd)).to.deep.equal(before);
    });

    it('refuses --service in a tier-1 project', async () => {
      const app = await runForge('app', { appType: 'microservice', db: 'postgres', auth: 'none' })
        .cd(makeTempDir('resource-tier1'))
        .withArguments(['shop']);
      await expectUserError(
        runForge('resource', { field: ['name:str'], service: 'orders' })
          .cd(app.cwd)
          .withArguments(['Customer'])
          .run(),
        /--service orders: this project has no services \(tier 1\); leave it out/,
      );
    });

    it('writes a tier-2 resource into its service, migrated after its revisions, without events', async () => {
      const app = await workspace('2');
      await runForge('resource', { field: ['name:str'], service: 'orders' })
        .cd(app.cwd)
        .withArguments(['Customer']);
      const added = await runForge('resource', {
        field: ['total:decimal'],
        service: 'orders',
        belongsTo: 'customer',
      })
        .cd(app.cwd)
        .withArguments(['Order']);
      added.assertFile([
        `${service}/resources/models/order.py`,
        `${service}/resources/models/customer_row.py`,
        `${service}/resources/routes/orders.py`,
        `${service}/resources/services/order_service.py`,
        `${service}/migrations/versions/0005_customers.py`,
        `${service}/migrations/versions/0006_orders.py`,
        'services/orders/tests/test_orders.py',
      ]);
      added.assertNoFile([
        `${service}/resources/events.py`,
        'src/shop/models/order.py',
        'services/stock/tests/test_orders.py',
      ]);
      // The service's tables, its shared package's session and errors.
      expect(read(app.cwd, `${service}/resources/models/order_row.py`)).to.include(
        'from orders.tables import Base, UtcDateTime',
      );
      expect(read(app.cwd, `${service}/resources/routes/orders.py`)).to.match(
        /from shop_libs\.db import SessionDep\nfrom shop_libs\.dependencies import CurrentPrincipal\nfrom shop_libs\.errors import error_doc\n\nfrom orders\.resources\.models\.order import \(/,
      );
      expect(read(app.cwd, `${service}/migrations/versions/0006_orders.py`)).to.include(
        'down_revision: str | Sequence[str] | None = "0005"',
      );
      expect(read(app.cwd, `${service}/routes/__init__.py`)).to.match(
        /app\.include_router\(\s*orders\.router_by_customer,/,
      );
      expect(read(app.cwd, `${service}/migrations/env.py`)).to.include(
        'from orders.resources.models import resources  # noqa: F401',
      );
      const config = JSON.parse(read(app.cwd, '.yo-rc.json'))['generator-fastapi-forge'];
      expect(config.resources.map((resource: { service?: string }) => resource.service)).to.deep.equal([
        'orders',
        'orders',
      ]);
      // The project's own migration order is not the service's.
      expect(config.migrations ?? []).to.not.include('resource:orders');
      // A relation is within one service.
      await expectUserError(
        runForge('resource', { field: ['qty:int'], service: 'stock', belongsTo: 'order' })
          .cd(app.cwd)
          .withArguments(['Line'])
          .run(),
        /--belongs-to order: no such resource/,
      );
      const before = snapshotTree(app.cwd);
      await runForge('resource', { field: ['total:decimal'], service: 'orders', belongsTo: 'customer' })
        .cd(app.cwd)
        .withArguments(['Order']);
      expect(snapshotTree(app.cwd)).to.deep.equal(before);
    });

    it('grown from tier 2 to tier 3, leaves the revisions it had as they were: tier 3 comes after them', async () => {
      const app = await workspace('2');
      await runForge('resource', { field: ['name:str'], service: 'orders' })
        .cd(app.cwd)
        .withArguments(['Customer']);
      await runForge('resource', { field: ['total:decimal'], service: 'orders', belongsTo: 'customer' })
        .cd(app.cwd)
        .withArguments(['Order']);
      const versions = (name: string) => `services/${name}/src/${name}/migrations/versions`;
      const scripts = () =>
        Object.fromEntries(
          Object.entries(snapshotTree(app.cwd)).filter(([file]) => file.includes('/migrations/versions/')),
        );
      const before = scripts();
      await runForge('events').cd(app.cwd);
      const after = scripts();
      // A database may have applied every one of them.
      for (const [file, text] of Object.entries(before)) expect(after[file], file).to.equal(text);
      expect(Object.keys(after).filter((file) => !(file in before))).to.deep.equal([
        `${versions('orders')}/0007_events.py`,
        `${versions('stock')}/0002_events.py`,
      ]);
      const grown = after[`${versions('orders')}/0007_events.py`] ?? '';
      expect(grown).to.include('down_revision: str | Sequence[str] | None = "0006"');
      // The read models of the resources it had, beside the outbox and the processed events.
      for (const table of ['outbox', 'processed_events', 'read_customers', 'read_orders'])
        expect(grown).to.include(`"${table}",`);
      expect(after[`${versions('stock')}/0002_events.py`]).to.include(
        'down_revision: str | Sequence[str] | None = "0001"',
      );
      // One head in each service, and a resource added at tier 3 follows it with its read model.
      for (const name of ['orders', 'stock']) {
        const found = Object.entries(after)
          .filter(([file]) => file.startsWith(versions(name)))
          .map(([, text]) => readRevision(text))
          .filter((script) => script !== undefined);
        const parents = new Set(found.flatMap((script) => script.parents));
        expect(
          found.filter((script) => !parents.has(script.revision)),
          name,
        ).to.have.length(1);
      }
      const again = scripts();
      await runForge('events').cd(app.cwd);
      expect(scripts()).to.deep.equal(again);
      await runForge('resource', { field: ['label:str'], service: 'orders' })
        .cd(app.cwd)
        .withArguments(['Tag']);
      const tags = read(app.cwd, `${versions('orders')}/0008_tags.py`);
      expect(tags).to.include('down_revision: str | Sequence[str] | None = "0007"');
      expect(tags).to.include('"read_tags",');
      expect(read(app.cwd, `${versions('orders')}/0005_customers.py`)).to.equal(
        before[`${versions('orders')}/0005_customers.py`],
      );
    });

    it('at tier 3, records created, updated and deleted events in the outbox and projects them into a read model', async () => {
      const app = await workspace('3');
      const added = await runForge('resource', { field: ['name:str'], service: 'orders' })
        .cd(app.cwd)
        .withArguments(['Customer']);
      added.assertFile([
        `${service}/resources/events.py`,
        `${service}/resources/projection.py`,
        `${service}/resources/views.py`,
      ]);
      const logic = read(app.cwd, `${service}/resources/services/customer_service.py`);
      for (const change of ['created', 'updated', 'deleted'])
        expect(logic).to.include(`await self._events.record("customer.${change}", `);
      expect(read(app.cwd, `${service}/resources/events.py`)).to.include(
        'await add_to_outbox(self._session, OUTBOX, stream=self._stream, event=event)',
      );
      expect(read(app.cwd, `${service}/resources/read_model.py`)).to.include(
        '"customer": view_table("read_customers")',
      );
      expect(read(app.cwd, `${service}/migrations/versions/0005_customers.py`)).to.include(
        '"read_customers"',
      );
      expect(read(app.cwd, `${service}/consumer.py`)).to.include(
        'project_resources(database, others=project_items(database))',
      );
    });
  });
});
