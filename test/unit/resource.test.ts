import { expect } from 'chai';
import { makeTempDir, runForge, snapshotTree } from '../helpers.js';
import { declarationTests } from './declaration.js';

// The field syntax, migrations and relations are tested in resources.test.ts.
describe('resource generator', () => {
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
