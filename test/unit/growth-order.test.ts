import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, makeTempDir, snapshotTree } from '../helpers.js';

/**
 * A project grown feature by feature, in any order, holds the files `new` gives for the same options:
 * pyproject.toml's dependencies, .env.example's sections, docker-compose.yml's services, the Kubernetes
 * manifests and their comments included. Only the records of how it got there differ (.yo-rc.json's key
 * order, .forge/).
 */
function forge(cwd: string, args: string[]): void {
  const result = spawnSync(process.execPath, [CLI, ...args, '--yes', '--skip-install'], {
    cwd,
    encoding: 'utf8',
  });
  expect(result.status, `${args.join(' ')}\n${result.stdout}${result.stderr}`).to.equal(0);
}

/** The project `shop` made in a fresh folder by `new` and then each step of `steps`. */
function grow(created: string[], steps: string[][]): Record<string, string> {
  const parent = makeTempDir('growth-order');
  forge(parent, ['new', 'shop', ...created]);
  const project = path.join(parent, 'shop');
  for (const step of steps) forge(project, ['add', ...step]);
  const files = snapshotTree(project);
  rmSync(parent, { recursive: true, force: true });
  return Object.fromEntries(
    Object.entries(files).filter(([file]) => file !== '.yo-rc.json' && !file.startsWith('.forge/')),
  );
}

describe('growing a project in another order', function () {
  this.timeout(300_000);

  it('gives the files `new --tier 3` gives, whichever order the features came in', () => {
    const start = ['--app-type', 'microservice', '--db', 'none'];
    const readmeOrder = grow(start, [
      ['agents', '--agent-sdk', 'none'],
      ['db', '--db', 'postgres'],
      ['microservice', 'orders'],
      ['microservice', 'inventory'],
      ['gateway'],
      ['events'],
      ['k8s'],
    ]);
    const otherOrder = grow(start, [
      ['db', '--db', 'postgres'],
      ['k8s'],
      ['agents', '--agent-sdk', 'none'],
      ['microservice', 'orders'],
      ['microservice', 'inventory'],
      ['events'],
      ['gateway'],
    ]);
    const direct = grow(['--tier', '3', '--agent-sdk', 'none', '--deploy', 'k8s'], []);
    expect(Object.keys(otherOrder).sort()).to.deep.equal(Object.keys(readmeOrder).sort());
    for (const [file, content] of Object.entries(readmeOrder)) {
      expect(otherOrder[file], file).to.equal(content);
      expect(direct[file], file).to.equal(content);
    }
    expect(Object.keys(direct).sort()).to.deep.equal(Object.keys(readmeOrder).sort());
  });
});
