import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { merge } from 'node-diff3';
import { ForgeUserError } from './errors.js';
import { checksumOf, withLf } from './line-endings.js';
import { recordedFiles, structuredFiles } from './project.js';
import { processState } from './run-state.js';

/**
 * `fastapi-forge upgrade`: the project is rendered again by the installed version from its stored answers,
 * and each generated file the user edited is merged three ways (node-diff3, a maintained diff3
 * implementation, the algorithm of `git merge-file`): the base is what forge wrote last, "yours" the file on
 * disk, "theirs" the new rendering. Structured files keep their key-wise merges (lib/merge.ts,
 * lib/yaml-merge.ts), which already take the user's side on what they changed.
 */

/** Files of this run whose merge left conflict markers, in the order met. */
const conflicts = processState<string[]>('upgrade-conflicts', () => []);

export const upgradeConflicts = (): readonly string[] => conflicts;

/**
 * The generated files that still hold an upgrade's conflict markers, this run's or an earlier one's: the
 * merge of a file whose markers were left in takes them as the user's text, so they are looked for on disk.
 */
export function filesWithConflictMarkers(root: string): string[] {
  const files = new Set(
    [...recordedFiles(root), ...structuredFiles(root)].map((key) => key.replace(/#.*$/, '')),
  );
  return [...files].sort().filter((relative) => {
    try {
      return /^<<<<<<< yours \(/m.test(readFileSync(path.join(root, relative), 'utf8'));
    } catch {
      return false; // deleted by the user, or not a file
    }
  });
}

/**
 * Files of this run that the last version generated, this one no longer does, and the user edited: kept, as
 * theirs from now on, and listed at the end of the run.
 */
const keptDropped = processState<string[]>('dropped-files-kept', () => []);

export const droppedFilesKept = (): readonly string[] => keptDropped;

export function keepDroppedFile(relative: string): void {
  keptDropped.push(relative);
}

/** Files merged in this run: a file rendered twice in one run is merged once, against its real base. */
const merged = processState('merged-files', () => new Set<string>());

/** True the first time a file is met in this run. */
export function firstMerge(relative: string): boolean {
  if (merged.has(relative)) return false;
  merged.add(relative);
  return true;
}

function git(root: string, args: string[]): string | undefined {
  const result = spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return result.status === 0 ? result.stdout : undefined;
}

/** True when `root` is inside a git work tree. */
export const isGitRepository = (root: string): boolean =>
  git(root, ['rev-parse', '--is-inside-work-tree'])?.trim() === 'true';

/** Refuses to upgrade a git work tree with uncommitted changes, so the upgrade is one reviewable diff. */
export function refuseDirtyTree(root: string, allowDirty: boolean): void {
  if (allowDirty || !isGitRepository(root)) return;
  const status = git(root, ['status', '--porcelain', '--', '.']) ?? '';
  const changed = status.split('\n').filter(Boolean).length;
  if (changed > 0) {
    throw new ForgeUserError(
      `${changed} uncommitted change(s) in this project; commit or stash them first, or pass --allow-dirty`,
    );
  }
}

/**
 * Where an upgrade keeps the new rendering of a file it merged: the file on disk is no longer that rendering,
 * and the next upgrade needs it as its base.
 */
export const storedBasePath = (relative: string): string => path.posix.join('.forge/base', relative);

/**
 * The base of a generated file: what forge wrote last, whose sha256 `.forge/checksums.json` keeps. It is
 * the file itself while unedited; once edited, it is found in the project's git history, where the
 * rendering was committed before the edit (every commit's version of the file is hashed until one matches).
 */
export function findBase(
  root: string,
  relative: string,
  checksum: string | undefined,
  current: string,
): string | undefined {
  if (!checksum) return undefined;
  if (checksumOf(current) === checksum) return current;
  const stored = path.join(root, storedBasePath(relative));
  if (existsSync(stored)) {
    const base = readFileSync(stored, 'utf8');
    if (checksumOf(base) === checksum) return base;
  }
  if (!isGitRepository(root)) return undefined;
  const commits = git(root, ['log', '--format=%H', '--', relative])?.split('\n').filter(Boolean) ?? [];
  for (const commit of commits) {
    const content = git(root, ['show', `${commit}:./${relative}`]);
    if (content !== undefined && checksumOf(content) === checksum) return content;
  }
  return undefined;
}

/**
 * The base of a write-once file (main.py, config.py): no checksum is kept for those, so it is the version
 * the file was added with to the project's git history, which is the generated one.
 */
export function firstVersion(root: string, relative: string): string | undefined {
  if (!isGitRepository(root)) return undefined;
  const added = git(root, ['log', '--diff-filter=A', '--format=%H', '--', relative])
    ?.split('\n')
    .filter(Boolean);
  const commit = added?.at(-1);
  return commit ? git(root, ['show', `${commit}:./${relative}`]) : undefined;
}

export interface MergedFile {
  content: string;
  conflict: boolean;
}

/**
 * Merges the new rendering into the user's file. Without a base the whole file is one conflict: the user
 * picks between their version and the new one. Line endings are set aside (a CRLF checkout is no edit): the
 * result has LF endings, and is written with the file's own. A conflict is listed for the end of the run.
 */
export function mergeThreeWay(
  relative: string,
  yours: string,
  base: string | undefined,
  theirs: string,
  command: 'upgrade' | 'apply' = 'upgrade',
): MergedFile {
  const result = mergeWithoutListing(relative, yours, base, theirs, command);
  if (result.conflict) conflicts.push(relative);
  return result;
}

/** {@link mergeThreeWay}, for a caller that writes no conflict markers and says so itself. */
export function mergeWithoutListing(
  relative: string,
  yours: string,
  base: string | undefined,
  theirs: string,
  command: 'upgrade' | 'apply' = 'upgrade',
): MergedFile {
  const labels = { a: `yours (${relative})`, o: 'last generated', b: `fastapi-forge ${command}` };
  const lines = (text: string): string[] => withLf(text).split('\n');
  if (base === undefined && withLf(yours) !== withLf(theirs)) {
    const sides = [withLf(yours), '=======', withLf(theirs)];
    const content = [`<<<<<<< ${labels.a}`, ...sides, `>>>>>>> ${labels.b}`, ''].join('\n');
    return { content, conflict: true };
  }
  const result = merge(lines(yours), lines(base ?? ''), lines(theirs), {
    label: labels,
    excludeFalseConflicts: true,
  });
  return { content: result.result.join('\n'), conflict: result.conflict };
}
