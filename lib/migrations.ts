import * as semver from 'semver';

/**
 * Version-keyed migration steps, in the spirit of Nx's migrations: what a version renamed or removed among
 * the files it generates. `upgrade` applies the steps of every version after the project's `generatorVersion`
 * up to the running one, before it renders the project again, so a renamed file is merged at its new path
 * with the user's edits, and a removed one is deleted only while the user has not edited it.
 */
export interface Migration {
  /** The version that made the change. */
  version: string;
  description: string;
  /** `[from, to]` paths relative to the project root; `{package}` stands for the Python package. */
  renames?: [string, string][];
  removals?: string[];
}

/** Every release's steps, oldest first. No release has renamed or removed a generated file yet. */
export const MIGRATIONS: readonly Migration[] = [];

/** The steps that take a project from version `from` to `to`, oldest first. */
export function migrationsBetween(
  from: string | undefined,
  to: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Migration[] {
  const start = semver.valid(from ?? '') ?? '0.0.0';
  return migrations
    .filter((migration) => semver.gt(migration.version, start) && semver.lte(migration.version, to))
    .sort((a, b) => semver.compare(a.version, b.version));
}

/** A migration's paths for one project. */
export const expandPath = (template: string, packageName: string): string =>
  template.replaceAll('{package}', packageName);
