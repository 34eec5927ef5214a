import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { expectUserError, makeTempDir, runForge, snapshotTree } from '../helpers.js';
import { declarationTests } from './declaration.js';

describe('api generator', () => {
  declarationTests('api');

  it('re-renders the core on an existing project without changing it', async () => {
    const first = await runForge('app').cd(makeTempDir('gen')).withArguments(['demo-svc']);
    const before = snapshotTree(first.cwd);
    await runForge('api').cd(first.cwd);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
  });

  it('keeps a deleted owned file deleted, recorded in .yo-resolve, and writes it again when restored', async () => {
    const first = await runForge('app', { auth: 'none' }).cd(makeTempDir('gen')).withArguments(['demo-svc']);
    const errors = path.join(first.cwd, 'src/demo_svc/errors.py');
    const original = readFileSync(errors, 'utf8');
    rmSync(errors);
    await runForge('api').cd(first.cwd);
    expect(existsSync(errors)).to.equal(false);
    expect(readFileSync(path.join(first.cwd, '.yo-resolve'), 'utf8')).to.match(
      /^src\/demo_svc\/errors\.py skip #/,
    );
    await runForge('api', { restore: ['src/demo_svc/errors.py'] }).cd(first.cwd);
    expect(readFileSync(errors, 'utf8')).to.equal(original);
    expect(existsSync(path.join(first.cwd, '.yo-resolve'))).to.equal(false);
  });

  it('keeps the example route of a project made before it became optional, and adds none to others', async () => {
    const old = await runForge('app', { examples: true }).cd(makeTempDir('gen')).withArguments(['demo-svc']);
    const yoRc = path.join(old.cwd, '.yo-rc.json');
    const stored = JSON.parse(readFileSync(yoRc, 'utf8')) as Record<string, Record<string, unknown>>;
    delete stored['generator-fastapi-forge']?.examples;
    writeFileSync(yoRc, `${JSON.stringify(stored, null, 2)}\n`);
    await runForge('api').cd(old.cwd);
    expect(readFileSync(path.join(old.cwd, 'src/demo_svc/routes/__init__.py'), 'utf8')).to.include(
      'echo.router',
    );
    expect(JSON.parse(readFileSync(yoRc, 'utf8'))['generator-fastapi-forge'].examples).to.equal(true);

    const lean = await runForge('app').cd(makeTempDir('gen')).withArguments(['demo-svc']);
    await runForge('api').cd(lean.cwd);
    expect(existsSync(path.join(lean.cwd, 'src/demo_svc/routes/echo.py'))).to.equal(false);
    expect(
      JSON.parse(readFileSync(path.join(lean.cwd, '.yo-rc.json'), 'utf8'))['generator-fastapi-forge'],
    ).to.not.have.property('examples');
  });

  it('refuses to run outside a forge project', async () => {
    const dir = makeTempDir('api-outside');
    await expectUserError(runForge('api').cd(dir).run(), /not a fastapi-forge project/);
    expect(snapshotTree(dir)).to.deep.equal({});
  });
});
