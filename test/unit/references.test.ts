import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { CLI, makeTempDir } from '../helpers.js';

/**
 * The reference docs quote generated code. An excerpt is a fenced code block preceded by
 *   <!-- generated: --auth jwt --db none | src/shop/auth/dependencies.py -->
 * (the flags of `fastapi-forge new shop`, then the file). This test generates those projects and checks
 * that every excerpt still appears in that file, so the docs cannot drift from the templates. A line
 * holding only `...` (or `# ...`) in an excerpt skips over lines of the file.
 */
const REFERENCES = path.join(PACKAGE_ROOT, 'references');
const MARKER = /<!--\s*generated:\s*(.*?)\s*\|\s*(\S+)\s*-->\s*\n```[^\n]*\n([\s\S]*?)\n```/g;

interface Excerpt {
  doc: string;
  flags: string;
  file: string;
  code: string;
}

function excerpts(): Excerpt[] {
  const found: Excerpt[] = [];
  for (const doc of readdirSync(REFERENCES).filter((name) => name.endsWith('.md'))) {
    const text = readFileSync(path.join(REFERENCES, doc), 'utf8');
    for (const match of text.matchAll(MARKER)) {
      found.push({ doc, flags: match[1] ?? '', file: match[2] ?? '', code: match[3] ?? '' });
    }
  }
  return found;
}

const projects = new Map<string, string>();

function projectFor(flags: string): string {
  const cached = projects.get(flags);
  if (cached) return cached;
  const parent = makeTempDir('references');
  const args = [CLI, 'new', 'shop', '--yes', '--skip-install', ...flags.split(/\s+/).filter(Boolean)];
  const result = spawnSync(process.execPath, args, { cwd: parent, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`fastapi-forge new shop ${flags} failed:\n${result.stderr}`);
  const dir = path.join(parent, 'shop');
  projects.set(flags, dir);
  return dir;
}

/** True when the excerpt's chunks (split at `...` lines) appear in the file, in order. */
export function containsExcerpt(content: string, code: string): boolean {
  const chunks = code
    .split(/^\s*(?:#\s*)?\.\.\.\s*$/m)
    .map((chunk) => chunk.replace(/^\n+|\n+$/g, ''))
    .filter((chunk) => chunk.trim() !== '');
  let from = 0;
  for (const chunk of chunks) {
    const at = content.indexOf(chunk, from);
    if (at === -1) return false;
    from = at + chunk.length;
  }
  return chunks.length > 0;
}

describe('reference documentation', function () {
  this.timeout(120_000);

  it('has the ten documents the spec names', () => {
    for (const name of [
      'architecture-patterns',
      'core-patterns',
      'agent-orchestration',
      'microservice-patterns',
      'middleware-patterns',
      'observability',
      'deployment',
      'testing-patterns',
      'security',
      'anti-patterns',
    ]) {
      expect(existsSync(path.join(REFERENCES, `${name}.md`)), `${name}.md`).to.equal(true);
    }
  });

  it('finds excerpts to check', () => {
    expect(excerpts().length).to.be.greaterThan(10);
  });

  it('quotes only code the generator emits today', () => {
    const stale: string[] = [];
    for (const excerpt of excerpts()) {
      const file = path.join(projectFor(excerpt.flags), excerpt.file);
      const content = existsSync(file) ? readFileSync(file, 'utf8') : '';
      if (!containsExcerpt(content, excerpt.code)) {
        stale.push(`${excerpt.doc}: ${excerpt.file} (${excerpt.flags}) no longer contains:\n${excerpt.code}`);
      }
    }
    expect(stale, stale.join('\n\n')).to.deep.equal([]);
  });

  it('detects an excerpt that drifted', () => {
    expect(containsExcerpt('a\nb\nc\n', 'a\n...\nc')).to.equal(true);
    expect(containsExcerpt('a\nb\nc\n', 'c\n...\na')).to.equal(false);
    expect(containsExcerpt('a\nb\nc\n', 'a\nc')).to.equal(false);
  });
});
