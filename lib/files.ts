/**
 * A generator's files as data, in the spirit of JHipster's `files.ts`: each generator lists its sections in
 * `generators/<name>/files.ts`, and the base generator applies them (`writeSections`, `mergeSectionManifests`).
 * A section is one or several template families (folders of `templates/`, or a plugin's own), a condition on
 * the template context, the files of it that are the user's (written once), and the heading under which its
 * `forge.json` (dependencies, environment variables) is merged.
 */

/** The template context a section's condition, families and heading read. */
export type FilesContext = Record<string, unknown>;

type FromContext<T> = T | ((context: FilesContext) => T);

export interface FileSection {
  /** Its template families, rendered in this order. */
  families: FromContext<readonly string[]>;
  /** When the section applies; always without one. */
  when?: (context: FilesContext) => boolean;
  /**
   * Write mode: the destinations (`<package>` stands for the Python package) that are the user's, written
   * when missing and never again. Every other file is owned: rendered from the config at every run.
   */
  once?: readonly string[];
  /** Where its families' forge.json is merged into pyproject.toml and .env.example: the heading there. */
  manifest?: FromContext<string>;
  /** False when the families only hold a forge.json (nothing to render). */
  render?: boolean;
}

/** A section that applies in a context, resolved. */
export interface AppliedSection {
  families: readonly string[];
  once: ReadonlySet<string>;
  manifest?: string;
  render: boolean;
}

const resolve = <T>(value: FromContext<T>, context: FilesContext): T =>
  typeof value === 'function' ? (value as (context: FilesContext) => T)(context) : value;

/** The sections of a list that apply in `context`, in their order. */
export function applicableSections(
  sections: readonly FileSection[],
  context: FilesContext,
): AppliedSection[] {
  const packageName = String(context.packageName);
  return sections
    .filter((section) => section.when?.(context) ?? true)
    .map((section) => ({
      families: resolve(section.families, context),
      once: new Set((section.once ?? []).map((file) => file.replaceAll('<package>', packageName))),
      manifest: section.manifest === undefined ? undefined : resolve(section.manifest, context),
      render: section.render ?? true,
    }));
}
