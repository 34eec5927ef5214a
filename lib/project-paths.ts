import path from 'node:path';

/**
 * True for a path that names a file inside the project: relative, with `/` between names, and no name that
 * is empty, `.` or `..`. A record of `.forge/` naming anything else is not trusted (it was edited by hand or
 * written elsewhere), and no template may land anywhere else.
 */
export function isProjectPath(relative: string): boolean {
  if (relative === '' || relative.includes('\\') || relative.includes('\0') || path.isAbsolute(relative)) {
    return false;
  }
  return relative.split('/').every((name) => name !== '' && name !== '.' && name !== '..');
}

/** A record's key (a path, or `<path>#once`) when it names a file inside the project. */
export const isRecordKey = (key: string): boolean => isProjectPath(key.replace(/#once$/, ''));
