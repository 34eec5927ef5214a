import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ForgeUserError, fileSystemError } from './errors.js';

/** The lock a run holds on its project, relative to the project root. */
export const LOCK_FILE = '.forge/lock';

interface LockOwner {
  pid: number;
  host: string;
  /**
   * When the owner process started (boot id and start time, from /proc), so that another process that
   * was given the same pid later (pids are reused, and each container's pid namespace starts again at 1)
   * is not taken for the owner. Absent where /proc is not.
   */
  started?: string;
}

/** The start of process `pid` as a token (see LockOwner.started), or undefined where /proc cannot tell. */
export function startOf(pid: number): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted from the state (field 3) that follows the command name in parentheses.
    const started = stat
      .slice(stat.lastIndexOf(')') + 1)
      .trim()
      .split(/\s+/)[19];
    return started ? `${boot}:${started}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` is a zombie: it has exited, but its parent has not reaped it yet (what `timeout -s KILL`
 * and containers without an init process leave for a while). Signal 0 still reaches a zombie.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name in parentheses, which may itself hold spaces or parentheses.
    return stat
      .slice(stat.lastIndexOf(')') + 1)
      .trim()
      .startsWith('Z');
  } catch {
    return false;
  }
}

/** True while the process that wrote the lock runs (on this host; a lock from another host is trusted). */
function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (isZombie(owner.pid)) return false;
  // A process that has the pid now, this one included, is the owner only if it started when the owner did.
  const started = owner.started === undefined ? undefined : startOf(owner.pid);
  return started === undefined || started === owner.started;
}

/**
 * How long a lock may stay unreadable before it is taken for the leftover of a run that failed while
 * writing it: the run that holds a lock writes its few bytes right after creating the file.
 */
const UNREADABLE_LOCK_GRACE_MS = 2000;

const sleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** The age of the lock file in milliseconds; 'gone' once removed, 'not a file' for a directory or the like. */
function ageOf(file: string): number | 'gone' | 'not a file' {
  try {
    const stat = statSync(file);
    return stat.isFile() ? Date.now() - stat.mtimeMs : 'not a file';
  } catch {
    return 'gone';
  }
}

/**
 * The owner of an existing lock, once it can be read, and whether it still runs; 'left empty' when it
 * stayed empty or unreadable past the grace period; 'gone' when it was removed meanwhile; 'unknown' when
 * it is not a file, which no run writes and none removes.
 */
function judgeLock(file: string): { owner: LockOwner; alive: boolean } | 'left empty' | 'gone' | 'unknown' {
  // A bound of its own as well as the file's age: a clock set back gives a file a time in the future.
  const deadline = Date.now() + UNREADABLE_LOCK_GRACE_MS;
  for (;;) {
    const holder = readOwner(file);
    if (holder) return { owner: holder, alive: ownerAlive(holder) };
    const age = ageOf(file);
    if (age === 'gone') return 'gone';
    if (age === 'not a file') return 'unknown';
    if (age >= UNREADABLE_LOCK_GRACE_MS || Date.now() >= deadline) return 'left empty';
    sleep(50);
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    // Not 0 or below: signal 0 to those reaches a process group or every process, always "alive".
    const { pid, host, started } = parsed ?? {};
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || typeof host !== 'string') {
      return undefined;
    }
    return typeof started === 'string' ? { pid, host, started } : { pid, host };
  } catch {
    return undefined;
  }
}

/**
 * Takes the project's lock: a file created exclusively (O_EXCL), holding the owner's pid. A second run is
 * refused in one line naming the lock; a lock whose owner died (a run that was killed, a zombie, a pid now
 * another process's) or that stayed empty (a run that failed while writing it) is taken over, and `report`
 * says so.
 * Returns the function that releases it. Written here rather than taken from a lock library because the
 * lock must live in the project, next to the journal it protects, and O_EXCL is all it needs.
 */
export function lockProject(
  root: string,
  report: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): () => void {
  const file = path.join(root, LOCK_FILE);
  const display = path.relative(process.cwd(), file) || LOCK_FILE;
  const started = startOf(process.pid);
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), ...(started ? { started } : {}) };
  try {
    // Not `recursive`: on a read-only file system that reports ENOENT instead of EROFS.
    if (!existsSync(path.dirname(file))) mkdirSync(path.dirname(file));
  } catch (error) {
    throw fileSystemError(error, path.relative(process.cwd(), path.dirname(file)) || '.');
  }
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileSystemError(error, display);
      const holder = judgeLock(file);
      const alive = typeof holder === 'object' && holder.alive;
      // Another run holds it, or keeps taking it over from under this one.
      if (alive || holder === 'unknown' || attempt >= 2) {
        const who = typeof holder === 'object' ? ` (pid ${holder.owner.pid})` : '';
        throw new ForgeUserError(
          `another fastapi-forge run${who} is changing this project and holds ${display}; wait for it to finish (remove the file only if no run is active)`,
        );
      }
      if (holder === 'gone') continue;
      rmSync(file, { force: true });
      report(
        typeof holder === 'object'
          ? `Took over ${display} from a fastapi-forge run (pid ${holder.owner.pid}) that is no longer running.`
          : `Took over ${display}, left empty by a run that failed while taking it.`,
      );
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(owner));
    } catch (error) {
      // A lock left empty (a full disk) would refuse every later run: it goes with the failed write.
      closeSync(fd);
      rmSync(file, { force: true });
      throw fileSystemError(error, display);
    }
    closeSync(fd);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (readOwner(file)?.pid === owner.pid) rmSync(file, { force: true });
    };
  }
}
