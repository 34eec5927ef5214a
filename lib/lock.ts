import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ForgeUserError, fileSystemError } from './errors.js';

/** The lock a run holds on its project, relative to the project root. */
export const LOCK_FILE = '.forge/lock';

interface LockOwner {
  pid: number;
  host: string;
}

/** True while the process that wrote the lock runs (on this host; a lock from another host is trusted). */
function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string'
      ? { pid: parsed.pid, host: parsed.host }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the project's lock: a file created exclusively (O_EXCL), holding the owner's pid. A second run is
 * refused in one line naming the lock; a lock whose owner died (a run that was killed) is taken over.
 * Returns the function that releases it. Written here rather than taken from a lock library because the
 * lock must live in the project, next to the journal it protects, and O_EXCL is all it needs.
 */
export function lockProject(root: string): () => void {
  const file = path.join(root, LOCK_FILE);
  const display = path.relative(process.cwd(), file) || LOCK_FILE;
  const owner: LockOwner = { pid: process.pid, host: os.hostname() };
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
      const holder = readOwner(file);
      // An unreadable lock is being written this instant by the run that holds it.
      if (attempt === 0 && holder && !ownerAlive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      const who = holder ? ` (pid ${holder.pid})` : '';
      throw new ForgeUserError(
        `another fastapi-forge run${who} is changing this project and holds ${display}; wait for it to finish (remove the file only if no run is active)`,
      );
    }
    try {
      writeSync(fd, JSON.stringify(owner));
    } finally {
      closeSync(fd);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (readOwner(file)?.pid === owner.pid) rmSync(file, { force: true });
    };
  }
}
