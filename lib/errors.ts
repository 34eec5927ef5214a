/**
 * An error caused by what the user asked for (a bad flag, a bad name, a broken config).
 * The CLI prints its message on one line and exits with status 2, without a stack trace.
 */
export class ForgeUserError extends Error {
  override readonly name = 'ForgeUserError';
}

export const isForgeUserError = (error: unknown): error is ForgeUserError =>
  error instanceof Error && error.name === 'ForgeUserError';
