import path from 'node:path';

/**
 * An error caused by what the user asked for (a bad flag, a bad name, a broken config).
 * The CLI prints its message on one line and exits with status 2, without a stack trace.
 */
export class ForgeUserError extends Error {
  override readonly name = 'ForgeUserError';
}

export const isForgeUserError = (error: unknown): error is ForgeUserError =>
  error instanceof Error && error.name === 'ForgeUserError';

/** What a user can do about each file-system error a run may meet. */
const FILE_SYSTEM_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  ENOTDIR: 'a path component is a file, not a directory',
  EISDIR: 'it is a directory',
  EIO: 'input/output error of the device',
  EXDEV: 'the file and its temporary copy are on different devices',
  EBUSY: 'the file is busy',
  ETXTBSY: 'the file is busy',
  EMFILE: 'too many open files in this process',
  ENFILE: 'too many open files on the system',
  ENAMETOOLONG: 'a file name is too long',
  ELOOP: 'too many symbolic links in a path',
  EFBIG: 'the file is too large',
};

/**
 * A file or directory the commit wrote beside was removed while it wrote (by the user, most likely): only a
 * commit reports ENOENT, as anywhere else a missing file is one forge failed to check for, a bug.
 */
const REMOVED_MEANWHILE = 'a directory on its path was removed while the run wrote';

export const isFileSystemError = (error: unknown): error is NodeJS.ErrnoException => {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' && code in FILE_SYSTEM_ERRORS;
};

/**
 * Where a file-system error met outside a commit happened, for its message: the path the error names,
 * relative to the project at `root`, and said to be outside it when it is (Yeoman reads a global config in
 * the home directory); `fallback` when the error names no path.
 */
function errorLocation(error: unknown, root: string, fallback = 'the project'): string {
  const file = error instanceof Error ? (error as NodeJS.ErrnoException).path : undefined;
  if (typeof file !== 'string' || file === '') return fallback;
  const absolute = path.resolve(root, file);
  const relative = path.relative(root, absolute);
  if (relative === '') return '.';
  const outside = relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
  return outside ? `${absolute} (outside the project)` : relative;
}

/**
 * A file-system error met while writing the project, as a one-line user error naming the file and the cause.
 * Errors of another kind are returned unchanged (they are bugs, and keep their stack).
 */
export function fileSystemError(
  error: unknown,
  where: string,
  outcome = 'nothing was changed',
  action: 'read' | 'write' = 'write',
): unknown {
  if (!isFileSystemError(error)) return error;
  const cause = FILE_SYSTEM_ERRORS[error.code ?? ''] ?? error.code;
  return new ForgeUserError(`cannot ${action} ${where}: ${cause} (${error.code}); ${outcome}`);
}

/** System calls that only read: an error in one of them is one met reading the file it names. */
const READING_CALLS = new Set(['stat', 'lstat', 'statx', 'access', 'scandir', 'readlink', 'read']);

/** fileSystemError for an error met outside a commit, naming its path relative to the project at `root`. */
export function runError(error: unknown, root: string): unknown {
  const syscall = error instanceof Error ? (error as NodeJS.ErrnoException).syscall : undefined;
  const action = syscall !== undefined && READING_CALLS.has(syscall) ? 'read' : 'write';
  return fileSystemError(error, errorLocation(error, root), 'nothing was changed', action);
}

/** fileSystemError for an error met while committing, where a missing directory was removed meanwhile. */
export function commitError(error: unknown, where: string, outcome: string): unknown {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  if (code !== 'ENOENT') return fileSystemError(error, where, outcome);
  return new ForgeUserError(`cannot write ${where}: ${REMOVED_MEANWHILE} (ENOENT); ${outcome}`);
}
