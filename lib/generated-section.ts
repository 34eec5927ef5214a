/**
 * A generated section is the part of a user-owned file (a README) between two marker lines. The file is the
 * user's, but the section describes the project as it is now, so every run renders it again: a project that
 * grows from tier 1 to tier 3 gets the README of tier 3, and the user's own text around the section stays.
 */
export const SECTION_BEGIN = '<!-- fastapi-forge:begin';
export const SECTION_END = '<!-- fastapi-forge:end -->';

export type SectionBounds = { start: number; end: number; text: string };

/** The section of `content`, from the start of its begin line to the end of its end line; undefined without one. */
export function findGeneratedSection(content: string): SectionBounds | undefined {
  const begin = content.search(/^<!-- fastapi-forge:begin/m);
  if (begin === -1) return undefined;
  const endLine = content.indexOf(`\n${SECTION_END}`, begin);
  if (endLine === -1) return undefined;
  const end = endLine + 1 + SECTION_END.length;
  return { start: begin, end, text: content.slice(begin, end) };
}

/** `content` with its section replaced by `section` (the text of another section, markers included). */
export function replaceGeneratedSection(content: string, bounds: SectionBounds, section: string): string {
  return content.slice(0, bounds.start) + section + content.slice(bounds.end);
}
