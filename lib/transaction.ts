import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  rmdirSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { fileSystemError } from './errors.js';

/**
 * A generator run's commit, all or nothing. Yeoman's own commit (mem-fs-editor) writes file after file in
 * place, so a run cut short leaves half-written files, and `.yo-rc.json` and `.forge/` state that no longer
 * match them. No maintained library commits a set of files atomically, so this is written here, in the way
 * databases do it (a write-ahead journal):
 *
 * 1. prepare: the journal lists every change (state "prepared"); each new content is written to a temporary
 *    file beside its target, so a permission error, a full disk or a read-only file system shows up here,
 *    before any project file has changed;
 * 2. the journal is switched to "committing" with one atomic rename: this is the commit point;
 * 3. each temporary file is renamed over its target (atomic per file) and deleted files are removed;
 * 4. the journal is removed.
 *
 * A run cut off before step 2 is rolled back by the next run (the temporary files are removed); one cut off
 * after it is finished (the remaining renames are done). Either way the project is what one whole run makes.
 */

/** The journal of a commit under way, relative to the project root. */
export const JOURNAL_FILE = '.forge/journal.json';

export interface FileWrite {
  /** Absolute path of the file to write. */
  path: string;
  contents: Buffer;
  /** File mode bits, for files the templates ship executable. */
  mode?: number;
}

export interface FileChanges {
  writes: FileWrite[];
  /** Absolute paths of files to remove. */
  deletes: string[];
}

interface Journal {
  state: 'prepared' | 'committing';
  writes: { target: string; temp: string }[];
  deletes: string[];
  /** Directories the commit created, shallowest first, so a rollback can remove them again. */
  directories: string[];
  /** Targets that did not exist before the commit, so the next run can tell what the cut-off one created. */
  created?: string[];
}

/**
 * Kills this process at the n-th step of its commits when FASTAPI_FORGE_KILL_AT_STEP=n is set: the
 * crash-injection tests use it to cut a run off at chosen points, as a SIGKILL from outside would. Steps are
 * counted across the commits of one run (Yeoman commits again when the conflicter changed files).
 */
const KILL_AT_STEP = Number(process.env.FASTAPI_FORGE_KILL_AT_STEP ?? '0');
let stepsTaken = 0;
function step(): void {
  stepsTaken += 1;
  if (KILL_AT_STEP > 0 && stepsTaken === KILL_AT_STEP) process.kill(process.pid, 'SIGKILL');
}

function writeDurably(file: string, contents: Buffer | string, mode?: number): void {
  const fd = openSync(file, 'w', mode);
  try {
    const buffer = typeof contents === 'string' ? Buffer.from(contents) : contents;
    let written = 0;
    while (written < buffer.length) written += writeSync(fd, buffer, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces the journal in one atomic rename, so a reader sees the old one or the new one, never half. */
function writeJournal(root: string, journal: Journal): void {
  const target = path.join(root, JOURNAL_FILE);
  const temp = `${target}.tmp`;
  writeDurably(temp, JSON.stringify(journal));
  renameSync(temp, target);
}

/** A journal that nothing can be learnt from: its run is rolled back as best it can (nothing to undo). */
const EMPTY_JOURNAL: Journal = { state: 'prepared', writes: [], deletes: [], directories: [] };

/**
 * True when `parsed` is a journal as writeJournal writes it, every path in it inside `root` and every
 * temporary file beside its target: a rollback removes those files and a roll-forward renames them, so a
 * journal edited by hand must not reach anything else.
 */
function isJournal(root: string, parsed: unknown): parsed is Journal {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
  const journal = parsed as Record<string, unknown>;
  const inside = (file: unknown): file is string => {
    if (typeof file !== 'string' || !path.isAbsolute(file)) return false;
    const relative = path.relative(root, file);
    // Not startsWith('..'): a temporary file of `.yo-rc.json` is `..yo-rc.json.forge-<id>`.
    return (
      relative !== '' &&
      relative !== '..' &&
      !relative.startsWith(`..${path.sep}`) &&
      !path.isAbsolute(relative)
    );
  };
  const paths = (list: unknown): boolean => Array.isArray(list) && list.every(inside);
  const writes = journal.writes;
  return (
    (journal.state === 'prepared' || journal.state === 'committing') &&
    Array.isArray(writes) &&
    writes.every((entry: unknown) => {
      const { target, temp } = (entry ?? {}) as Record<string, unknown>;
      return (
        inside(target) &&
        inside(temp) &&
        path.dirname(temp) === path.dirname(target) &&
        path.basename(temp).startsWith(`.${path.basename(target)}.forge-`)
      );
    }) &&
    paths(journal.deletes) &&
    paths(journal.directories) &&
    (journal.created === undefined || paths(journal.created))
  );
}

function readJournal(root: string): Journal | undefined {
  const file = path.join(root, JOURNAL_FILE);
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    parsed = undefined;
  }
  // Only the rename in writeJournal creates the file, so it is never half-written; a broken one, or one of
  // another shape, was edited by hand, and nothing in it can be trusted.
  return isJournal(root, parsed) ? parsed : EMPTY_JOURNAL;
}

const removeIfPresent = (file: string): void => rmSync(file, { force: true });

function rollBack(root: string, journal: Journal): void {
  for (const { temp } of journal.writes) removeIfPresent(temp);
  for (const directory of [...journal.directories].reverse()) {
    try {
      rmdirSync(directory);
    } catch {
      // Not empty (something else was put there) or gone already: either way it is not the commit's to remove.
    }
  }
  removeIfPresent(path.join(root, JOURNAL_FILE));
}

function rollForward(root: string, journal: Journal, onStep: () => void = () => undefined): void {
  for (const { target, temp } of journal.writes) {
    if (existsSync(temp)) {
      renameSync(temp, target);
      onStep();
    }
  }
  for (const target of journal.deletes) {
    rmSync(target, { force: true, recursive: true });
    onStep();
  }
  removeIfPresent(path.join(root, JOURNAL_FILE));
}

/**
 * Finishes or rolls back a commit that a run cut off left behind. Returns what it did, so the run can say so.
 */
export function recoverInterruptedCommit(root: string): 'none' | 'rolled back' | 'finished' {
  const journal = readJournal(root);
  removeIfPresent(path.join(root, `${JOURNAL_FILE}.tmp`));
  if (!journal) return 'none';
  if (journal.state === 'committing') {
    rollForward(root, journal);
    return 'finished';
  }
  rollBack(root, journal);
  return 'rolled back';
}

/** True when a commit that a run cut off left behind creates `file` (an absolute path). */
export function interruptedCommitCreates(root: string, file: string): boolean {
  return readJournal(root)?.created?.includes(file) ?? false;
}

/** The directories to create for `file`, shallowest first, up to one that exists. */
function missingDirectories(file: string): string[] {
  const missing: string[] = [];
  for (let dir = path.dirname(file); !existsSync(dir); dir = path.dirname(dir)) missing.unshift(dir);
  return missing;
}

/**
 * Throws the error that writing or removing `file` would meet, before anything is written: a file made
 * immutable (`chattr +i`, which stops root too) or read-only, or a directory that cannot take new entries.
 * A temporary file can be written beside a target that cannot be replaced, so the prepare step alone would
 * find this only once other files had been renamed into place.
 */
function checkWritable(file: string): void {
  if (existsSync(file)) accessSync(file, constants.W_OK);
  let dir = path.dirname(file);
  while (!existsSync(dir)) dir = path.dirname(dir);
  accessSync(dir, constants.W_OK);
}

/**
 * Commits `changes` to the project at `root` atomically (see above). A file-system error while preparing
 * leaves the project as it was and is thrown as a one-line user error.
 */
export function commitChanges(root: string, changes: FileChanges): void {
  if (changes.writes.length === 0 && changes.deletes.length === 0) return;
  recoverInterruptedCommit(root);
  const id = `${process.pid}-${Date.now().toString(36)}`;
  const directories = new Set<string>();
  for (const write of changes.writes) for (const dir of missingDirectories(write.path)) directories.add(dir);
  const journal: Journal = {
    state: 'prepared',
    writes: changes.writes.map((write) => ({
      target: write.path,
      temp: path.join(path.dirname(write.path), `.${path.basename(write.path)}.forge-${id}`),
    })),
    deletes: changes.deletes,
    directories: [...directories].sort((a, b) => a.length - b.length),
    created: changes.writes.map((write) => write.path).filter((target) => !existsSync(target)),
  };
  let current = root;
  try {
    for (const file of [...changes.writes.map((write) => write.path), ...changes.deletes]) {
      current = file;
      checkWritable(file);
    }
    current = path.join(root, '.forge');
    // Not `recursive`: on a read-only file system that reports ENOENT instead of EROFS.
    if (!existsSync(current)) mkdirSync(current);
    writeJournal(root, journal);
    step();
    for (const dir of journal.directories) {
      current = dir;
      mkdirSync(dir, { recursive: true });
    }
    changes.writes.forEach((write, index) => {
      const entry = journal.writes[index];
      if (!entry) return;
      current = write.path;
      writeDurably(entry.temp, write.contents, write.mode);
      step();
    });
    current = path.join(root, JOURNAL_FILE);
    writeJournal(root, { ...journal, state: 'committing' });
    step();
  } catch (error) {
    try {
      rollBack(root, journal);
    } catch {
      // The error that stopped the commit is the one to report; the next run retries the rollback.
    }
    throw fileSystemError(error, path.relative(root, current) || '.');
  }
  try {
    rollForward(root, journal, step);
  } catch (error) {
    throw fileSystemError(error, '.', 'the next run finishes this commit');
  }
}

/** Best-effort removal of an empty directory (a dry run leaves no `.forge/` behind in a new project). */
export function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty, or not there: nothing to do.
  }
}
