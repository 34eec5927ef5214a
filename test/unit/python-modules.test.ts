import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { distributionModules, installedModules } from '../../lib/python-modules.js';
import { makeTempDir } from '../helpers.js';

/** A uv.lock: the project itself (editable), then what it resolved from the registry. */
const LOCK = [
  'version = 1\n',
  '[[package]]\nname = "svc"\nversion = "0.1.0"\nsource = { editable = "." }\n',
  ...[
    ['pymongo', '4.10.0'],
    ['python-dotenv', '1.0.1'],
    ['PyYAML', '6.0.2'],
  ].map(
    ([name, version]) =>
      `[[package]]\nname = "${name}"\nversion = "${version}"\nsource = { registry = "https://pypi.org/simple" }\n`,
  ),
].join('\n');

function lockedProject(): string {
  const root = makeTempDir('python-modules');
  writeFileSync(
    path.join(root, 'pyproject.toml'),
    '[project]\nname = "svc"\ndependencies = [\n    "pymongo>=4",\n]\n\n[dependency-groups]\ndev = [\n    "PyYAML",\n]\n',
  );
  writeFileSync(path.join(root, 'uv.lock'), LOCK);
  return root;
}

describe('modules a project installs', () => {
  it('maps a distribution to its top-level modules', () => {
    expect(distributionModules('PyYAML')).to.deep.equal(['_yaml', 'yaml']);
    expect(distributionModules('python-dotenv')).to.deep.equal(['dotenv']);
    expect(distributionModules('pymongo')).to.include.members(['bson', 'gridfs', 'pymongo']);
    expect(distributionModules('Some_Package')).to.deep.equal(['some_package']);
  });

  it("are those of every locked package, dependencies' dependencies included, not the project's own", () => {
    const modules = installedModules(lockedProject(), []);
    expect([...modules].sort()).to.deep.equal(['_yaml', 'bson', 'dotenv', 'gridfs', 'pymongo', 'yaml']);
  });

  it('are every known one while a requirement is not locked yet, or there is no lock', () => {
    const root = lockedProject();
    for (const modules of [installedModules(root, ['sqlalchemy>=2']), installedModules(root)]) {
      expect(modules.has('greenlet')).to.equal(true);
      expect(modules.has('uvloop')).to.equal(true);
    }
    expect(installedModules(makeTempDir('python-modules'), []).has('websockets')).to.equal(true);
  });
});
