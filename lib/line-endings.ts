import { createHash } from 'node:crypto';

/**
 * Line endings are not content. A checkout with git's autocrlf (Windows) has CRLF endings in every generated
 * file: that is not an edit of the user's, and a file rendered again keeps the endings it has.
 */

/** `text` with LF line endings. */
export const withLf = (text: string): string => text.replace(/\r\n/g, '\n');

/** `text` (rendered with LF endings) with the endings of `existing`: CRLF when it uses them. */
export const withLineEndingsOf = (existing: string | undefined, text: string): string =>
  existing?.includes('\r\n') ? text.replace(/\r?\n/g, '\r\n') : text;

/** The sha256 that `.forge/checksums.json` keeps of a text: of its LF form, so endings do not count. */
export const checksumOf = (text: string): string => createHash('sha256').update(withLf(text)).digest('hex');

/** True when two file contents are the same text once line endings are set aside (binary files: same bytes). */
export function sameText(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true;
  if (a.includes(0) || b.includes(0)) return false;
  return withLf(a.toString('utf8')) === withLf(b.toString('utf8'));
}
