import { expect } from 'chai';
import { isProjectPath, isRecordKey } from '../../lib/project-paths.js';
import { destinationFor } from '../../lib/templates.js';

describe('paths inside the project', () => {
  it('are relative, with no empty, "." or ".." name', () => {
    for (const inside of ['README.md', 'src/shop/main.py', '.forge/checksums.json', 'a/..b/c', 'dot-./x'])
      expect(isProjectPath(inside), inside).to.equal(true);
    for (const outside of ['', '/etc/passwd', '../x', 'src/../../x', 'src/./x', 'a//b', 'a\\..\\x', 'a\0b'])
      expect(isProjectPath(outside), JSON.stringify(outside)).to.equal(false);
    expect(isRecordKey('src/shop/main.py#once')).to.equal(true);
    expect(isRecordKey('../main.py#once')).to.equal(false);
  });

  it('are where every template lands: a folder renamed to "." or ".." is refused in one line', () => {
    expect(destinationFor('src/_package_/dot-env.example.ejs', 'shop')).to.equal('src/shop/.env.example');
    for (const template of ['dot-./escaped.txt.ejs', 'src/dot-./dot-./x.py.ejs', 'dot-/x.ejs']) {
      expect(() => destinationFor(template, 'shop'), template).to.throw(/outside the project/);
    }
  });
});
