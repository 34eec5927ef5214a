/**
 * A generator's files as data, in the spirit of JHipster's `files.ts`: each generator lists its sections in
 * `generators/<name>/files.ts`, and the base generator applies them (`writeSections`, `mergeSectionManifests`).
 * A section is one or several template families (folders of `templates/`, or a plugin's own), a condition on
 * the template context, the files of it that are the user's (written once), and the heading under which its
 * `forge.json` (dependencies, environment variables) is merged. A section of a workspace member or of one
 * resource also says which of its families' templates it renders, the folder they land in, the context
 * they are rendered with and the names its template paths stand for.
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
  /** The templates of its families it renders (paths inside a family, e.g. `tests/x.py.ejs`); all without it. */
  only?: readonly string[] | ((template: string) => boolean);
  /** The folder its files land in, relative to the project (a workspace member's); the project's root without it. */
  into?: (context: FilesContext) => string;
  /** The context its templates are rendered with, from the one it is applied in; that one without it. */
  context?: (context: FilesContext) => FilesContext;
  /** Names in its template paths besides `_package_` (e.g. `_table_`) and what each stands for. */
  names?: (context: FilesContext) => Record<string, string>;
}

/** A section that applies in a context, resolved. */
export interface AppliedSection {
  families: readonly string[];
  once: ReadonlySet<string>;
  manifest?: string;
  render: boolean;
  /** Whether it renders a template of a family (its path inside the family). */
  renders: (template: string) => boolean;
  into: string;
  /** The context its templates are rendered with. */
  context: FilesContext;
  /** A template's path inside its family with the section's names put in, every one in a single pass. */
  named: (template: string) => string;
}

const resolve = <T>(value: FromContext<T>, context: FilesContext): T =>
  typeof value === 'function' ? (value as (context: FilesContext) => T)(context) : value;

/** The sections of a list that apply in `context`, in their order. */
export function applicableSections(
  sections: readonly FileSection[],
  context: FilesContext,
): AppliedSection[] {
  return sections
    .filter((section) => section.when?.(context) ?? true)
    .map((section) => {
      const rendering = section.context?.(context) ?? context;
      const packageName = String(rendering.packageName);
      const only = section.only;
      const names = section.names?.(rendering) ?? {};
      const tokens = Object.keys(names);
      const pattern = new RegExp(
        tokens.map((token) => token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
        'g',
      );
      return {
        families: resolve(section.families, context),
        once: new Set((section.once ?? []).map((file) => file.replaceAll('<package>', packageName))),
        manifest: section.manifest === undefined ? undefined : resolve(section.manifest, context),
        render: section.render ?? true,
        renders:
          only === undefined ? () => true : typeof only === 'function' ? only : (t) => only.includes(t),
        into: section.into?.(context) ?? '',
        context: rendering,
        named: (template) =>
          tokens.length === 0 ? template : template.replace(pattern, (token) => names[token] ?? token),
      };
    });
}
