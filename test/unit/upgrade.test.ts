import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import helpers from 'yeoman-test';
import { ForgeGenerator } from '../../lib/base-generator.js';
import { envVarsOf, requirementsOf } from '../../lib/merge.js';
import { type Migration, expandPath, migrationsBetween } from '../../lib/migrations.js';
import { findBase, firstVersion, mergeThreeWay, refuseDirtyTree, storedBasePath } from '../../lib/upgrade.js';
import { PACKAGE_VERSION } from '../../lib/version.js';
import { CLI, generatorPath, makeTempDir, snapshotTree } from '../helpers.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const git = (cwd: string, ...args: string[]) => {
  const result = spawnSync('git', ['-c', 'user.email=d@e.f', '-c', 'user.name=D', ...args], {
    cwd,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout;
};

describe('upgrade: three-way merges', () => {
  const base = 'import a\n\n\ndef f():\n    return 1\n\n\ndef g():\n    return 2\n';

  it('merges changes on both sides that do not overlap', () => {
    const yours = `# mine\n${base}`;
    const theirs = base.replace('return 2', 'return 3');
    const merged = mergeThreeWay('x.py', yours, base, theirs);
    expect(merged).to.deep.equal({ conflict: false, content: `# mine\n${theirs}` });
  });

  it('marks changes that overlap, naming both sides', () => {
    const merged = mergeThreeWay(
      'y.py',
      base.replace('return 1', 'return 10'),
      base,
      base.replace('return 1', 'return 11'),
    );
    expect(merged.conflict).to.equal(true);
    expect(merged.content).to.include(
      '<<<<<<< yours (y.py)\n    return 10\n=======\n    return 11\n>>>>>>> fastapi-forge upgrade\n',
    );
  });

  it('without a base, the whole file is one conflict, unless both sides agree', () => {
    expect(mergeThreeWay('z.py', 'a\n', undefined, 'b\n')).to.deep.equal({
      conflict: true,
      content: '<<<<<<< yours (z.py)\na\n\n=======\nb\n\n>>>>>>> fastapi-forge upgrade\n',
    });
    expect(mergeThreeWay('z.py', 'a\n', undefined, 'a\n').conflict).to.equal(false);
  });

  it('sets line endings aside: a CRLF checkout merges like the file it is', () => {
    const crlf = (text: string): string => text.replace(/\n/g, '\r\n');
    const theirs = base.replace('return 2', 'return 3');
    expect(mergeThreeWay('x.py', crlf(`# mine\n${base}`), crlf(base), theirs)).to.deep.equal({
      conflict: false,
      content: `# mine\n${theirs}`,
    });
    expect(mergeThreeWay('z.py', crlf(theirs), undefined, theirs).conflict).to.equal(false);
  });
});

describe('upgrade: the base of a file', () => {
  it('is the file while unedited, the stored base, or the committed rendering whose checksum matches', () => {
    const root = makeTempDir('upgrade-base');
    git(root, 'init', '-q');
    writeFileSync(path.join(root, 'm.py'), 'generated\n');
    git(root, 'add', '-A');
    git(root, 'commit', '-qm', 'generated');
    writeFileSync(path.join(root, 'm.py'), 'edited\n');
    git(root, 'commit', '-qam', 'edited');
    expect(findBase(root, 'm.py', sha256('edited\n'), 'edited\n')).to.equal('edited\n');
    expect(findBase(root, 'm.py', sha256('generated\n'), 'edited\n')).to.equal('generated\n');
    expect(findBase(root, 'm.py', sha256('never committed\n'), 'edited\n')).to.equal(undefined);
    mkdirSync(path.join(root, '.forge/base'), { recursive: true });
    writeFileSync(path.join(root, storedBasePath('m.py')), 'never committed\n');
    expect(findBase(root, 'm.py', sha256('never committed\n'), 'edited\n')).to.equal('never committed\n');
    expect(firstVersion(root, 'm.py')).to.equal('generated\n');
  });

  it('refuses a dirty work tree in one line, unless allowed', () => {
    const root = makeTempDir('upgrade-dirty');
    git(root, 'init', '-q');
    writeFileSync(path.join(root, 'a.txt'), 'a\n');
    expect(() => refuseDirtyTree(root, false)).to.throw(
      /^1 uncommitted change\(s\) in this project; .*--allow-dirty$/,
    );
    refuseDirtyTree(root, true);
    git(root, 'add', '-A');
    git(root, 'commit', '-qm', 'a');
    refuseDirtyTree(root, false);
    refuseDirtyTree(makeTempDir('upgrade-no-git'), false);
  });
});

describe('upgrade: structured files and migrations', () => {
  it('reads the variables of .env.example with their comments, and the requirements of pyproject.toml', () => {
    expect(envVarsOf('# --- core ---\n# Serve docs\nAPI_DOCS=\nLOG_LEVEL=info\r\n')).to.deep.equal([
      { name: 'API_DOCS', value: '', comment: 'Serve docs' },
      { name: 'LOG_LEVEL', value: 'info' },
    ]);
    const pyproject =
      '[project]\nname = "x"\ndependencies = ["fastapi>=0.1"]\n[dependency-groups]\ndev = ["pytest"]\n';
    expect(requirementsOf(pyproject)).to.deep.equal([
      { requirements: ['fastapi>=0.1'] },
      { group: 'dev', requirements: ['pytest'] },
    ]);
  });

  it('takes the steps of the versions after the project, up to the running one, oldest first', () => {
    const steps: Migration[] = [
      { version: '0.3.0', description: 'c', removals: ['src/{package}/old.py'] },
      { version: '0.1.0', description: 'a' },
      { version: '0.2.0', description: 'b', renames: [['a.py', 'b.py']] },
      { version: '0.4.0', description: 'd' },
    ];
    const names = (list: Migration[]) => list.map((step) => step.description);
    expect(names(migrationsBetween('0.1.0', '0.3.0', steps))).to.deep.equal(['b', 'c']);
    expect(names(migrationsBetween(undefined, '0.2.0', steps))).to.deep.equal(['a', 'b']);
    expect(names(migrationsBetween('0.4.0', '0.4.0', steps))).to.deep.equal([]);
    expect(expandPath('src/{package}/old.py', 'shop')).to.equal('src/shop/old.py');
  });
});

/** A generator that applies given migration steps, then renders one owned file, as `upgrade` does. */
class MigratingGenerator extends ForgeGenerator {
  writing(): void {
    this.applyMigrations([
      {
        version: PACKAGE_VERSION,
        description: 'renamed',
        renames: [['src/{package}/old.py', 'src/{package}/new.py']],
      },
    ]);
    this.writeFile('src/demo/new.py', 'x = 1\n', 'owned');
  }
}

describe('upgrade: files the user deleted', () => {
  it('a migration renames the record of a deleted file, which stays deleted under its new name', async () => {
    const root = makeTempDir('upgrade-deleted');
    mkdirSync(path.join(root, 'src/demo'), { recursive: true });
    mkdirSync(path.join(root, '.forge'));
    const config = { projectName: 'demo', packageName: 'demo', generatorVersion: '0.0.1' };
    writeFileSync(path.join(root, '.yo-rc.json'), JSON.stringify({ 'generator-fastapi-forge': config }));
    writeFileSync(
      path.join(root, '.forge/checksums.json'),
      JSON.stringify({ 'src/demo/old.py': sha256('x = 0\n') }),
    );
    await helpers
      // Resolved inside this package, so that it reads the package's config in .yo-rc.json.
      .run(
        MigratingGenerator as never,
        { namespace: 'fastapi-forge:migrating', resolved: generatorPath('migrating') },
        { force: false } as never,
      )
      .withOptions({ skipInstall: true, yes: true, force: false, upgrade: true } as never)
      .cd(root);
    expect(existsSync(path.join(root, 'src/demo/new.py'))).to.equal(false);
    expect(JSON.parse(readFileSync(path.join(root, '.forge/checksums.json'), 'utf8'))).to.deep.equal({
      'src/demo/new.py': sha256('x = 0\n'),
    });
    expect(readFileSync(path.join(root, '.yo-resolve'), 'utf8')).to.match(/^src\/demo\/new\.py skip #/);
  });
});

describe('upgrade: files the new version no longer generates', function () {
  this.timeout(120_000);
  const forge = (args: string[], cwd: string) =>
    spawnSync(process.execPath, [CLI, ...args, '--yes', '--skip-install'], {
      cwd,
      encoding: 'utf8',
      input: '',
    });

  /** A new project without database, auth or agents, and the checksums its first run recorded. */
  const minimalProject = (prefix: string) => {
    const parent = makeTempDir(prefix);
    expect(
      forge(['new', 'shop', '--db', 'none', '--auth', 'none', '--agent-sdk', 'none'], parent).status,
    ).to.equal(0);
    const project = path.join(parent, 'shop');
    const checksumsFile = path.join(project, '.forge/checksums.json');
    const checksums = JSON.parse(readFileSync(checksumsFile, 'utf8')) as Record<string, string>;
    return { parent, project, checksumsFile, checksums };
  };

  it('removes one you left as generated, keeps one you edited as yours, and --dry-run lists the removal', () => {
    const { project, checksumsFile, checksums } = minimalProject('upgrade-dropped');
    // What an earlier version generated and this one does not: a test, a module the user then edited, and
    // a file the user deleted.
    const oldTest = 'def test_old() -> None:\n    assert False\n';
    writeFileSync(path.join(project, 'tests/test_old.py'), oldTest);
    writeFileSync(path.join(project, 'src/shop/old.py'), 'X = 1  # mine\n');
    const records = {
      'tests/test_old.py': sha256(oldTest),
      'src/shop/old.py': sha256('X = 1\n'),
      'src/shop/gone.py': sha256('Y = 1\n'),
    };
    writeFileSync(checksumsFile, JSON.stringify({ ...checksums, ...records }));
    const before = snapshotTree(project);

    const dry = forge(['upgrade', '--dry-run'], project);
    expect(dry.status, dry.stderr).to.equal(0);
    expect(dry.stdout).to.include('--- a/tests/test_old.py');
    expect(dry.stdout + dry.stderr).to.include('removed tests/test_old.py: fastapi-forge');
    expect(snapshotTree(project)).to.deep.equal(before);

    const run = forge(['upgrade'], project);
    expect(run.status, run.stderr).to.equal(0);
    expect(existsSync(path.join(project, 'tests/test_old.py'))).to.equal(false);
    expect(readFileSync(path.join(project, 'src/shop/old.py'), 'utf8')).to.equal('X = 1  # mine\n');
    expect(run.stderr).to.include(
      `fastapi-forge: ${PACKAGE_VERSION} no longer generates 1 file(s) you edited; they are kept as yours (delete them if you no longer need them): src/shop/old.py\n`,
    );
    // The edited file is the user's now; the deleted one keeps its record, so it stays deleted.
    expect(JSON.parse(readFileSync(checksumsFile, 'utf8'))).to.deep.equal({
      ...checksums,
      'src/shop/gone.py': records['src/shop/gone.py'],
    });

    const after = snapshotTree(project);
    const again = forge(['upgrade'], project);
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stdout + again.stderr).to.not.include('no longer generates');
    expect(snapshotTree(project)).to.deep.equal(after);
  });

  it('never touches a file outside the project that a record names: such a record is not trusted', () => {
    const { parent, project, checksumsFile, checksums } = minimalProject('upgrade-outside');
    const notes = 'my own notes\n';
    const victims = [path.join(parent, 'notes.txt'), path.join(parent, 'elsewhere', 'notes.txt')];
    mkdirSync(path.dirname(victims[1] ?? ''), { recursive: true });
    for (const victim of victims) writeFileSync(victim, notes);
    // What a record edited by hand, or left by a run that wrote elsewhere, could name: as generated files.
    for (const key of ['../notes.txt', victims[1] ?? '', 'src/../../notes.txt', 'src\\..\\..\\notes.txt']) {
      writeFileSync(checksumsFile, JSON.stringify({ ...checksums, [key]: sha256(notes) }));
      const run = forge(['upgrade', '--allow-dirty'], project);
      expect(run.status, run.stderr).to.equal(0);
      expect(run.stdout + run.stderr, key).to.not.include('notes.txt');
      expect(run.stdout + run.stderr, key).to.include(
        '.forge/checksums.json is unreadable, so it is ignored',
      );
      for (const victim of victims) expect(readFileSync(victim, 'utf8'), `${key}: ${victim}`).to.equal(notes);
    }
  });
});
