import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import helpers from 'yeoman-test';
import { GENERATORS } from '../lib/generators.js';
import { PACKAGE_ROOT } from '../lib/templates.js';

export const CLI = path.join(PACKAGE_ROOT, 'bin', 'fastapi-forge.js');

export const generatorPath = (name: string): string =>
  path.join(PACKAGE_ROOT, 'dist', 'generators', name, 'index.js');

/** Every generator this version ships, registered under its real namespace. */
export const forgeGenerators = (): [string, { namespace: string }][] =>
  GENERATORS.filter((info) => info.available).map((info) => [
    generatorPath(info.name),
    { namespace: `fastapi-forge:${info.name}` },
  ]);

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
