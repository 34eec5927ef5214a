import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { isForgeUserError } from '../../lib/errors.js';
import { LOCK_FILE, lockProject } from '../../lib/lock.js';
import { readProjectState } from '../../lib/project.js';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import {
  JOURNAL_FILE,
  commitChanges,
  interruptedCommitCreates,
  recoverInterruptedCommit,
} from '../../lib/transaction.js';
import { PACKAGE_VERSION } from '../../lib/version.js';
import { CLI, makeTempDir, readConfig, snapshotTree, updateConfig } from '../helpers.js';

const TRANSACTION_MODULE = pathToFileURL(path.join(PACKAGE_ROOT, 'dist/lib/transaction.js')).href;

/** The tree before the commit under test, and the changes it makes. */
function seedProject(): string {
  const root = makeTempDir('txn');
  mkdirSync(path.join(root, 'src'));
  writeFileSync(path.join(root, 'README.md'), 'old readme\n');
  writeFileSync(path.join(root, 'src/keep.py'), 'x = 1\n');
  writeFileSync(path.join(root, 'src/gone.py'), 'y = 2\n');
  return root;
}

const CHANGES = {
  writes: [
    ['README.md', 'new readme\n'],
    ['src/keep.py', 'x = 2\n'],
    ['src/deep/new/module.py', 'z = 3\n'],
    ['scripts/run.sh', '#!/bin/sh\necho run\n'],
    ['.yo-rc.json', '{"generator-fastapi-forge":{}}\n'],
  ] as const,
  deletes: ['src/gone.py'],
};

const changesFor = (root: string) => ({
  writes: CHANGES.writes.map(([file, text]) => ({
    path: path.join(root, file),
    contents: Buffer.from(text),
    ...(file.endsWith('.sh') ? { mode: 0o755 } : {}),
  })),
  deletes: CHANGES.deletes.map((file) => path.join(root, file)),
});

/** Commits CHANGES in a child process that SIGKILLs itself at the given step of the commit. */
function commitKilledAt(root: string, step: number): number | null {
  const script = `
    import { commitChanges } from ${JSON.stringify(TRANSACTION_MODULE)};
    const root = ${JSON.stringify(root)};
    const changes = ${JSON.stringify(CHANGES)};
    commitChanges(root, {
      writes: changes.writes.map(([file, text]) => ({
        path: root + '/' + file, contents: Buffer.from(text), ...(file.endsWith('.sh') ? { mode: 0o755 } : {}),
      })),
      deletes: changes.deletes.map((file) => root + '/' + file),
    });`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, FASTAPI_FORGE_KILL_AT_STEP: String(step) },
    encoding: 'utf8',
  });
  if (result.signal !== 'SIGKILL' && result.status !== 0) throw new Error(result.stderr);
  return result.signal === 'SIGKILL' ? step : null;
}

/** Mounts a small tmpfs (root only): the way to meet ENOSPC and EROFS for real. */
function mountTmpfs(kib: number): string | undefined {
  const dir = makeTempDir('tmpfs');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir]);
  return mounted.status === 0 ? dir : undefined;
}

function expectOneLineUserError(action: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(isForgeUserError(caught), `expected a user error, got ${String(caught)}`).to.equal(true);
  expect((caught as Error).message)
    .to.match(message)
    .and.not.include('\n');
}

describe('transactional commit', function () {
  this.timeout(60_000);

  it('writes, creates directories, keeps modes, deletes, and leaves no journal or temporary file', () => {
    const root = seedProject();
    commitChanges(root, changesFor(root));
    const tree = snapshotTree(root);
    const expected = Object.fromEntries(CHANGES.writes.map(([file, text]) => [file, text]));
    expect(tree).to.deep.equal(expected);
    expect(statSync(path.join(root, 'scripts/run.sh')).mode & 0o777).to.equal(0o755);
  });

  it('after a SIGKILL at any step, the next run leaves the old tree or the new one, never a mix', () => {
    const before = snapshotTree(seedProject());
    const reference = seedProject();
    commitChanges(reference, changesFor(reference));
    const after = snapshotTree(reference);
    const outcomes = new Set<string>();
    // Steps: the journal, one temporary file per write, the commit point, one rename or delete per change.
    const steps = 1 + CHANGES.writes.length + 1 + CHANGES.writes.length + CHANGES.deletes.length;
    for (let step = 1; step <= steps; step++) {
      const root = seedProject();
      expect(commitKilledAt(root, step), `step ${step} was reached`).to.equal(step);
      // What the cut-off commit creates (so `new` can tell its own cut-off first run from an existing project).
      expect(interruptedCommitCreates(root, path.join(root, '.yo-rc.json')), `step ${step}`).to.equal(true);
      expect(interruptedCommitCreates(root, path.join(root, 'README.md')), `step ${step}`).to.equal(false);
      const outcome = recoverInterruptedCommit(root);
      outcomes.add(outcome);
      const tree = snapshotTree(root);
      const committed = step > 1 + CHANGES.writes.length;
      expect(outcome, `step ${step}`).to.equal(committed ? 'finished' : 'rolled back');
      expect(tree, `step ${step}`).to.deep.equal(committed ? after : before);
      expect(existsSync(path.join(root, JOURNAL_FILE))).to.equal(false);
    }
    expect([...outcomes].sort()).to.deep.equal(['finished', 'rolled back']);
  });

  it('a full disk is one line and changes nothing', function () {
    const root = mountTmpfs(64);
    if (!root) this.skip(); // mounting needs root: ENOSPC could not be exercised here
    try {
      writeFileSync(path.join(root, 'README.md'), 'old\n');
      const before = snapshotTree(root);
      const changes = {
        writes: [
          { path: path.join(root, 'README.md'), contents: Buffer.from('new\n') },
          { path: path.join(root, 'big/blob.txt'), contents: Buffer.alloc(256 * 1024, 97) },
        ],
        deletes: [],
      };
      expectOneLineUserError(
        () => commitChanges(root, changes),
        /no space left on the device \(ENOSPC\); nothing was changed/,
      );
      expect(snapshotTree(root)).to.deep.equal(before);
      expect(existsSync(path.join(root, 'big'))).to.equal(false);
    } finally {
      spawnSync('umount', [root]);
    }
  });

  it('a read-only file system is one line and changes nothing', function () {
    const root = mountTmpfs(1024);
    if (!root) this.skip(); // mounting needs root: EROFS could not be exercised here
    try {
      writeFileSync(path.join(root, 'README.md'), 'old\n');
      expect(spawnSync('mount', ['-o', 'remount,ro', root]).status).to.equal(0);
      const changes = {
        writes: [{ path: path.join(root, 'README.md'), contents: Buffer.from('new\n') }],
        deletes: [],
      };
      expectOneLineUserError(() => commitChanges(root, changes), /read-only file system \(EROFS\)/);
      expect(snapshotTree(root)).to.deep.equal({ 'README.md': 'old\n' });
    } finally {
      spawnSync('umount', [root]);
    }
  });
});

describe('files that cannot be written', () => {
  it('an immutable file among the targets is one line naming it, before anything changes', function () {
    const root = seedProject();
    for (const file of ['src/keep.py', 'src/gone.py']) {
      const target = path.join(root, file);
      if (spawnSync('chattr', ['+i', target]).status !== 0) this.skip(); // needs root on ext4
      try {
        const before = snapshotTree(root);
        expectOneLineUserError(
          () => commitChanges(root, changesFor(root)),
          new RegExp(`^cannot write ${file}: operation not permitted \\(EPERM\\); nothing was changed$`),
        );
        expect(snapshotTree(root)).to.deep.equal(before);
        expect(existsSync(path.join(root, JOURNAL_FILE))).to.equal(false);
      } finally {
        spawnSync('chattr', ['-i', target]);
      }
    }
  });
});

describe('a journal edited by hand', () => {
  it('of the wrong shape, or naming files outside the project, is rolled back touching nothing', () => {
    const root = seedProject();
    const outside = makeTempDir('txn-outside');
    const victim = path.join(outside, 'precious.txt');
    writeFileSync(victim, 'keep me\n');
    mkdirSync(path.join(root, '.forge'));
    const before = snapshotTree(root);
    const journals = [
      { files: 5, state: 'committing' },
      { state: 'committing', writes: 'README.md', deletes: [], directories: [] },
      { state: 'prepared', writes: [{ target: victim, temp: victim }], deletes: [], directories: [] },
      { state: 'committing', writes: [], deletes: [victim], directories: [outside] },
      [1, 2],
    ];
    for (const journal of journals) {
      writeFileSync(path.join(root, JOURNAL_FILE), JSON.stringify(journal));
      expect(recoverInterruptedCommit(root), JSON.stringify(journal)).to.equal('rolled back');
      expect(existsSync(path.join(root, JOURNAL_FILE))).to.equal(false);
      expect(snapshotTree(root)).to.deep.equal(before);
      expect(readFileSync(victim, 'utf8')).to.equal('keep me\n');
    }
  });
});

describe('project lock', () => {
  it('refuses a second holder in one line naming the lock, and is free again once released', () => {
    const root = makeTempDir('lock');
    const release = lockProject(root);
    expectOneLineUserError(() => lockProject(root), new RegExp(`holds .*${LOCK_FILE.replace('.', '\\.')}`));
    release();
    expect(existsSync(path.join(root, LOCK_FILE))).to.equal(false);
    lockProject(root)();
  });

  it('takes over the lock of a run that was killed', () => {
    const root = makeTempDir('lock-stale');
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    mkdirSync(path.join(root, '.forge'));
    writeFileSync(path.join(root, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname() }));
    lockProject(root)();
  });

  it('takes over the lock of a killed run that its parent has not reaped yet (a zombie)', async () => {
    const root = makeTempDir('lock-zombie');
    // `exec` replaces the shell by a process that never waits for the shell's child, which exits after the
    // exec and stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 60'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const pid = Number(
        await new Promise<string>((resolve) =>
          parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())),
        ),
      );
      const state = () => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      for (let tries = 0; state() !== 'Z' && tries < 100; tries++)
        await new Promise((r) => setTimeout(r, 20));
      expect(state()).to.equal('Z');
      mkdirSync(path.join(root, '.forge'));
      writeFileSync(path.join(root, LOCK_FILE), JSON.stringify({ pid, host: hostname() }));
      lockProject(root)();
      expect(existsSync(path.join(root, LOCK_FILE))).to.equal(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('takes over a lock left empty or unreadable by a run that failed while writing it', () => {
    const root = makeTempDir('lock-empty');
    mkdirSync(path.join(root, '.forge'));
    const lock = path.join(root, LOCK_FILE);
    for (const leftover of ['', '{"pid":', 'garbage', `{"pid":0,"host":"${hostname()}"}`, 'null']) {
      writeFileSync(lock, leftover);
      const longAgo = new Date(Date.now() - 60_000);
      utimesSync(lock, longAgo, longAgo);
      const release = lockProject(root);
      expect(JSON.parse(readFileSync(lock, 'utf8'))).to.deep.equal({ pid: process.pid, host: hostname() });
      release();
    }
    // A directory in its place is no run's lock, and is not removed.
    mkdirSync(lock);
    expectOneLineUserError(() => lockProject(root), /another fastapi-forge run is changing this project/);
    rmSync(lock, { recursive: true });
    // One being written this instant by the run that holds it is waited for, then its owner is judged.
    writeFileSync(lock, '');
    const holder = spawn(process.execPath, [
      '-e',
      `const owner = JSON.stringify({ pid: process.pid, host: ${JSON.stringify(hostname())} });
       setTimeout(() => require('fs').writeFileSync(${JSON.stringify(lock)}, owner), 300);
       setTimeout(() => {}, 60000);`,
    ]);
    try {
      expectOneLineUserError(() => lockProject(root), /another fastapi-forge run \(pid \d+\)/);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a full disk while writing the lock leaves no lock behind', function () {
    const root = mountTmpfs(64);
    if (!root) this.skip(); // mounting needs root: ENOSPC could not be exercised here
    try {
      mkdirSync(path.join(root, '.forge'));
      writeFileSync(path.join(root, 'fill'), Buffer.alloc(64 * 1024, 97), { flag: 'w' });
    } catch {
      // The filler stops where the file system is full, which is the point.
    }
    try {
      expectOneLineUserError(() => lockProject(root), /no space left on the device \(ENOSPC\)/);
      expect(existsSync(path.join(root, LOCK_FILE))).to.equal(false);
      rmSync(path.join(root, 'fill'));
      lockProject(root)();
    } finally {
      spawnSync('umount', [root]);
    }
  });
});

describe('runs through the CLI', function () {
  this.timeout(120_000);
  const forge = (args: string[], cwd: string) =>
    spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', input: '' });
  let parent: string;
  let project: string;

  before(() => {
    parent = makeTempDir('txn-cli');
    const created = forge(
      ['new', 'shop', '--yes', '--skip-install', '--db', 'none', '--auth', 'none'],
      parent,
    );
    expect(created.status, created.stderr).to.equal(0);
    project = path.join(parent, 'shop');
  });

  it('refuses a project written by a newer version, naming both versions', () => {
    updateConfig(project, { generatorVersion: '99.0.0' });
    try {
      expect(() => readProjectState(project)).to.throw(/99\.0\.0, newer than this fastapi-forge/);
      const before = snapshotTree(project);
      const run = forge(['add', 'api', '--yes'], project);
      expect(run.status).to.equal(2);
      expect(run.stderr.trim().split('\n')).to.have.length(1);
      expect(run.stderr).to.include('99.0.0').and.include(PACKAGE_VERSION);
      expect(snapshotTree(project)).to.deep.equal(before);
    } finally {
      updateConfig(project, { generatorVersion: PACKAGE_VERSION });
    }
  });

  it('refuses a generatorVersion that is not a version, in one line, changing nothing', () => {
    for (const version of [{ x: 1 }, 7, 'latest']) {
      updateConfig(project, { generatorVersion: version });
      try {
        const before = snapshotTree(project);
        const run = forge(['add', 'api', '--yes', '--skip-install'], project);
        expect(run.status).to.equal(2);
        expect(run.stderr).to.equal(
          'fastapi-forge: .yo-rc.json: generatorVersion must be a version such as "0.1.0"\n',
        );
        expect(snapshotTree(project)).to.deep.equal(before);
      } finally {
        updateConfig(project, { generatorVersion: PACKAGE_VERSION });
      }
    }
  });

  it('records the running version only when a run regenerates files', () => {
    updateConfig(project, { generatorVersion: '0.0.1' });
    expect(forge(['add', 'api', '--yes'], project).status).to.equal(0);
    expect(readConfig(project).generatorVersion).to.equal('0.0.1');
    updateConfig(project, { auth: 'none' });
    const added = forge(['add', 'auth', '--auth', 'apikey', '--yes'], project);
    expect(added.status, added.stderr).to.equal(0);
    expect(readConfig(project).generatorVersion).to.equal(PACKAGE_VERSION);
  });

  it('refuses to run while another run holds the lock, in one line, changing nothing', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(path.join(project, LOCK_FILE), JSON.stringify({ pid: holder.pid, host: hostname() }));
      const before = snapshotTree(project);
      const run = forge(['add', 'db', '--db', 'redis', '--yes', '--skip-install'], project);
      expect(run.status).to.equal(2);
      expect(run.stderr).to.match(
        /another fastapi-forge run \(pid \d+\) is changing this project and holds \.forge\/lock/,
      );
      expect(run.stderr.trim().split('\n')).to.have.length(1);
      expect(snapshotTree(project)).to.deep.equal(before);
    } finally {
      holder.kill('SIGKILL');
      rmSync(path.join(project, LOCK_FILE));
    }
  });

  it('meets a file it cannot write with one line and no change (an immutable directory)', function () {
    const routes = path.join(project, 'src/shop');
    if (spawnSync('chattr', ['+i', routes]).status !== 0) this.skip(); // needs root on ext4
    try {
      const before = snapshotTree(project);
      const run = forge(['add', 'db', '--db', 'redis', '--yes', '--skip-install'], project);
      expect(run.status).to.equal(2);
      // Nothing was written, so no status line (`create`, `force`) is printed: the error alone.
      expect(run.stderr).to.match(
        /^fastapi-forge: cannot write src\/shop\/.+: operation not permitted \(EPERM\); nothing was changed\n$/,
      );
      expect(run.stdout).to.equal('');
      expect(snapshotTree(project)).to.deep.equal(before);
    } finally {
      spawnSync('chattr', ['-i', routes]);
    }
  });

  it('prints its status lines once its files are written; a dry run prints those it would write', () => {
    const before = snapshotTree(project);
    const args = ['add', 'db', '--db', 'redis', '--yes', '--skip-install'];
    const dry = forge([...args, '--dry-run'], project);
    expect(dry.status, dry.stderr).to.equal(0);
    expect(dry.stderr).to.match(/^ +create src\/shop\/db\/__init__\.py$/m);
    expect(snapshotTree(project)).to.deep.equal(before);
    const run = forge(args, project);
    expect(run.status, run.stderr).to.equal(0);
    const created = [...run.stderr.matchAll(/^ +create (\S+)$/gm)].map((match) => match[1] ?? '');
    expect(created).to.include('src/shop/db/__init__.py');
    for (const file of created) {
      expect(before[file], file).to.equal(undefined);
      expect(existsSync(path.join(project, file)), file).to.equal(true);
    }
    expect(run.stderr).to.match(/^ +force \.yo-rc\.json$/m);
  });
});
