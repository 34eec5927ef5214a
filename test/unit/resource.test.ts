import { expect } from 'chai';
import { resourceFiles } from '../../generators/resource/files.js';
import { applicableSections } from '../../lib/files.js';
import { makeTempDir, runForge, snapshotTree } from '../helpers.js';
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
});
