import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';

const forge = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [CLI, ...args, '--yes', '--skip-install'], {
    cwd,
    encoding: 'utf8',
    input: '',
  });

/**
 * `forge` as a user whom permissions bind: root reads every file whatever its mode, so as root the run is
 * made as uid 1000, on a project that user owns, with a home of its own or `home`, which is left as it is.
 */
function forgeAsUser(args: string[], cwd: string, home?: string) {
  if (process.getuid?.() !== 0) return forge(args, cwd);
  const ownHome = home === undefined ? makeTempDir('defects-home') : undefined;
  // The project's parent too: a temporary directory only its owner may enter.
  for (const dir of [path.dirname(cwd), ownHome]) {
    if (dir !== undefined) spawnSync('chown', ['-R', '1000:1000', dir]);
  }
  const command = ['--reuid', '1000', '--regid', '1000', '--clear-groups', process.execPath, CLI];
  return spawnSync('setpriv', [...command, ...args, '--yes', '--skip-install'], {
    cwd,
    encoding: 'utf8',
    input: '',
    env: { ...process.env, HOME: home ?? ownHome },
  });
}

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
    // Modules of what the dependencies pull in: python-dotenv (pydantic-settings), uvloop (uvicorn[standard]).
    for (const name of ['dotenv', 'uvloop', 'websockets', 'pydantic_core', 'annotated_types']) {
      const run = forge(['add', 'microservice', name], project);
      expect(run.status, name).to.equal(2);
      expect(run.stderr).to.equal(
        `fastapi-forge: invalid service name "${name}": the project imports a module of that name, which the service would shadow\n`,
      );
    }
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

  it("a workspace member's renamed package folder stops the run in one line", () => {
    const copy = path.join(makeTempDir('defects-member'), 'shop');
    cpSync(project, copy, { recursive: true });
    renameSync(path.join(copy, 'services/orders/src/orders'), path.join(copy, 'services/orders/src/sales'));
    const before = snapshotTree(copy);
    const run = forge(['add', 'api'], copy);
    expect(run.status).to.equal(2);
    expect(run.stderr).to.equal(
      'fastapi-forge: services/orders/src/orders, a package folder recorded in .yo-rc.json and .forge/, is missing (services/orders/src/sales holds its files: was it renamed?); renaming a package is not supported: put it back as services/orders/src/orders and run again\n',
    );
    expect(snapshotTree(copy)).to.deep.equal(before);
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

  it('`new` without a terminal names the flag of the question it cannot ask', () => {
    const parent = makeTempDir('defects-no-tty');
    const run = spawnSync(process.execPath, [CLI, 'new', 'zz', '--skip-install'], {
      cwd: parent,
      encoding: 'utf8',
      input: '',
    });
    expect(run.status).to.equal(2);
    expect(run.stderr).to.equal(
      'fastapi-forge: "What are you building?" needs an answer, but there is no terminal to ask: pass --app-type agents|microservice|multi-service|streaming or use --yes\n',
    );
    expect(snapshotTree(parent)).to.deep.equal({});
  });

  it('a working directory deleted under the shell is one line, not a stack trace', () => {
    const gone = makeTempDir('defects-gone');
    const run = spawnSync(
      'sh',
      [
        '-c',
        'cd "$1" && rmdir "$1" && exec "$2" "$3" add api --yes --skip-install',
        'sh',
        gone,
        process.execPath,
        CLI,
      ],
      { encoding: 'utf8' },
    );
    expect(run.status).to.equal(2);
    expect(run.stderr).to.equal(
      'fastapi-forge: the current directory no longer exists; change to an existing one and run again\n',
    );
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

describe('what a user did to the project between runs', function () {
  this.timeout(120_000);
  let parent: string;
  let project: string;

  before(() => {
    parent = makeTempDir('defects-user');
    const created = forge(['new', 'shop', '--db', 'none', '--auth', 'none', '--agent-sdk', 'none'], parent);
    expect(created.status, created.stderr).to.equal(0);
    project = path.join(parent, 'shop');
  });

  it('`new` on an existing project refuses in one line, pointing at `add` and `upgrade`', () => {
    const before = snapshotTree(parent);
    for (const extra of [[], ['--dry-run'], ['--tier', '2']]) {
      const run = forge(['new', 'shop', ...extra], parent);
      expect(run.status).to.equal(2);
      expect(run.stderr).to.equal(
        'fastapi-forge: shop is already a fastapi-forge project; grow it with `fastapi-forge add <generator> --path shop`, or render it again with `fastapi-forge upgrade --path shop`\n',
      );
    }
    expect(snapshotTree(parent)).to.deep.equal(before);
  });

  it('`new` on an existing project takes over the lock a killed run left, still refusing', () => {
    const copy = makeTempDir('defects-stale-lock');
    cpSync(project, path.join(copy, 'shop'), { recursive: true });
    const before = snapshotTree(copy);
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    const lock = path.join(copy, 'shop/.forge/lock');
    writeFileSync(lock, JSON.stringify({ pid: dead, host: hostname() }));
    const run = forge(['new', 'shop'], copy);
    expect(run.status).to.equal(2);
    expect(run.stderr).to.match(
      new RegExp(
        `^Took over shop/\\.forge/lock from a fastapi-forge run \\(pid ${dead}\\) that is no longer running\\.\nfastapi-forge: shop is already a fastapi-forge project; `,
      ),
    );
    expect(existsSync(lock)).to.equal(false);
    expect(snapshotTree(copy)).to.deep.equal(before);
  });

  it('a checkout with CRLF endings (git autocrlf) is no edit, and a file written again keeps them', () => {
    const copy = path.join(makeTempDir('defects-crlf'), 'shop');
    cpSync(project, copy, { recursive: true });
    for (const [file, text] of Object.entries(snapshotTree(copy)))
      writeFileSync(path.join(copy, file), text.replace(/\r?\n/g, '\r\n'));
    const before = snapshotTree(copy);
    const run = forge(['add', 'observability'], copy);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.not.match(/conflict|Kept your edited version/);
    const after = snapshotTree(copy);
    // Files the run wrote again; .yo-rc.json and .forge/ are the generator's records, written as JSON.
    const rewritten = Object.keys(before).filter(
      (file) => after[file] !== before[file] && file !== '.yo-rc.json' && !file.startsWith('.forge/'),
    );
    expect(rewritten).to.include('src/shop/routes/__init__.py').and.include('pyproject.toml');
    for (const file of rewritten) expect(after[file], file).to.not.match(/[^\r]\n/);
    // Yeoman writes the config itself: it keeps the checkout's endings too.
    expect(after['.yo-rc.json']).to.include('"observability": true');
    expect(after['.yo-rc.json']).to.not.match(/[^\r]\n/);
    expect(after['src/shop/routes/__init__.py']).to.include('metrics');
    for (const command of [['add', 'observability'], ['upgrade']]) {
      const again = forge(command, copy);
      expect(again.status, again.stderr).to.equal(0);
      expect(again.stderr).to.not.match(/^ *(force|create|conflict) /m);
      expect(snapshotTree(copy), command.join(' ')).to.deep.equal(after);
    }
  });

  it('a generated file the run cannot read stops it in one line naming the file, recording no deletion', () => {
    const copy = path.join(makeTempDir('defects-unreadable'), 'shop');
    cpSync(project, copy, { recursive: true });
    const before = snapshotTree(copy);
    const errors = path.join(copy, 'src/shop/errors.py');
    chmodSync(errors, 0o000);
    try {
      const run = forgeAsUser(['add', 'api'], copy);
      expect(run.status).to.equal(2);
      expect(run.stderr).to.equal(
        'fastapi-forge: cannot read src/shop/errors.py: permission denied (EACCES); nothing was changed\n',
      );
    } finally {
      chmodSync(errors, 0o644);
    }
    expect(existsSync(path.join(copy, '.yo-resolve'))).to.equal(false);
    expect(snapshotTree(copy)).to.deep.equal(before);
  });

  it('a generated file the user deleted stays deleted, reported once, and `--restore` brings it back', () => {
    const errors = path.join(project, 'src/shop/errors.py');
    const compose = path.join(project, 'docker-compose.yml');
    const original = { errors: readFileSync(errors), compose: readFileSync(compose) };
    rmSync(errors);
    rmSync(compose);

    const first = forge(['add', 'api'], project);
    expect(first.status, first.stderr).to.equal(0);
    const reported = (first.stdout + first.stderr)
      .split('\n')
      .filter((line) => line.includes('kept deleted'));
    expect(reported.map((line) => line.trim())).to.deep.equal([
      'info kept deleted: src/shop/errors.py (recorded in .yo-resolve; run again with --restore src/shop/errors.py to get it back)',
      'info kept deleted: docker-compose.yml (recorded in .yo-resolve; run again with --restore docker-compose.yml to get it back)',
    ]);
    expect(existsSync(errors)).to.equal(false);
    expect(existsSync(compose)).to.equal(false);
    expect(readFileSync(path.join(project, '.yo-resolve'), 'utf8')).to.equal(
      'src/shop/errors.py skip # deleted by you; `--restore src/shop/errors.py` brings it back\n' +
        'docker-compose.yml skip # deleted by you; `--restore docker-compose.yml` brings it back\n',
    );

    // Later runs, `upgrade` included, leave them deleted and say nothing more.
    const recorded = snapshotTree(project);
    for (const args of [['add', 'api'], ['upgrade']]) {
      const again = forge(args, project);
      expect(again.status, again.stderr).to.equal(0);
      expect(again.stdout + again.stderr).to.not.include('kept deleted');
      expect(snapshotTree(project)).to.deep.equal(recorded);
    }

    // A file a run generates for the first time is still written.
    const auth = forge(['add', 'auth', '--auth', 'apikey'], project);
    expect(auth.status, auth.stderr).to.equal(0);
    expect(existsSync(path.join(project, 'src/shop/auth/dependencies.py'))).to.equal(true);
    expect(existsSync(errors)).to.equal(false);

    const unknown = forge(['add', 'api', '--restore', 'src/shop/nothing.py'], project);
    expect(unknown.status).to.equal(2);
    expect(unknown.stderr).to.match(
      /^fastapi-forge: --restore src\/shop\/nothing\.py: fastapi-forge generated no file/,
    );
    const present = forge(['add', 'api', '--restore', 'src/shop/main.py'], project);
    expect(present.status).to.equal(2);
    expect(present.stderr).to.equal(
      'fastapi-forge: --restore src/shop/main.py: the file is there; there is nothing to restore\n',
    );

    const restored = forge(['add', 'api', '--restore', './src/shop/errors.py'], project);
    expect(restored.status, restored.stderr).to.equal(0);
    expect(readFileSync(errors)).to.deep.equal(original.errors);
    expect(existsSync(compose)).to.equal(false);
    expect(readFileSync(path.join(project, '.yo-resolve'), 'utf8')).to.not.include('errors.py');
    const both = forge(['upgrade', '--restore', 'docker-compose.yml'], project);
    expect(both.status, both.stderr).to.equal(0);
    expect(readFileSync(compose, 'utf8')).to.include('\n  app:\n');
    expect(existsSync(path.join(project, '.yo-resolve'))).to.equal(false);
    // Its last line gone, .yo-resolve is removed, and reported so.
    expect(both.stderr).to.match(/^ +removed \.yo-resolve$/m);
    expect(both.stderr).to.not.match(/^ +(force|create) \.yo-resolve$/m);
  });

  it('a user-owned file forge wrote once (main.py) stays deleted too, and `--restore` writes it again', () => {
    const main = path.join(project, 'src/shop/main.py');
    const original = readFileSync(main, 'utf8');
    rmSync(main);
    const kept = forge(['add', 'api'], project);
    expect(kept.status, kept.stderr).to.equal(0);
    expect(kept.stdout + kept.stderr).to.include(
      'kept deleted: src/shop/main.py (recorded in .yo-resolve; run again with --restore src/shop/main.py to get it back)',
    );
    expect(existsSync(main)).to.equal(false);
    const restored = forge(['add', 'api', '--restore', 'src/shop/main.py'], project);
    expect(restored.status, restored.stderr).to.equal(0);
    expect(readFileSync(main, 'utf8')).to.equal(original);
    expect(existsSync(path.join(project, '.yo-resolve'))).to.equal(false);
  });

  it('an unreadable .forge record is ignored with one warning, keeping the files that differ', () => {
    const records: [string, string][] = [
      ['.forge/checksums.json', '{"README.md": "0a1b'],
      ['.forge/checksums.json', ''],
      ['.forge/structured.json', '[1,2]'],
    ];
    for (const [record, text] of records) {
      const copy = path.join(makeTempDir('defects-record'), 'shop');
      cpSync(project, copy, { recursive: true });
      writeFileSync(path.join(copy, record), text);
      const middleware = path.join(copy, 'src/shop/middleware/__init__.py');
      const before = readFileSync(middleware, 'utf8');
      const run = forge(['add', 'observability'], copy);
      expect(run.status, run.stderr).to.equal(0);
      const warnings = (run.stdout + run.stderr).split('\n').filter((line) => line.includes('warning:'));
      expect(warnings.map((line) => line.trim())).to.deep.equal([
        `info warning: ${record} is unreadable, so it is ignored: files that differ from what fastapi-forge would write are kept as yours`,
      ]);
      expect(run.stderr).to.not.match(/^\s+at /m);
      const rewritten = JSON.parse(readFileSync(path.join(copy, record), 'utf8')) as unknown;
      expect(rewritten).to.be.an('object').and.not.be.an('array').and.not.have.property('0');
      if (record.endsWith('checksums.json')) {
        // Nothing says forge wrote it: the file that observability rewires counts as the user's.
        expect(readFileSync(middleware, 'utf8')).to.equal(before);
        expect(run.stderr).to.include('Kept your edited version of:');
      }
    }
  });

  it('`upgrade` exits 1 while conflict markers of an earlier upgrade remain, naming the file', () => {
    const copy = path.join(makeTempDir('defects-markers'), 'shop');
    cpSync(project, copy, { recursive: true });
    const errors = path.join(copy, 'src/shop/errors.py');
    writeFileSync(errors, `# my header\n${readFileSync(errors, 'utf8')}`);
    for (const round of ['first', 'second']) {
      const run = forge(['upgrade'], copy);
      expect(run.status, `${round} upgrade: ${run.stderr}`).to.equal(1);
      expect(run.stderr).to.match(
        /left conflicts in 1 file\(s\), marked with <<<<<<< and >>>>>>>: src\/shop\/errors\.py\n$/,
      );
    }
    expect(readFileSync(errors, 'utf8')).to.match(/^<<<<<<< yours \(src\/shop\/errors\.py\)$/m);
  });

  it('a renamed package folder stops the run in one line, with nothing written', () => {
    const copy = path.join(makeTempDir('defects-renamed'), 'shop');
    cpSync(project, copy, { recursive: true });
    renameSync(path.join(copy, 'src/shop'), path.join(copy, 'src/store'));
    const before = snapshotTree(copy);
    for (const args of [['add', 'db', '--db', 'redis'], ['upgrade'], ['add', 'api']]) {
      const run = forge(args, copy);
      expect(run.status, args.join(' ')).to.equal(2);
      expect(run.stderr).to.equal(
        'fastapi-forge: src/shop, a package folder recorded in .yo-rc.json and .forge/, is missing (src/store holds its files: was it renamed?); renaming a package is not supported: put it back as src/shop and run again\n',
      );
    }
    expect(snapshotTree(copy)).to.deep.equal(before);
    rmSync(path.join(copy, 'src/store'), { recursive: true });
    const removed = forge(['add', 'api'], copy);
    expect(removed.status).to.equal(2);
    expect(removed.stderr).to.match(/^fastapi-forge: src\/shop, a package folder .* is missing; renaming/);
    expect(existsSync(path.join(copy, 'src/shop'))).to.equal(false);
  });

  it("a home directory the user cannot read is one line naming Yeoman's file there, changing nothing", function () {
    if (process.getuid?.() !== 0) this.skip(); // running as another user, with root's home, needs root
    const copy = path.join(makeTempDir('defects-home-root'), 'shop');
    cpSync(project, copy, { recursive: true });
    const before = snapshotTree(copy);
    const run = forgeAsUser(['add', 'auth', '--auth', 'jwt'], copy, '/root');
    expect(run.status, run.stderr).to.equal(2);
    expect(run.stderr).to.equal(
      'fastapi-forge: cannot read /root/.yo-rc-global.json (outside the project): permission denied (EACCES); nothing was changed\n',
    );
    expect(snapshotTree(copy)).to.deep.equal(before);
  });

  it('a renamed package folder made again, empty, under its old name stops the run in one line', () => {
    const copy = path.join(makeTempDir('defects-renamed-empty'), 'shop');
    cpSync(project, copy, { recursive: true });
    renameSync(path.join(copy, 'src/shop'), path.join(copy, 'src/store'));
    mkdirSync(path.join(copy, 'src/shop'));
    const before = snapshotTree(copy);
    const run = forge(['add', 'auth', '--auth', 'jwt'], copy);
    expect(run.status).to.equal(2);
    expect(run.stderr).to.equal(
      'fastapi-forge: src/shop, a package folder recorded in .yo-rc.json and .forge/, holds none of its files (src/store holds its files: was it renamed?); renaming a package is not supported: put it back as src/shop and run again\n',
    );
    expect(snapshotTree(copy)).to.deep.equal(before);
    expect(readdirSync(path.join(copy, 'src/shop'))).to.deep.equal([]);
  });
});

describe('a project and the files it cannot do without', function () {
  this.timeout(120_000);
  let project: string;

  before(() => {
    // Under a folder whose name starts with ".": its config must be written like any other file.
    const parent = path.join(makeTempDir('defects-dot'), '.work');
    mkdirSync(parent);
    const created = forge(['new', 'svc', '--db', 'none', '--auth', 'none', '--agent-sdk', 'none'], parent);
    expect(created.status, created.stderr).to.equal(0);
    project = path.join(parent, 'svc');
  });

  it('a pyproject.toml that is not TOML is one line naming the file and the line, changing nothing', () => {
    const pyproject = path.join(project, 'pyproject.toml');
    const original = readFileSync(pyproject, 'utf8');
    writeFileSync(pyproject, `${original}\n[[[\n`);
    const before = snapshotTree(project);
    const run = forge(['add', 'db', '--db', 'postgres'], project);
    const lines = original.split('\n').length + 1;
    expect(run.status).to.equal(2);
    expect(run.stderr).to.match(
      new RegExp(
        `^fastapi-forge: pyproject\\.toml:${lines}: not valid TOML \\(.*\\); fix it and run again\\n$`,
      ),
    );
    expect(snapshotTree(project)).to.deep.equal(before);
    writeFileSync(pyproject, original);
  });

  it('a deleted pyproject.toml, or a broken symlink in its place, is refused in one line naming --restore', () => {
    const pyproject = path.join(project, 'pyproject.toml');
    const original = readFileSync(pyproject, 'utf8');
    const refusal =
      'fastapi-forge: pyproject.toml is missing (deleted, or a broken symlink) and the project needs it: run again with --restore pyproject.toml to get it back, or restore it yourself; nothing was changed\n';
    rmSync(pyproject);
    const before = snapshotTree(project);
    const deleted = forge(['add', 'db', '--db', 'postgres'], project);
    expect(deleted.status).to.equal(2);
    expect(deleted.stderr).to.equal(refusal);
    expect(snapshotTree(project)).to.deep.equal(before);
    symlinkSync('nowhere.toml', pyproject);
    const dangling = forge(['add', 'db', '--db', 'postgres'], project);
    expect(dangling.status).to.equal(2);
    expect(dangling.stderr).to.equal(refusal);
    expect(lstatSync(pyproject).isSymbolicLink()).to.equal(true);
    rmSync(pyproject);
    const restored = forge(['add', 'api', '--restore', 'pyproject.toml'], project);
    expect(restored.status, restored.stderr).to.equal(0);
    expect(readFileSync(pyproject, 'utf8')).to.equal(original);
  });

  it('under a folder whose name starts with ".", `add` records what it added in .yo-rc.json', () => {
    const run = forge(['add', 'db', '--db', 'postgres'], project);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.not.include('.yo-rc.json. Run again');
    expect(run.stderr).to.not.match(/^ +(conflict|skip) \.yo-rc\.json$/m);
    expect(readConfig(project).db).to.equal('postgres');
    expect(existsSync(path.join(project, 'src/svc/db/session.py'))).to.equal(true);
    const again = forge(['add', 'db', '--db', 'postgres'], project);
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stderr).to.not.match(/^ +(conflict|skip|force|create) /m);
  });
});
