import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import helpers from 'yeoman-test';
import { isForgeUserError } from '../lib/errors.js';
import { COMMANDS } from '../cli/main.js';
import { PACKAGE_ROOT } from '../lib/templates.js';

export const CLI = path.join(PACKAGE_ROOT, 'bin', 'fastapi-forge.js');

export const generatorPath = (name: string): string =>
  path.join(PACKAGE_ROOT, 'dist', 'generators', name, 'index.js');

/** Every generator this version ships, registered under its real namespace. */
export const forgeGenerators = (): [string, { namespace: string }][] =>
  COMMANDS.map((command) => [generatorPath(command.name), { namespace: `fastapi-forge:${command.name}` }]);

/**
 * A yeoman-test run of one forge generator, non-interactive, without installs, and with the real
 * conflicter (yeoman-test forces overwrites unless told otherwise).
 */
export function runForge(name: string, options: Record<string, unknown> = {}) {
  return helpers
    .run(generatorPath(name), { namespace: `fastapi-forge:${name}` }, { force: false } as never)
    .withGenerators(forgeGenerators())
    .withOptions({ skipInstall: true, yes: true, force: false, ...options } as never);
}

export const makeTempDir = (prefix: string): string => mkdtempSync(path.join(tmpdir(), `forge-${prefix}-`));

/** Path -> content of every file under `dir`, to compare a tree before and after a run. */
export function snapshotTree(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (current: string): void => {
    for (const entry of readdirSync(current)) {
      const full = path.join(current, entry);
      if (['.venv', '__pycache__', '.mypy_cache', '.ruff_cache', '.pytest_cache'].includes(entry)) continue;
      if (statSync(full).isDirectory()) walk(full);
      else files[path.relative(dir, full)] = readFileSync(full, 'utf8');
    }
  };
  walk(dir);
  return files;
}

/**
 * Path -> SHA-256 of the bytes of every file under `dir` (`.yo-rc.json` and `.forge/` included), so two
 * trees compare byte for byte.
 */
export function digestTree(dir: string): Record<string, string> {
  const digests: Record<string, string> = {};
  const walk = (current: string): void => {
    for (const entry of readdirSync(current)) {
      const full = path.join(current, entry);
      if (statSync(full).isDirectory()) walk(full);
      else digests[path.relative(dir, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return digests;
}

/** The forge config stored in a project's `.yo-rc.json`. */
export const readConfig = (dir: string): Record<string, unknown> =>
  (
    JSON.parse(readFileSync(path.join(dir, '.yo-rc.json'), 'utf8')) as Record<string, Record<string, unknown>>
  )['generator-fastapi-forge'] ?? {};

/** Changes stored answers of a project, as a later generator or a hand edit would. */
export function updateConfig(dir: string, values: Record<string, unknown>): void {
  const file = path.join(dir, '.yo-rc.json');
  const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
  stored['generator-fastapi-forge'] = { ...stored['generator-fastapi-forge'], ...values };
  writeFileSync(file, JSON.stringify(stored, null, 2));
}

/** Awaits a run that must fail with a one-line user error matching `message`. */
export async function expectUserError(run: Promise<unknown>, message: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await run;
  } catch (error) {
    caught = error;
  }
  expect(isForgeUserError(caught), `expected a user error, got ${String(caught)}`).to.equal(true);
  expect((caught as Error).message).to.match(message);
  expect((caught as Error).message).to.not.include('\n');
}

/** The Makefile targets of a project with agents and PostgreSQL (the default project). */
export const DEFAULT_MAKE_TARGETS = [
  'install',
  'dev',
  'worker',
  'test',
  'lint',
  'format',
  'check',
  'migrate',
  'migration',
  'up',
  'hooks',
] as const;
