import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { isForgeUserError } from '../../lib/errors.js';
import { LOCK_FILE, lockProject, startOf } from '../../lib/lock.js';
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
const LOCK_MODULE = pathToFileURL(path.join(PACKAGE_ROOT, 'dist/lib/lock.js')).href;

/** A real process that takes the project's lock and holds it until it is killed; resolves once it holds it. */
async function lockHolder(root: string): Promise<ChildProcess> {
  const holder = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { lockProject } = await import(${JSON.stringify(LOCK_MODULE)});
       lockProject(${JSON.stringify(root)});
       process.stdout.write('held\\n');
       setTimeout(() => {}, 60000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  return holder;
}

/** Kills `holder` with SIGKILL, as a user or the OOM killer would, and waits until it is gone (reaped). */
async function killHard(holder: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  holder.kill('SIGKILL');
  await exited;
}

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

type Changes = { writes: readonly (readonly [string, string])[]; deletes: readonly string[] };

/** A child process's script that commits `changes` to `root`, printing a user error's message. */
function commitScript(root: string, changes: Changes): string {
  return `
    import { commitChanges } from ${JSON.stringify(TRANSACTION_MODULE)};
    const root = ${JSON.stringify(root)};
    const changes = ${JSON.stringify(changes)};
    try {
    commitChanges(root, {
      writes: changes.writes.map(([file, text]) => ({
        path: root + '/' + file, contents: Buffer.from(text), ...(file.endsWith('.sh') ? { mode: 0o755 } : {}),
      })),
      deletes: changes.deletes.map((file) => root + '/' + file),
    });
    } catch (error) {
      if (error.name !== 'ForgeUserError') throw error;
      process.stdout.write(error.message);
      process.exit(2);
    }`;
}

/** Commits `changes` in a child process that SIGKILLs itself at the given step of the commit. */
function commitKilledAt(root: string, step: number, changes: Changes = CHANGES): number | null {
  const script = commitScript(root, changes);
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
      outcomes.add(JSON.stringify(outcome));
      const tree = snapshotTree(root);
      const committed = step > 1 + CHANGES.writes.length;
      expect(outcome, `step ${step}`).to.equal(committed ? 'finished' : 'rolled back');
      expect(tree, `step ${step}`).to.deep.equal(committed ? after : before);
      expect(existsSync(path.join(root, JOURNAL_FILE))).to.equal(false);
    }
    expect([...outcomes].sort()).to.deep.equal(['"finished"', '"rolled back"']);
  });

  it('a project moved, or reached through a symlink, after a SIGKILL is recovered where it is now', () => {
    const before = snapshotTree(seedProject());
    const reference = seedProject();
    commitChanges(reference, changesFor(reference));
    const after = snapshotTree(reference);
    const steps = 1 + CHANGES.writes.length + 1 + CHANGES.writes.length + CHANGES.deletes.length;
    /** Where the cut-off commit ran, and where the next run finds the project. */
    const ways: Record<string, (root: string) => { cut: string; next: string }> = {
      moved: (root) => ({ cut: root, next: `${root}-moved` }),
      'cut through a symlink': (root) => ({ cut: `${root}-link`, next: root }),
      'recovered through a symlink': (root) => ({ cut: root, next: `${root}-link` }),
    };
    for (const [way, where] of Object.entries(ways)) {
      for (let step = 1; step <= steps; step++) {
        const root = seedProject();
        const { cut, next } = where(root);
        symlinkSync(root, `${root}-link`);
        expect(commitKilledAt(cut, step), `${way}, step ${step} was reached`).to.equal(step);
        if (way === 'moved') renameSync(root, next);
        const committed = step > 1 + CHANGES.writes.length;
        expect(recoverInterruptedCommit(next), `${way}, step ${step}`).to.equal(
          committed ? 'finished' : 'rolled back',
        );
        expect(snapshotTree(next), `${way}, step ${step}`).to.deep.equal(committed ? after : before);
      }
    }
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

  it('a disk too full for the journal is one line naming it, and leaves no temporary journal', function () {
    const root = mountTmpfs(64);
    if (!root) this.skip(); // mounting needs root: ENOSPC could not be exercised here
    try {
      mkdirSync(path.join(root, '.forge'));
      try {
        writeFileSync(path.join(root, 'filler'), Buffer.alloc(1024 * 1024, 97));
      } catch {
        // Filled up to the last byte: what the test wants.
      }
      const before = snapshotTree(root);
      const changes = {
        writes: [{ path: path.join(root, 'README.md'), contents: Buffer.from('new\n') }],
        deletes: [],
      };
      expectOneLineUserError(
        () => commitChanges(root, changes),
        /^cannot write \.forge\/journal\.json: no space left on the device \(ENOSPC\); nothing was changed$/,
      );
      expect(snapshotTree(root)).to.deep.equal(before);
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

describe('a directory removed while the commit writes', () => {
  it('is one line naming the file, and the commit is rolled back', async function () {
    if (spawnSync('strace', ['-V']).status !== 0) this.skip(); // pausing the commit needs strace
    // The root's temporary file first: the run is paused there while src/ is removed.
    const changes = {
      writes: [
        ['README.md', 'new\n'],
        ['src/keep.py', 'x = 2\n'],
      ] as const,
      deletes: [],
    };
    const trace = path.join(makeTempDir('strace'), 'openat.log');
    const calibration = seedProject();
    const node = [process.execPath, '--input-type=module', '-e'];
    // Only the main thread (no -f), where the commit runs: counting the threads' opens too is not repeatable.
    spawnSync('strace', [
      '-qq',
      '-o',
      trace,
      '-e',
      'trace=openat',
      ...node,
      commitScript(calibration, changes),
    ]);
    const opens = readFileSync(trace, 'utf8').split('\n');
    const first = opens.findIndex((line) => line.includes('.forge-')) + 1;
    expect(first).to.be.greaterThan(0);
    const root = seedProject();
    const before = snapshotTree(root);
    const inject = `inject=openat:signal=SIGSTOP:when=${first}`;
    const run = spawn(
      'strace',
      ['-qq', '-o', '/dev/null', '-e', 'trace=openat', '-e', inject, ...node, commitScript(root, changes)],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    run.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    run.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => run.once('exit', resolve));
    const paused = (): boolean => readdirSync(root).some((name) => name.includes('.forge-'));
    for (let waited = 0; !paused() && waited < 200; waited++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    rmSync(path.join(root, 'src'), { recursive: true });
    process.kill(-(run.pid ?? 0), 'SIGCONT');
    expect(await exited, output).to.equal(2);
    expect(output).to.equal(
      'cannot write src/keep.py: a directory on its path was removed while the run wrote (ENOENT); nothing was changed',
    );
    const rest = Object.fromEntries(Object.entries(before).filter(([file]) => !file.startsWith('src/')));
    expect(snapshotTree(root)).to.deep.equal(rest);
  });
});

describe('finishing a cut-off commit', () => {
  it('keeps a target the user changed after the crash, and finishes the others', () => {
    const root = seedProject();
    // The journal, a temporary file per write, the commit point: killed before any rename.
    const step = 1 + CHANGES.writes.length + 1;
    expect(commitKilledAt(root, step)).to.equal(step);
    writeFileSync(path.join(root, 'README.md'), 'my own readme\n');
    writeFileSync(path.join(root, 'src/gone.py'), 'y = 3  # edited\n');
    expect(recoverInterruptedCommit(root)).to.deep.equal({
      finished: true,
      kept: ['README.md', 'src/gone.py'],
    });
    const tree = snapshotTree(root);
    expect(tree).to.include({
      'README.md': 'my own readme\n',
      'src/gone.py': 'y = 3  # edited\n',
      'src/keep.py': 'x = 2\n',
      '.yo-rc.json': '{"generator-fastapi-forge":{}}\n',
    });
    expect(Object.keys(tree).filter((file) => file.includes('.forge-'))).to.deep.equal([]);
    expect(existsSync(path.join(root, JOURNAL_FILE))).to.equal(false);
  });

  it('keeps a record created by the user after the crash where the cut-off run would have created it', () => {
    const root = seedProject();
    const step = 1 + CHANGES.writes.length + 1;
    expect(commitKilledAt(root, step)).to.equal(step);
    writeFileSync(path.join(root, '.yo-rc.json'), '{"mine":true}\n');
    expect(recoverInterruptedCommit(root)).to.deep.equal({ finished: true, kept: ['.yo-rc.json'] });
    expect(readFileSync(path.join(root, '.yo-rc.json'), 'utf8')).to.equal('{"mine":true}\n');
  });

  it('a journal that is a directory is one line naming it, removing nothing', () => {
    for (const name of [JOURNAL_FILE, `${JOURNAL_FILE}.tmp`]) {
      const root = seedProject();
      mkdirSync(path.join(root, name), { recursive: true });
      writeFileSync(path.join(root, name, 'inside.txt'), 'keep\n');
      const before = snapshotTree(root);
      expectOneLineUserError(
        () => recoverInterruptedCommit(root),
        new RegExp(
          `^${name.replace(/\./g, '\\.')} is a directory, .*move it away and run again; nothing was changed$`,
        ),
      );
      expect(snapshotTree(root)).to.deep.equal(before);
    }
  });
});

describe('a journal edited by hand', () => {
  it("cut short after some renames: the records stay the last run's and its temporary files go", () => {
    // The records first, as Yeoman hands them over: they are still renamed last.
    const [records, ...files] = [...CHANGES.writes].reverse();
    const changes = { writes: records ? [records, ...files.reverse()] : [], deletes: CHANGES.deletes };
    const root = seedProject();
    // The journal, a temporary file per write, the commit point, then two renames.
    const step = 1 + changes.writes.length + 1 + 2;
    expect(commitKilledAt(root, step, changes)).to.equal(step);
    const journal = path.join(root, JOURNAL_FILE);
    const text = readFileSync(journal, 'utf8');
    writeFileSync(journal, text.slice(0, Math.floor(text.length / 3)));
    expect(recoverInterruptedCommit(root)).to.deep.equal({ unreadable: 3 });
    const tree = snapshotTree(root);
    expect(tree).to.not.have.property('.yo-rc.json');
    expect(tree).to.include({ 'README.md': 'new readme\n', 'src/keep.py': 'x = 2\n' });
    expect(Object.keys(tree).filter((file) => file.includes('.forge-'))).to.deep.equal([]);
    expect(existsSync(journal)).to.equal(false);
  });

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
      { state: 'committing', writes: [], deletes: [path.relative(root, victim)], directories: [] },
      [1, 2],
    ];
    for (const journal of journals) {
      writeFileSync(path.join(root, JOURNAL_FILE), JSON.stringify(journal));
      expect(recoverInterruptedCommit(root), JSON.stringify(journal)).to.deep.equal({ unreadable: 0 });
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

  it('takes over, saying so, the lock of a run killed with SIGKILL while it held it; a live one refuses', async () => {
    const root = makeTempDir('lock-killed');
    const lock = path.join(root, LOCK_FILE);
    const display = path.relative(process.cwd(), lock);
    const holder = await lockHolder(root);
    try {
      expectOneLineUserError(() => lockProject(root), new RegExp(`\\(pid ${holder.pid}\\) is changing`));
    } finally {
      await killHard(holder);
    }
    const owner = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; started: string };
    expect(owner.pid).to.equal(holder.pid);
    const said: string[] = [];
    lockProject(root, (line) => said.push(line))();
    expect(said).to.deep.equal([
      `Took over ${display} from a fastapi-forge run (pid ${holder.pid}) that is no longer running.`,
    ]);
    expect(existsSync(lock)).to.equal(false);
  });

  it('takes over the lock of a dead run whose pid another process now has (this one, or any other)', () => {
    const root = makeTempDir('lock-reused');
    const lock = path.join(root, LOCK_FILE);
    mkdirSync(path.dirname(lock));
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const otherPid = other.pid ?? 0;
      const otherStart = startOf(otherPid);
      if (otherStart === undefined) return; // no /proc: pids are judged alone
      // A start no live process has: clock tick 1 after boot.
      const deadStart = otherStart.replace(/:\d+$/, ':1');
      for (const pid of [process.pid, otherPid]) {
        writeFileSync(lock, JSON.stringify({ pid, host: hostname(), started: deadStart }));
        const said: string[] = [];
        lockProject(root, (line) => said.push(line))();
        expect(said, `pid ${pid}`).to.have.length(1);
        expect(said[0]).to.include(`(pid ${pid}) that is no longer running`);
      }
      // The process that really started the lock's run still holds it.
      writeFileSync(lock, JSON.stringify({ pid: otherPid, host: hostname(), started: otherStart }));
      expectOneLineUserError(() => lockProject(root), new RegExp(`\\(pid ${otherPid}\\) is changing`));
    } finally {
      other.kill('SIGKILL');
    }
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
      const said: string[] = [];
      const release = lockProject(root, (line) => said.push(line));
      expect(said).to.deep.equal([
        `Took over ${path.relative(process.cwd(), lock)}, left empty by a run that failed while taking it.`,
      ]);
      expect(JSON.parse(readFileSync(lock, 'utf8'))).to.deep.equal({
        pid: process.pid,
        host: hostname(),
        started: startOf(process.pid),
      });
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
  const forge = (args: string[], cwd: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [CLI, ...args], {
      cwd,
      encoding: 'utf8',
      input: '',
      env: { ...process.env, ...env },
    });
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

  it('a run cut off after its commit point, then moved or reached through a symlink, is finished there', () => {
    const add = ['add', 'observability', '--yes', '--skip-install'];
    const edited = path.join(makeTempDir('txn-cli-edited'), 'shop');
    cpSync(project, edited, { recursive: true });
    appendFileSync(path.join(edited, 'src/shop/main.py'), '\n# my own note\n');
    const reference = path.join(makeTempDir('txn-cli-reference'), 'shop');
    cpSync(edited, reference, { recursive: true });
    expect(forge(add, reference).status).to.equal(0);
    // A run cut off at its first step leaves a journal that counts the run's writes.
    const probe = path.join(makeTempDir('txn-cli-probe'), 'shop');
    cpSync(edited, probe, { recursive: true });
    forge(add, probe, { FASTAPI_FORGE_KILL_AT_STEP: '1' });
    const writes = (JSON.parse(readFileSync(path.join(probe, JOURNAL_FILE), 'utf8')) as { writes: [] }).writes
      .length;
    expect(writes).to.be.greaterThan(2);
    // Past the journal, a temporary file per write and the commit point: half the files are renamed.
    const killAt = String(1 + writes + 1 + Math.floor(writes / 2));
    for (const way of ['moved', 'symlink']) {
      const copy = path.join(makeTempDir(`txn-cli-${way}`), 'shop');
      cpSync(edited, copy, { recursive: true });
      const cut = forge(add, copy, { FASTAPI_FORGE_KILL_AT_STEP: killAt });
      expect(cut.signal, cut.stderr).to.equal('SIGKILL');
      expect(JSON.parse(readFileSync(path.join(copy, JOURNAL_FILE), 'utf8')).state).to.equal('committing');
      const there = `${copy}-${way}`;
      if (way === 'moved') renameSync(copy, there);
      else symlinkSync(copy, there);
      const again = forge(add, there);
      expect(again.status, again.stderr).to.equal(0);
      expect(again.stderr).to.include('Finished writing the files of a run that was cut off.');
      expect(snapshotTree(there), way).to.deep.equal(snapshotTree(reference));
    }
  });

  it('a run killed while it held the lock leaves no lock that refuses the next run', async () => {
    const holder = await lockHolder(project);
    await killHard(holder);
    const run = forge(['add', 'api', '--yes', '--skip-install'], project);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.include(
      `Took over .forge/lock from a fastapi-forge run (pid ${holder.pid}) that is no longer running.\n`,
    );
    expect(existsSync(path.join(project, LOCK_FILE))).to.equal(false);
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
