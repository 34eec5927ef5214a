import { existsSync, readFileSync } from 'node:fs';
import { createTwoFilesPatch } from 'diff';
import path from 'node:path';
import { Transform } from 'node:stream';
import { createConflicterTransform, YoResolve } from '@yeoman/conflicter';
import {
  clearFileState,
  isFileNew,
  isFilePending,
  isFileStateDeleted,
  isFileStateModified,
  setCommittedFile,
} from 'mem-fs-editor/state';
import { sameText, withLineEndingsOf } from './line-endings.js';
import { type FileChanges, commitChanges, isStateFile } from './transaction.js';

/** A mem-fs file as the commit pipeline sees it. */
interface PipelineFile {
  path: string;
  contents: Buffer | null;
  stat?: { mode?: number } | null;
  state?: string;
  committed?: boolean;
}

/** The part of a Yeoman adapter the conflicter uses: its logger, and a queue for asking about a file. */
interface ConflicterAdapter {
  log: Record<string, unknown>;
  queue?: (task: (adapter: ConflicterAdapter) => unknown) => Promise<unknown>;
}

/** What yeoman-environment's own commit task takes from the environment. */
export interface CommitEnvironment {
  adapter: unknown;
  conflicterOptions?: Record<string, unknown> & { cwd?: string };
  sharedFs: {
    pipeline: (
      options: { filter: (file: PipelineFile) => boolean },
      ...transforms: unknown[]
    ) => Promise<void>;
    all: () => PipelineFile[];
  };
}

/**
 * True when `file` differs from what is on disk (mem-fs marks a file rewritten with the same text as
 * modified). Line endings aside: a file differing from its rendering in those alone keeps them.
 */
function changesDisk(file: PipelineFile): boolean {
  if (isFileStateDeleted(file as never)) return existsSync(file.path);
  if (!isFileStateModified(file as never) || !file.contents) return false;
  return !existsSync(file.path) || !sameText(readFileSync(file.path), file.contents);
}

/** True when the run is about to change a generated file (not only the project's own state). */
export function regeneratesFiles(env: CommitEnvironment, root: string): boolean {
  return env.sharedFs.all().some((file) => !isStateFile(root, file.path) && changesDisk(file));
}

/**
 * A dry run's full diff: every change the run would write, as a unified diff against the file on disk.
 * Yeoman's conflicter prints a diff only for files it asks about, not for the ones forge merged itself.
 */
export function printDiffs(env: CommitEnvironment, root: string, write: (text: string) => void): void {
  for (const file of env.sharedFs.all()) {
    if (isStateFile(root, file.path) || !changesDisk(file)) continue;
    const relative = path.relative(root, file.path);
    const before = existsSync(file.path) ? readFileSync(file.path, 'utf8') : '';
    const after = isFileStateDeleted(file as never) ? '' : (file.contents?.toString('utf8') ?? '');
    write(createTwoFilesPatch(`a/${relative}`, `b/${relative}`, before, after));
  }
}

/** Yeoman's own files, which the run writes without asking: its config and its records. */
const YEOMAN_FILES = new Set(['.yo-rc.json', '.yo-resolve', '.yo-rc-global.json']);

/**
 * Marks Yeoman's own files "force", as @yeoman/conflicter's `forceYoFiles` means to. That one matches
 * `**\/.yo-rc.json` against the absolute path without `dot`, so in a project under a folder whose name
 * starts with "." the config was never written and the run reported it as an edit the user made.
 */
export const forceYeomanFiles = (): Transform =>
  new Transform({
    objectMode: true,
    transform(file: PipelineFile & { conflicter?: string }, _encoding, callback) {
      if (isFilePending(file as never) && YEOMAN_FILES.has(path.basename(file.path)))
        file.conflicter = 'force';
      callback(null, file);
    },
  });

/**
 * A file whose new text is that on disk is reported identical and not written again, even when it is
 * marked "force" (forge's merges and records, Yeoman's .yo-rc.json, every file under --force): the
 * conflicter compares only the files it would ask about. A file `.yo-resolve` marks keeps its mark.
 */
const unchangedAsIdentical = (): Transform =>
  new Transform({
    objectMode: true,
    transform(file: PipelineFile & { conflicter?: string }, _encoding, callback) {
      const marked = file.conflicter === undefined || file.conflicter === 'force';
      if (marked && isFileStateModified(file as never) && !changesDisk(file)) file.conflicter = 'identical';
      callback(null, file);
    },
  });

/**
 * `.yo-rc.json` is written by Yeoman's config storage, with LF endings: in a checkout with CRLF endings it
 * keeps them, as every file forge writes does (lib/line-endings.ts).
 */
const configKeepsLineEndings = (root: string): Transform =>
  new Transform({
    objectMode: true,
    transform(file: PipelineFile, _encoding, callback) {
      if (
        path.relative(root, file.path) === '.yo-rc.json' &&
        isFileStateModified(file as never) &&
        file.contents &&
        existsSync(file.path)
      ) {
        const onDisk = readFileSync(file.path, 'utf8');
        file.contents = Buffer.from(withLineEndingsOf(onDisk, file.contents.toString('utf8')));
      }
      callback(null, file);
    },
  });

/** The conflicter's status lines: what it decided about each file. */
const STATUS_LINES = new Set(['create', 'force', 'identical', 'conflict', 'skip']);

/**
 * What the conflicter prints while it decides, held back until the commit is done, so that a run that fails
 * prints its error alone and a status line reports a file that was written. That is all of it (status lines,
 * and a dry run's diffs, in their order), except while it asks about an edited file in a terminal: the
 * prompt, and the diff the user asks for there, are shown at once; only the status lines wait.
 */
class HeldOutput {
  private readonly calls: { method: string; args: unknown[] }[] = [];

  /** `cwd`: where the conflicter's paths are relative to. */
  constructor(private readonly cwd: string) {}

  /** `adapter`, with what it logs held here: everything, or the status lines only. */
  hold(adapter: ConflicterAdapter, statusOnly = false): ConflicterAdapter {
    const record = (method: string, args: unknown[]): void => this.record(method, args);
    const log: Record<string, unknown> = new Proxy(adapter.log, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof property !== 'string' || typeof value !== 'function') return value;
        if (statusOnly && !STATUS_LINES.has(property)) return value;
        return (...args: unknown[]) => {
          record(property, args);
          return log;
        };
      },
    });
    const queue = adapter.queue?.bind(adapter);
    return new Proxy(adapter, {
      get: (target, property) => {
        if (property === 'log') return log;
        if (property === 'queue' && queue) {
          return (task: (inner: ConflicterAdapter) => unknown) =>
            queue((inner) => task(this.hold(inner, true)));
        }
        const value: unknown = Reflect.get(target, property);
        // Bound to the adapter itself: its methods use private fields, which a proxy does not have.
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /**
   * forge marks the files it merges "force" (so the conflicter never asks about them), and Yeoman does the
   * same for .yo-rc.json: one not on disk yet is reported as created.
   */
  private record(method: string, args: unknown[]): void {
    const [file] = args;
    const created =
      method === 'force' && typeof file === 'string' && !existsSync(path.resolve(this.cwd, file));
    this.calls.push({ method: created ? 'create' : method, args });
  }

  /**
   * Prints what was held, through `log`, saying what was written: a file the run removes is reported
   * `removed` (the conflicter says `force`, or `create` once it is gone), and one it leaves alone (read for
   * `.yo-resolve` only) is not reported as written.
   */
  print(log: Record<string, unknown>, { removed, untouched }: FileKinds): void {
    for (const { method, args } of this.calls) {
      const [file] = args;
      const target = typeof file === 'string' ? path.resolve(this.cwd, file) : undefined;
      let status = method;
      if (target !== undefined && (method === 'force' || method === 'create')) {
        if (removed.has(target)) status = 'removed';
        else if (untouched.has(target)) continue;
      }
      (log[status] as (...args: unknown[]) => unknown)(...args);
    }
  }
}

/** Files of a run that it removes, and those the pipeline sees that it leaves alone. */
interface FileKinds {
  removed: Set<string>;
  untouched: Set<string>;
}

/** Notes, before the conflicter decides, which files the run removes and which it leaves alone. */
const noteKinds = (kinds: FileKinds): Transform =>
  new Transform({
    objectMode: true,
    transform(file: PipelineFile, _encoding, callback) {
      if (!isFilePending(file as never)) kinds.untouched.add(file.path);
      else if (isFileStateDeleted(file as never)) kinds.removed.add(file.path);
      callback(null, file);
    },
  });

/**
 * @yeoman/conflicter's `.yo-resolve` step, each folder looked up once per commit. Its own keeps only the
 * folders that hold a `.yo-resolve`, so for every file it stats again every folder above it: most of the
 * commit's time in a new project.
 */
function yoResolveTransform(): ReturnType<YoResolve['createTransform']> {
  const resolver = new YoResolve();
  const lookUp = resolver as unknown as { getMapForFolder(folder: string): Promise<unknown> };
  const uncached = lookUp.getMapForFolder.bind(resolver);
  const folders = new Map<string, Promise<unknown>>();
  lookUp.getMapForFolder = (folder: string) => {
    let found = folders.get(folder);
    if (!found) {
      found = uncached(folder);
      folders.set(folder, found);
    }
    return found;
  };
  return resolver.createTransform();
}

/**
 * The commit step of a run, in place of yeoman-environment's `commitSharedFsTask`: the same pipeline
 * (`.yo-resolve`, `.yo-rc.json` forced, the conflicter asking about edited files), whose last step collects the
 * files instead of writing each one as it comes. They are then written together, as one transaction
 * (lib/transaction.ts), once every file has been decided, and the conflicter's status lines are printed once
 * they are written.
 */
export async function commitRun(env: CommitEnvironment, root: string): Promise<void> {
  const changes: FileChanges = { writes: [], deletes: [] };
  const seen: PipelineFile[] = [];
  const written = new Set<PipelineFile>();
  const adapter = env.adapter as ConflicterAdapter;
  const output = new HeldOutput(env.conflicterOptions?.cwd ?? root);
  const kinds: FileKinds = { removed: new Set(), untouched: new Set() };
  const collect = new Transform({
    objectMode: true,
    transform(file: PipelineFile, _encoding, callback) {
      if (isFileStateModified(file as never)) {
        if (!file.contents) {
          callback(new Error(`${file.path} cannot be written without contents`));
          return;
        }
        changes.writes.push({
          path: file.path,
          contents: file.contents,
          ...(file.stat?.mode != null ? { mode: file.stat.mode } : {}),
        });
        written.add(file);
      } else if (isFileStateDeleted(file as never) && !isFileNew(file as never)) {
        changes.deletes.push(file.path);
        written.add(file);
      }
      seen.push(file);
      callback(null, file);
    },
  });
  await env.sharedFs.pipeline(
    { filter: (file) => isFilePending(file as never) || file.path.endsWith('.yo-resolve') },
    yoResolveTransform(),
    forceYeomanFiles(),
    configKeepsLineEndings(root),
    unchangedAsIdentical(),
    noteKinds(kinds),
    createConflicterTransform(output.hold(adapter) as never, env.conflicterOptions as never),
    collect,
  );
  commitChanges(root, changes);
  output.print(adapter.log, kinds);
  // As mem-fs-editor's own commit leaves them: written files marked committed, every state cleared.
  for (const file of seen) {
    if (written.has(file)) setCommittedFile(file as never);
    clearFileState(file as never);
  }
}
