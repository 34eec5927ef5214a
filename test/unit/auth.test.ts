import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { expectUserError, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';
import { declarationTests } from './declaration.js';

describe('auth generator', () => {
  declarationTests('auth');

  it('adds auth to a project generated without it, upgrading unedited wiring silently', async () => {
    const first = await runForge('app', { auth: 'none' }).cd(makeTempDir('gen')).withArguments(['demo-svc']);
    const main = path.join(first.cwd, 'src/demo_svc/main.py');
    const mainBefore = readFileSync(main, 'utf8');
    const added = await runForge('auth', { auth: 'jwt' }).cd(first.cwd);
    expect(added.askedQuestions).to.deep.equal([]);
    added.assertFile(['src/demo_svc/auth/dependencies.py', 'src/demo_svc/auth/jwt.py']);
    added.assertFileContent('src/demo_svc/dependencies.py', 'Security(authenticate)');
    added.assertFileContent('pyproject.toml', /"pyjwt\[crypto\]/);
    added.assertFileContent('.env.example', /^JWT_SECRET=/m);
    expect(readFileSync(main, 'utf8')).to.equal(mainBefore);
    expect(readConfig(first.cwd).auth).to.equal('jwt');

    const before = snapshotTree(first.cwd);
    await runForge('auth').cd(first.cwd);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
  });

  it('asks before replacing wiring the user edited', async () => {
    const first = await runForge('app', { auth: 'none' }).cd(makeTempDir('gen')).withArguments(['demo-svc']);
    const wiring = path.join(first.cwd, 'src/demo_svc/middleware/__init__.py');
    const edited = `${readFileSync(wiring, 'utf8')}\n# my own middleware\n`;
    writeFileSync(wiring, edited);
    const added = await runForge('auth', { auth: 'apikey' }).cd(first.cwd).withAnswers({ action: 'skip' });
    expect(added.askedQuestions.map((question) => question.name)).to.deep.equal(['action']);
    expect(readFileSync(wiring, 'utf8')).to.equal(edited);
  });

  it('refuses to run outside a forge project', async () => {
    const dir = makeTempDir('auth-outside');
    await expectUserError(runForge('auth', { auth: 'jwt' }).cd(dir).run(), /not a fastapi-forge project/);
    expect(snapshotTree(dir)).to.deep.equal({});
  });
});
