/**
 * Needles are marker comments in user-owned files, e.g. `# forge:routers`. Later generators insert a
 * snippet just above the marker, at the marker's indentation, unless the snippet is already there.
 */
export type NeedleResult = { status: 'inserted'; content: string } | { status: 'present' | 'missing' };

export function needleMarker(name: string): string {
  return `# forge:${name}`;
}

export function insertAtNeedle(content: string, name: string, snippet: string): NeedleResult {
  const lines = content.split('\n');
  const snippetLines = snippet.replace(/\n+$/, '').split('\n');
  const normalized = (text: string): string => text.replace(/\s+/g, ' ').trim();
  if (normalized(content).includes(normalized(snippet))) return { status: 'present' };
  const index = lines.findIndex((line) => line.trim() === needleMarker(name));
  if (index === -1) return { status: 'missing' };
  const indent = /^\s*/.exec(lines[index] ?? '')?.[0] ?? '';
  const base = Math.min(
    ...snippetLines.filter((line) => line.trim()).map((line) => /^\s*/.exec(line)?.[0].length ?? 0),
  );
  const indented = snippetLines.map((line) => (line.trim() ? indent + line.slice(base) : ''));
  lines.splice(index, 0, ...indented);
  return { status: 'inserted', content: lines.join('\n') };
}
