import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { ForgeGenerator } from '../../lib/base-generator.js';
import { ForgeUserError } from '../../lib/errors.js';
import { PACKAGE_ROOT } from '../../lib/templates.js';

interface PackageJson {
  exports?: Record<string, string | Record<string, string>>;
  files?: string[];
  homepage?: unknown;
  repository?: { type?: unknown; url?: unknown };
  bugs?: { url?: unknown };
}

/** `github.com/<owner>/<repo>` as the three fields spell it. */
const GITHUB = /^https:\/\/github\.com\/([\w.-]+\/[\w.-]+?)(?:\.git|#readme|\/issues)$/;

describe('package metadata', () => {
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as PackageJson;

  it('says where the project lives: repository, homepage and bugs, all naming one GitHub repository', () => {
    expect(pkg.repository?.type).to.equal('git');
    const repository = String(pkg.repository?.url);
    // npm's normalized form: a git URL over https.
    expect(repository).to.match(/^git\+https:\/\/github\.com\/[^/]+\/[^/]+\.git$/);
    const homepage = String(pkg.homepage);
    const bugs = String(pkg.bugs?.url);
    expect(homepage).to.match(/#readme$/);
    expect(bugs).to.match(/\/issues$/);
    const repos = [repository.replace(/^git\+/, ''), homepage, bugs].map((url) => GITHUB.exec(url)?.[1]);
    expect(repos[0]).to.be.a('string');
    expect(repos).to.deep.equal([repos[0], repos[0], repos[0]]);
  });

  it('ships every file of the package that its README links to', () => {
    const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const linked = [...readme.matchAll(/\]\((?!https?:|#|mailto:)([^)#\s]+)/g)].map(
      (match) => match[1] ?? '',
    );
    expect(linked).to.include('docs/contributions.md');
    for (const file of linked) {
      expect(existsSync(path.join(PACKAGE_ROOT, file)), file).to.equal(true);
      const shipped = (pkg.files ?? []).some((entry) => file === entry || file.startsWith(`${entry}/`));
      expect(shipped, `${file} is in package.json's files`).to.equal(true);
    }
  });

  it('exports the base generator and the contribution API to plugin packages, and only that', async () => {
    const entry = pkg.exports?.['.'] as Record<string, string>;
    expect(Object.keys(pkg.exports ?? {})).to.deep.equal(['.', './package.json']);
    expect(entry.types).to.equal('./dist/lib/plugin-api.d.ts');
    // Published: the entry sits in a folder `files` lists.
    expect(pkg.files).to.include(path.posix.dirname(entry.default ?? '').replace(/^\.\//, ''));
    const api = (await import(pathToFileURL(path.join(PACKAGE_ROOT, entry.default ?? '')).href)) as Record<
      string,
      unknown
    >;
    expect(api.ForgeGenerator).to.equal(ForgeGenerator);
    expect(api.ForgeUserError).to.equal(ForgeUserError);
    expect(Object.keys(api).sort()).to.deep.equal(['ForgeGenerator', 'ForgeUserError']);
  });
});
