import { execSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { CLI, makeTempDir, snapshotTree } from '../helpers.js';
import { UV, run } from './processes.js';
import { freshDatabase, verifyProject } from './projects.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const ANSWERS = [
  '--app-type',
  'microservice',
  '--db',
  'postgres',
  '--auth',
  'jwt',
  '--yes',
  '--skip-install',
];
const GIT_USER = ['-c', 'user.email=dev@example.com', '-c', 'user.name=Dev'];

function git(cwd: string, args: string[]): string {
  return run('git', [...GIT_USER, ...args], cwd).output;
}

function upgrade(cwd: string, flags: string[] = []) {
  const result = spawnSync(process.execPath, [CLI, 'upgrade', '--skip-install', ...flags], {
    cwd,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * This package at the commit before the sixth-last one (merges not counted) that changed the core's Python
 * templates (far enough back that several generated modules differ: one change alone may touch one file, and
 * a few small ones in a row touched only the logging module): a real earlier version, built into a temporary
 * folder with this checkout's node_modules.
 */
function buildEarlierVersion(): { cli: string; commit: string } | undefined {
  const inGit = spawnSync('git', ['-C', PACKAGE_ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  if (inGit.status !== 0) return undefined;
  const changes = git(PACKAGE_ROOT, [
    'log',
    '-n6',
    '--no-merges',
    '--format=%H',
    'HEAD',
    '--',
    'templates/api/src',
  ]);
  const changed = changes.trim().split('\n').at(-1) ?? '';
  const commit = git(PACKAGE_ROOT, ['rev-parse', `${changed}^`]).trim();
  const dir = makeTempDir('forge-earlier');
  execSync(`git -C ${JSON.stringify(PACKAGE_ROOT)} archive ${commit} | tar -x -C ${JSON.stringify(dir)}`);
  symlinkSync(path.join(PACKAGE_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  run('npm', ['run', 'build'], dir);
  return { cli: path.join(dir, 'bin/fastapi-forge.js'), commit };
}

/** The project's files, without git's own (`git status` rewrites its index). */
const projectTree = (dir: string): Record<string, string> =>
  Object.fromEntries(Object.entries(snapshotTree(dir)).filter(([file]) => !file.startsWith('.git/')));

/** The first line index at which two texts differ. */
function firstDifference(a: string[], b: string[]): number {
  let index = 0;
  while (index < a.length && a[index] === b[index]) index += 1;
  return index;
}

describe('fastapi-forge upgrade, from a real earlier version', function () {
  this.timeout(20 * 60_000);
  let project: string;
  let current: Record<string, string>;
  let overlapping: string;
  let clean: string;
  let untouched: string;
  /** Files the earlier version generated (recorded with a checksum) that this one does not. */
  let dropped: string[];

  before(function () {
    const earlier = buildEarlierVersion();
    if (!earlier) {
      console.log('      not a git checkout: no earlier version to build, upgrade e2e not exercised');
      this.skip();
    }
    console.log(`      earlier version: ${earlier.commit.slice(0, 12)}`);
    const parent = makeTempDir('upgrade');
    run(process.execPath, [earlier.cli, 'new', 'shop', ...ANSWERS], parent);
    project = path.join(parent, 'shop');
    git(project, ['init', '-q']);
    git(project, ['add', '-A']);
    git(project, ['commit', '-qm', 'generated']);
    const old = snapshotTree(project);
    // What this version generates from the same answers: the files it changed are the ones to edit. A
    // project made before the example route became optional keeps it, as `--examples` would make it.
    const examples = old['src/shop/routes/echo.py'] === undefined ? [] : ['--examples'];
    const fresh = makeTempDir('upgrade-current');
    run(process.execPath, [CLI, 'new', 'shop', ...ANSWERS, ...examples], fresh);
    current = snapshotTree(path.join(fresh, 'shop'));
    const owned = Object.keys(
      JSON.parse(old['.forge/checksums.json'] ?? '{}') as Record<string, string>,
    ).filter((file) => file.endsWith('.py') && !file.includes('#'));
    dropped = Object.keys(JSON.parse(old['.forge/checksums.json'] ?? '{}') as Record<string, string>).filter(
      (file) => !file.includes('#') && current[file] === undefined,
    );
    const changed = owned.filter((file) => current[file] !== undefined && current[file] !== old[file]);
    const lines = (file: string, tree: Record<string, string>) => (tree[file] ?? '').split('\n');
    // Overlapping: the user edits a line the new version changes.
    overlapping = changed[0] ?? '';
    // Not overlapping: a comment on top of a file whose first change is well below it. A test module
    // first: its base, kept in .forge/base/tests/, asserts, and must not be linted as code (S101).
    const testsFirst = [
      ...changed.filter((file) => file.startsWith('tests/test_')),
      ...changed.filter((file) => file.startsWith('tests/')),
      ...changed,
    ];
    clean =
      testsFirst.find(
        (file) => file !== overlapping && firstDifference(lines(file, old), lines(file, current)) > 4,
      ) ?? '';
    untouched = owned.find((file) => current[file] === old[file]) ?? '';
    expect(overlapping && clean && untouched, `files to edit among ${changed.join(', ')}`).to.not.equal('');

    const edit = (file: string, change: (lines: string[]) => string[]) =>
      writeFileSync(path.join(project, file), change(lines(file, old)).join('\n'));
    const at = firstDifference(lines(overlapping, old), lines(overlapping, current));
    edit(overlapping, (text) => text.map((line, index) => (index === at ? `${line}  # mine` : line)));
    edit(clean, (text) => ['# kept: my note', ...text]);
    edit(untouched, (text) => ['# kept: untouched by the upgrade', ...text]);
    git(project, ['commit', '-qam', 'my edits']);
  });

  it('refuses a dirty work tree unless --allow-dirty', () => {
    const readme = path.join(project, 'README.md');
    const text = readFileSync(readme, 'utf8');
    writeFileSync(readme, `${text}\nwork in progress\n`);
    try {
      const refused = upgrade(project);
      expect(refused.status).to.equal(2);
      expect(refused.stderr).to.match(
        /^fastapi-forge: 1 uncommitted change\(s\) in this project; .*--allow-dirty\n$/,
      );
    } finally {
      writeFileSync(readme, text);
    }
  });

  it('--dry-run shows the full diff and writes nothing', () => {
    const before = projectTree(project);
    const dry = upgrade(project, ['--dry-run']);
    expect(dry.status).to.equal(1);
    const output = dry.stdout + dry.stderr;
    const oldLines = new Set(before[clean]?.split('\n'));
    const added = (current[clean] ?? '').split('\n').find((line) => line.trim() && !oldLines.has(line));
    expect(added, `a line this version adds to ${clean}`).to.be.a('string');
    expect(output).to.include(`+++ b/${clean}`).and.include(`\n+${added}\n`);
    expect(output).to.include(`+++ b/${overlapping}`).and.include('+<<<<<<< yours');
    expect(projectTree(project)).to.deep.equal(before);
  });

  it('applies clean merges, marks exactly the overlapping edit, and the resolved project passes its checks', () => {
    const result = upgrade(project);
    expect(result.status, result.stderr).to.equal(1);
    expect(result.stderr).to.match(
      /left conflicts in 1 file\(s\), marked with <<<<<<< and >>>>>>>: (\S+)\n$/,
    );
    expect(result.stderr.trim().split(': ').pop()).to.equal(overlapping);
    const after = projectTree(project);
    const conflicted = Object.keys(after).filter((file) => after[file]?.includes('<<<<<<< '));
    expect(conflicted).to.deep.equal([overlapping]);
    expect(after[clean]).to.equal(`# kept: my note\n${current[clean]}`);
    expect(after[untouched]).to.equal(`# kept: untouched by the upgrade\n${current[untouched]}`);
    // None of them edited: every file this version no longer generates is gone.
    console.log(`      files this version no longer generates: ${dropped.join(', ') || 'none'}`);
    for (const file of dropped) expect(after[file], file).to.equal(undefined);
    // Every generated Python file the user did not edit is now exactly what this version generates.
    for (const [file, content] of Object.entries(current)) {
      if (!file.endsWith('.py') || [overlapping, clean, untouched].includes(file)) continue;
      expect(after[file], file).to.equal(content);
    }
    // Resolved as a user may: taking the new version's side.
    const resolved = (after[overlapping] ?? '').replace(
      /<<<<<<< [^\n]*\n[\s\S]*?=======\n([\s\S]*?)>>>>>>> [^\n]*\n/g,
      (_, theirs: string) => theirs,
    );
    expect(resolved).to.equal(current[overlapping]);
    writeFileSync(path.join(project, overlapping), resolved);
    git(project, ['add', '-A']);
    git(project, ['commit', '-qm', 'upgraded']);
    const again = upgrade(project);
    expect(again.status, again.stderr).to.equal(0);
    expect(existsSync(path.join(project, '.forge/base', clean))).to.equal(true);
    console.log(`      edited without overlap, its base kept in .forge/base: ${clean}`);
    const database = freshDatabase('forge_upgrade');
    try {
      // verifyProject runs `ruff check .` as CI does, over the bases in .forge/ too; mypy as CI runs it, here.
      console.log(`      ${verifyProject(project, { TEST_DATABASE_URL: database.url, REDIS_URL })}`);
      run(UV, ['run', '--no-sync', 'mypy'], project);
    } finally {
      database.drop();
    }
  });
});
