import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../../lib/templates.js';

interface PackageJson {
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
});
