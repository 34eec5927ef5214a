import { existsSync, readFileSync } from 'node:fs';
import { createTwoFilesPatch } from 'diff';
import path from 'node:path';
import { Transform } from 'node:stream';
import { createConflicterTransform, createYoResolveTransform, forceYoFiles } from '@yeoman/conflicter';
import {
  clearFileState,
  isFileNew,
  isFilePending,
  isFileStateDeleted,
  isFileStateModified,
  setCommittedFile,
} from 'mem-fs-editor/state';
import { type FileChanges, commitChanges } from './transaction.js';

/** A mem-fs file as the commit pipeline sees it. */
interface PipelineFile {
  path: string;
  contents: Buffer | null;
  stat?: { mode?: number } | null;
  state?: string;
  committed?: boolean;
}

/** What yeoman-environment's own commit task takes from the environment. */
export interface CommitEnvironment {
  adapter: unknown;
  conflicterOptions?: Record<string, unknown>;
  sharedFs: {
    pipeline: (
      options: { filter: (file: PipelineFile) => boolean },
      ...transforms: unknown[]
    ) => Promise<void>;
    all: () => PipelineFile[];
  };
}

/** Files of the project state that say what was generated, rather than being generated themselves. */
const isStateFile = (root: string, file: string): boolean => {
  const relative = path.relative(root, file);
  return relative === '.yo-rc.json' || relative.startsWith(`.forge${path.sep}`);
};

/** True when `file` differs from what is on disk (mem-fs marks a file rewritten with the same text as modified). */
function changesDisk(file: PipelineFile): boolean {
  if (isFileStateDeleted(file as never)) return existsSync(file.path);
  if (!isFileStateModified(file as never) || !file.contents) return false;
  return !existsSync(file.path) || !readFileSync(file.path).equals(file.contents);
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

/**
 * The commit step of a run, in place of yeoman-environment's `commitSharedFsTask`: the same pipeline
 * (`.yo-resolve`, `.yo-rc.json` forced, the conflicter asking about edited files), whose last step collects the
 * files instead of writing each one as it comes. They are then written together, as one transaction
 * (lib/transaction.ts), once every file has been decided.
 */
export async function commitRun(env: CommitEnvironment, root: string): Promise<void> {
  const changes: FileChanges = { writes: [], deletes: [] };
  const seen: PipelineFile[] = [];
  const written = new Set<PipelineFile>();
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
    createYoResolveTransform(),
    forceYoFiles(),
    createConflicterTransform(env.adapter as never, env.conflicterOptions as never),
    collect,
  );
  commitChanges(root, changes);
  // As mem-fs-editor's own commit leaves them: written files marked committed, every state cleared.
  for (const file of seen) {
    if (written.has(file)) setCommittedFile(file as never);
    clearFileState(file as never);
  }
}
