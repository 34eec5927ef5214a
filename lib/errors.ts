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

export const isFileSystemError = (error: unknown): error is NodeJS.ErrnoException => {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' && code in FILE_SYSTEM_ERRORS;
};

/**
 * A file-system error met while writing the project, as a one-line user error naming the file and the cause.
 * Errors of another kind are returned unchanged (they are bugs, and keep their stack).
 */
export function fileSystemError(error: unknown, where: string, outcome = 'nothing was changed'): unknown {
  if (!isFileSystemError(error)) return error;
  const cause = FILE_SYSTEM_ERRORS[error.code ?? ''] ?? error.code;
  return new ForgeUserError(`cannot write ${where}: ${cause} (${error.code}); ${outcome}`);
}
