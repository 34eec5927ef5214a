import { createHash } from 'node:crypto';
import {
  type Dirent,
  accessSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  lstatSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { ForgeUserError, commitError } from './errors.js';

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

const removeIfPresent = (file: string): void => rmSync(file, { force: true });

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

/**
 * What a target held when the journal was written: a SHA-256 of its bytes, or null when it did not exist.
 * A run that finishes a cut-off commit replaces or removes only a target that still holds it: one changed
 * since (the user edited it after the crash) is kept.
 */
type Held = string | null;

interface Journal {
  state: 'prepared' | 'committing';
  writes: { target: string; temp: string; held?: Held }[];
  deletes: string[];
  /** What each of `deletes` held, in their order (absent in journals of earlier versions). */
  deletesHeld?: Held[];
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

function writeDurably(file: string, contents: Buffer | string, mode?: number, sync = true): void {
  const fd = openSync(file, 'w', mode);
  try {
    const buffer = typeof contents === 'string' ? Buffer.from(contents) : contents;
    let written = 0;
    while (written < buffer.length) written += writeSync(fd, buffer, written);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `journal` with `convert` applied to each of its paths. */
function mapPaths(journal: Journal, convert: (file: string) => string): Journal {
  return {
    state: journal.state,
    writes: journal.writes.map(({ target, temp, held }) => ({
      target: convert(target),
      temp: convert(temp),
      ...(held !== undefined ? { held } : {}),
    })),
    deletes: journal.deletes.map(convert),
    ...(journal.deletesHeld ? { deletesHeld: journal.deletesHeld } : {}),
    directories: journal.directories.map(convert),
    ...(journal.created ? { created: journal.created.map(convert) } : {}),
  };
}

/**
 * Replaces the journal in one atomic rename, so a reader sees the old one or the new one, never half. Its
 * paths are stored relative to the project root: a project moved, or reached through another path (a
 * symlink), after a run was cut off is recovered where it is now.
 */
function writeJournal(root: string, journal: Journal, sync = true): void {
  const target = path.join(root, JOURNAL_FILE);
  const temp = `${target}.tmp`;
  try {
    writeDurably(
      temp,
      JSON.stringify(mapPaths(journal, (file) => path.relative(root, file))),
      undefined,
      sync,
    );
    renameSync(temp, target);
  } catch (error) {
    // A temporary journal left empty (a full disk) is no one's to keep.
    removeIfPresent(temp);
    throw error;
  }
  if (sync) syncDirectory(path.dirname(target));
}

/** Makes a rename in `dir` durable: without it a power cut may bring back the old journal. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * True when `parsed` is a journal as writeJournal writes it, every path in it inside `root` and every
 * temporary file beside its target: a rollback removes those files and a roll-forward renames them, so a
 * journal edited by hand must not reach anything else.
 */
function isJournal(root: string, parsed: unknown): parsed is Journal {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
  const journal = parsed as Record<string, unknown>;
  const inside = (file: unknown): file is string => {
    // Relative to the root as stored (an absolute path, as an earlier version stored it, is taken as it is).
    if (typeof file !== 'string' || file === '') return false;
    const relative = path.relative(root, path.resolve(root, file));
    // Not startsWith('..'): a temporary file of `.yo-rc.json` is `..yo-rc.json.forge-<id>`.
    return (
      relative !== '' &&
      relative !== '..' &&
      !relative.startsWith(`..${path.sep}`) &&
      !path.isAbsolute(relative)
    );
  };
  const paths = (list: unknown): boolean => Array.isArray(list) && list.every(inside);
  const isHeld = (held: unknown): boolean =>
    held === null || (typeof held === 'string' && /^[0-9a-f]{64}$/.test(held));
  const writes = journal.writes;
  const { deletesHeld } = journal;
  return (
    (journal.state === 'prepared' || journal.state === 'committing') &&
    Array.isArray(writes) &&
    writes.every((entry: unknown) => {
      const { target, temp, held } = (entry ?? {}) as Record<string, unknown>;
      return (
        (held === undefined || isHeld(held)) &&
        inside(target) &&
        inside(temp) &&
        path.dirname(path.resolve(root, temp)) === path.dirname(path.resolve(root, target)) &&
        path.basename(temp).startsWith(`.${path.basename(target)}.forge-`)
      );
    }) &&
    paths(journal.deletes) &&
    (deletesHeld === undefined ||
      (Array.isArray(deletesHeld) &&
        Array.isArray(journal.deletes) &&
        deletesHeld.length === journal.deletes.length &&
        deletesHeld.every(isHeld))) &&
    paths(journal.directories) &&
    (journal.created === undefined || paths(journal.created))
  );
}

/** A journal that cannot be read or trusted: see recoverInterruptedCommit. */
const UNREADABLE = 'unreadable';

/**
 * Stops the run in one line when `relative`, a file the commit writes and removes, is something else (a
 * directory): nothing of the user's is removed to make room for it.
 */
function expectFileOrNothing(root: string, relative: string): void {
  let kind: string | undefined;
  try {
    const stat = lstatSync(path.join(root, relative));
    if (!stat.isFile()) kind = stat.isDirectory() ? 'a directory' : 'not a regular file';
  } catch {
    return;
  }
  if (kind !== undefined) {
    throw new ForgeUserError(
      `${relative} is ${kind}, where runs keep the journal of their commit: move it away and run again; nothing was changed`,
    );
  }
}

function readJournal(root: string): Journal | typeof UNREADABLE | undefined {
  const file = path.join(root, JOURNAL_FILE);
  expectFileOrNothing(root, JOURNAL_FILE);
  expectFileOrNothing(root, `${JOURNAL_FILE}.tmp`);
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    parsed = undefined;
  }
  // Only the rename in writeJournal creates the file, so it is never half-written; a broken one, or one of
  // another shape, was edited by hand, and nothing in it can be trusted.
  return isJournal(root, parsed) ? mapPaths(parsed, (file) => path.resolve(root, file)) : UNREADABLE;
}

/** A commit's temporary file: `.<name>.forge-<pid>-<id>` (see commitChanges). */
const TEMP_FILE = /^\..+\.forge-\d+-[0-9a-z]+$/;

/** Folders no commit writes into, and too large to walk. */
const NOT_WALKED = new Set(['.git', '.venv', 'node_modules']);

/**
 * Removes every commit temporary file under `dir`. Called under the project's lock, so no live run owns
 * one: they are the leftovers of a run whose journal could not say which they were.
 */
function removeStrayTempFiles(dir: string): number {
  let removed = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory() && !NOT_WALKED.has(entry.name)) removed += removeStrayTempFiles(file);
    else if (entry.isFile() && TEMP_FILE.test(entry.name)) {
      removeIfPresent(file);
      removed += 1;
    }
  }
  return removed;
}

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

/** What `file` holds now (see {@link Held}); a directory or an unreadable file holds "unreadable". */
function heldBy(file: string): Held | 'unreadable' {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : 'unreadable';
  }
}

/** True when `file` no longer holds what the journal recorded (a journal of an earlier version records nothing). */
const changedSince = (file: string, held: Held | undefined): boolean =>
  held !== undefined && heldBy(file) !== held;

/**
 * Does the renames and removals a commit has left to do. Finishing a cut-off run (`recovering`), a target
 * changed since the journal was written is kept as it is (its temporary file goes) and returned: that run's
 * version of it is lost, the user's edit is not.
 */
function rollForward(
  root: string,
  journal: Journal,
  onStep: () => void = () => undefined,
  recovering = false,
): string[] {
  const kept: string[] = [];
  for (const { target, temp, held } of journal.writes) {
    if (!existsSync(temp)) continue;
    if (recovering && changedSince(target, held)) {
      removeIfPresent(temp);
      kept.push(target);
      continue;
    }
    renameSync(temp, target);
    onStep();
  }
  journal.deletes.forEach((target, index) => {
    // A file to remove existed when the journal was written: null there means it could not be read then.
    const held = journal.deletesHeld?.[index] ?? undefined;
    if (recovering && existsSync(target) && changedSince(target, held)) {
      kept.push(target);
      return;
    }
    rmSync(target, { force: true, recursive: true });
    onStep();
  });
  removeIfPresent(path.join(root, JOURNAL_FILE));
  return kept;
}

export type Recovery =
  'none' | 'rolled back' | 'finished' | { unreadable: number } | { finished: true; kept: string[] };

/**
 * Finishes or rolls back a commit that a run cut off left behind. Returns what it did, so the run can say so:
 * for a journal that cannot be read, how many temporary files of the cut-off run were removed. Such a run
 * renamed the project's records last (see commitChanges), so they still describe the run before it, and
 * the files it had already renamed into place are ones that are not recorded: the next run writes them again.
 */
export function recoverInterruptedCommit(root: string): Recovery {
  const journal = readJournal(root);
  removeIfPresent(path.join(root, `${JOURNAL_FILE}.tmp`));
  if (!journal) return 'none';
  if (journal === UNREADABLE) {
    const removed = removeStrayTempFiles(root);
    removeIfPresent(path.join(root, JOURNAL_FILE));
    return { unreadable: removed };
  }
  if (journal.state === 'committing') {
    const kept = rollForward(root, journal, undefined, true);
    return kept.length === 0
      ? 'finished'
      : { finished: true, kept: kept.map((file) => path.relative(root, file)) };
  }
  rollBack(root, journal);
  return 'rolled back';
}

/** True when a commit that a run cut off left behind creates `file` (an absolute path). */
export function interruptedCommitCreates(root: string, file: string): boolean {
  const journal = readJournal(root);
  return (journal !== UNREADABLE && journal?.created?.includes(file)) ?? false;
}

/** Files that record what was generated (`.yo-rc.json`, `.forge/`), rather than being generated themselves. */
export const isStateFile = (root: string, file: string): boolean => {
  const relative = path.relative(root, file);
  return relative === '.yo-rc.json' || relative.startsWith(`.forge${path.sep}`);
};

/**
 * `writes` with the project's records (and `.yo-resolve`, which records deletions) last: a run cut off
 * between renames, whose journal is then lost, leaves records that match none of its files rather than
 * records of files it never wrote (which the next run would take for files the user deleted).
 */
function recordsLast(root: string, writes: FileWrite[]): FileWrite[] {
  const isRecord = (write: FileWrite): boolean =>
    isStateFile(root, write.path) || path.relative(root, write.path) === '.yo-resolve';
  return [...writes.filter((write) => !isRecord(write)), ...writes.filter(isRecord)];
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

/** `{ held }` for a target the journal can record, nothing for one it cannot read (a directory). */
function heldField(file: string): { held?: Held } {
  const held = heldBy(file);
  return held === 'unreadable' ? {} : { held };
}

/**
 * Commits `changes` to the project at `root` atomically (see above). A file-system error while preparing
 * leaves the project as it was and is thrown as a one-line user error.
 */
export function commitChanges(root: string, { writes, deletes }: FileChanges): void {
  if (writes.length === 0 && deletes.length === 0) return;
  const changes: FileChanges = { writes: recordsLast(root, writes), deletes };
  recoverInterruptedCommit(root);
  // fsync makes a commit survive a power cut, at a few milliseconds a file (a third of the time of `new`).
  // A project's first commit, before its .yo-rc.json exists, replaces nothing of the user's: it is written
  // without, and a machine crash during it leaves a half-made folder to delete. A killed run needs no
  // fsync: what it wrote is in the kernel's cache, and the journal is finished or rolled back as always.
  const durable = existsSync(path.join(root, '.yo-rc.json'));
  const id = `${process.pid}-${Date.now().toString(36)}`;
  const directories = new Set<string>();
  for (const write of changes.writes) for (const dir of missingDirectories(write.path)) directories.add(dir);
  const journal: Journal = {
    state: 'prepared',
    writes: changes.writes.map((write) => ({
      target: write.path,
      temp: path.join(path.dirname(write.path), `.${path.basename(write.path)}.forge-${id}`),
      ...heldField(write.path),
    })),
    deletes: changes.deletes,
    deletesHeld: changes.deletes.map((file) => heldField(file).held ?? null),
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
    current = path.join(root, JOURNAL_FILE);
    writeJournal(root, journal, durable);
    step();
    for (const dir of journal.directories) {
      current = dir;
      mkdirSync(dir, { recursive: true });
    }
    changes.writes.forEach((write, index) => {
      const entry = journal.writes[index];
      if (!entry) return;
      current = write.path;
      writeDurably(entry.temp, write.contents, write.mode, durable);
      step();
    });
    current = path.join(root, JOURNAL_FILE);
    writeJournal(root, { ...journal, state: 'committing' }, durable);
    step();
  } catch (error) {
    try {
      rollBack(root, journal);
    } catch {
      // The error that stopped the commit is the one to report; the next run retries the rollback.
    }
    throw commitError(error, path.relative(root, current) || '.', 'nothing was changed');
  }
  try {
    rollForward(root, journal, step);
  } catch (error) {
    throw commitError(error, '.', 'the next run finishes this commit');
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
