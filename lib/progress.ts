import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { findExecutable } from './exec.js';

const seconds = (startedAt: number): string => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;

/** Runs one install step, saying what it does before and how long it took after. */
export async function timedStep<T>(
  write: (line: string) => void,
  label: string,
  step: () => Promise<T> | T,
): Promise<T> {
  const startedAt = Date.now();
  write(`${label} ...`);
  const result = await step();
  write(`  done in ${seconds(startedAt)}`);
  return result;
}

/**
 * Brings uv.lock in step with the project's pyproject.toml files (`uv lock`), so a fresh project, or one a
 * generator has just changed, installs without resolving again and builds its image (`uv sync --locked`).
 * A lock that cannot be made (no uv, no network) is reported with what to run; the generated files stay.
 */
export async function lockDependencies(dir: string, write: (line: string) => void): Promise<void> {
  if (!existsSync(path.join(dir, 'pyproject.toml'))) return;
  const uv = findExecutable('uv');
  if (!uv) {
    write('uv was not found on PATH: install it (`pip install uv`), then run `uv lock` in the project.');
    return;
  }
  await timedStep(write, 'Locking the dependencies into uv.lock (uv lock)', () => {
    const result = spawnSync(uv, ['lock', '--quiet'], { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) {
      const reason = (result.stderr || result.error?.message || '').trim().split('\n')[0] ?? '';
      write(`warning: uv lock failed (${reason}); run \`uv lock\` in the project before installing it.`);
    }
  });
}

/**
 * True when a project with a pyproject.toml has no usable uv.lock: none, or one that does not read as a
 * lock (a run killed while locking). Every project of `new` has one, --skip-install included.
 */
export function lockIsMissing(dir: string): boolean {
  if (!existsSync(path.join(dir, 'pyproject.toml'))) return false;
  const lock = path.join(dir, 'uv.lock');
  if (!existsSync(lock)) return true;
  try {
    const parsed = parseToml(readFileSync(lock, 'utf8'));
    return typeof parsed.version !== 'number' || !Array.isArray(parsed.package);
  } catch {
    return true;
  }
}
