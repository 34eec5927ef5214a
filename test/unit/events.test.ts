import { expect } from 'chai';
import { expectUserError, makeTempDir, runForge, snapshotTree } from '../helpers.js';
import { declarationTests } from './declaration.js';

// Its Kubernetes consumers are tested in k8s-workspace.test.ts, its Python end to end in tier3.test.ts.
describe('events generator', () => {
  declarationTests('events');

  it('adds durable events to the shared libs and each service of a tier-2 workspace, and changes nothing when run again', async () => {
    const workspace = await runForge('app', {
      appType: 'microservice',
      tier: '2',
      db: 'none',
      auth: 'none',
      services: 'orders',
    })
      .cd(makeTempDir('events'))
      .withArguments(['demo-svc']);
    workspace.assertNoFile('libs/src/demo_svc_libs/streams.py');
    const added = await runForge('events').cd(workspace.cwd);
    added.assertFile([
      'libs/src/demo_svc_libs/streams.py',
      'libs/src/demo_svc_libs/outbox.py',
      'services/orders/src/orders/consumer.py',
      'services/orders/src/orders/projection.py',
    ]);
    const before = snapshotTree(workspace.cwd);
    await runForge('events').cd(workspace.cwd);
    expect(snapshotTree(workspace.cwd)).to.deep.equal(before);
  });

  it('refuses to run outside a forge project', async () => {
    const dir = makeTempDir('events-outside');
    await expectUserError(runForge('events').cd(dir).run(), /not a fastapi-forge project/);
    expect(snapshotTree(dir)).to.deep.equal({});
  });
});
