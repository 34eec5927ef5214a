import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';

const forge = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [CLI, ...args, '--yes', '--skip-install'], {
    cwd,
    encoding: 'utf8',
    input: '',
  });

describe('runs from where a user stands', function () {
  this.timeout(120_000);
  let project: string;

  before(() => {
    const parent = makeTempDir('defects');
    const created = forge(['new', 'shop', '--db', 'none', '--auth', 'none', '--tier', '2'], parent);
    expect(created.status, created.stderr).to.equal(0);
    project = path.join(parent, 'shop');
  });

  it('`add` in a subdirectory of the project works on the project', () => {
    const subdirectory = path.join(project, 'src/shop/routes');
    const run = forge(['add', 'db', '--db', 'redis'], subdirectory);
    expect(run.status, run.stderr).to.equal(0);
    expect(readConfig(project).db).to.equal('redis');
    expect(existsSync(path.join(subdirectory, '.yo-rc.json'))).to.equal(false);
    expect(existsSync(path.join(project, 'src/shop/db'))).to.equal(true);
  });

  it('refuses an empty service name in one line, changing nothing', () => {
    const before = snapshotTree(project);
    const run = forge(['add', 'microservice', ''], project);
    expect(run.status).to.equal(2);
    expect(run.stderr).to.match(/^fastapi-forge: the service name is empty; .*\n$/);
    expect(snapshotTree(project)).to.deep.equal(before);
  });

  it('refuses a service name the project imports, given its features, or `main`', () => {
    // The database added in the first test is Redis: the project now imports `coredis`, a module no fixed list names.
    const before = snapshotTree(project);
    const shadowing = forge(['add', 'microservice', 'coredis'], project);
    expect(shadowing.status).to.equal(2);
    expect(shadowing.stderr).to.match(
      /^fastapi-forge: invalid service name "coredis": the project imports a module of that name/,
    );
    const main = forge(['add', 'microservice', 'main'], project);
    expect(main.status).to.equal(2);
    expect(main.stderr).to.include('"main" is reserved');
    expect(snapshotTree(project)).to.deep.equal(before);
  });

  it('keeps CRLF line endings of a merged file', () => {
    const envExample = path.join(project, '.env.example');
    writeFileSync(envExample, readFileSync(envExample, 'utf8').replace(/\n/g, '\r\n'));
    const run = forge(['add', 'auth', '--auth', 'apikey'], project);
    expect(run.status, run.stderr).to.equal(0);
    const merged = readFileSync(envExample, 'utf8');
    expect(merged).to.match(/API_KEY/);
    expect(merged.replace(/\r\n/g, '')).to.not.include('\n');
    const again = snapshotTree(project);
    expect(forge(['add', 'auth'], project).status).to.equal(0);
    expect(snapshotTree(project)).to.deep.equal(again);
  });

  it('`add db` on a project without one names the flag, or asks in a terminal', async () => {
    const parent = makeTempDir('defects-ask');
    expect(
      forge(['new', 'lean', '--app-type', 'microservice', '--db', 'none', '--auth', 'none'], parent).status,
    ).to.equal(0);
    const lean = path.join(parent, 'lean');
    const before = snapshotTree(lean);
    const refused = forge(['add', 'db'], lean);
    expect(refused.status).to.equal(2);
    expect(refused.stderr).to.equal(
      'fastapi-forge: this project has no database; name the one to add with --db postgres|mongo|redis\n',
    );
    const noTerminal = spawnSync(process.execPath, [CLI, 'add', 'auth', '--skip-install'], {
      cwd: lean,
      encoding: 'utf8',
      input: '',
    });
    expect(noTerminal.status).to.equal(2);
    expect(noTerminal.stderr).to.match(/--auth jwt\|oidc\|apikey \(there is no terminal to ask\)\n$/);
    expect(snapshotTree(lean)).to.deep.equal(before);
    const asked = await runForge('db', { yes: false }).cd(lean).withAnswers({ db: 'mongo' });
    expect(asked.askedQuestions.map((question) => question.name)).to.deep.equal(['db']);
    expect(readConfig(lean)).to.include({ db: 'mongo', dbGenerated: true });
  });

  it('`new --dry-run` prints no next steps for a project it did not create', () => {
    const parent = makeTempDir('defects-dry');
    const run = forge(['new', 'shop', '--dry-run'], parent);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout + run.stderr).to.include('Dry run: nothing was written.');
    expect(run.stdout + run.stderr).to.not.match(/is ready in|cd shop/);
    expect(snapshotTree(parent)).to.deep.equal({});
  });
});
