import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { DEPLOY_GENERATORS } from '../../lib/deploy.js';
import { COMMANDS } from '../../cli/main.js';
import { CLI, digestTree, makeTempDir } from '../helpers.js';

/**
 * PATH without uv: `add` locks the dependencies when uv is there, which resolves them over the network. The
 * fixed point is about the files the generators write, and uv.lock is not one of them.
 */
const PATH_WITHOUT_UV = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((dir) => dir !== '' && !existsSync(path.join(dir, 'uv')))
  .join(path.delimiter);

/** Runs the CLI; returns what it printed on stderr (its status lines). */
function forge(args: string[], cwd: string): string {
  const result = spawnSync(process.execPath, [CLI, ...args, '--yes', '--skip-install'], {
    cwd,
    encoding: 'utf8',
    input: '',
    env: { ...process.env, PATH: PATH_WITHOUT_UV },
  });
  expect(result.status, `fastapi-forge ${args.join(' ')}: ${result.stderr}`).to.equal(0);
  return result.stderr;
}

/** Path -> inode of every file under `dir`: a file written again, even with the same bytes, gets a new one. */
function inodes(dir: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const stat = statSync(path.join(dir, entry));
    if (stat.isFile()) found[entry] = stat.ino;
  }
  return found;
}

/**
 * Runs `command` twice in `cwd`: the second run changes no byte of `project`, writes no file again, and
 * says so (`identical`, never `force`, `create` or `conflict`).
 */
function expectFixedPoint(cwd: string, project: string, command: string[], again: string[] = command): void {
  forge(command, cwd);
  const first = digestTree(project);
  const written = inodes(project);
  const status = forge(again, project);
  const what = `${again.join(' ')} after ${command.join(' ')}`;
  expect(digestTree(project), `${what} changed files`).to.deep.equal(first);
  expect(inodes(project), `${what} wrote files again`).to.deep.equal(written);
  const changes = status.split('\n').filter((line) => /^ *(force|create|conflict) /.test(line));
  expect(changes, `${what} reported changes`).to.deep.equal([]);
}

/** A copy of a project, so each generator starts from the same one. */
function copyOf(project: string, name: string): string {
  const copy = path.join(makeTempDir(`fixed-${name}`), path.basename(project));
  cpSync(project, copy, { recursive: true });
  return copy;
}

describe('every generator reaches its fixed point in one run', function () {
  this.timeout(300_000);
  // Lean projects, so that `add` has every feature left to add.
  const LEAN = ['--db', 'none', '--auth', 'none', '--agent-sdk', 'none'];
  let tier1 = '';
  let deployed = '';
  let tier2 = '';
  let sql = '';

  before(() => {
    const parent = makeTempDir('fixed-base');
    forge(['new', 'shop', ...LEAN], parent);
    forge(['new', 'store', '--tier', '2', ...LEAN], parent);
    // Every deployment target, so a feature's settings and secrets have to reach all of their files.
    forge(['new', 'deployed', '--deploy', 'serverless', ...LEAN], parent);
    deployed = path.join(parent, 'deployed');
    for (const target of ['k8s', 'cloudrun']) forge(['add', target], deployed);
    // A resource lives in the SQL database.
    forge(['new', 'sql', '--db', 'postgres', '--auth', 'none', '--agent-sdk', 'none'], parent);
    sql = path.join(parent, 'sql');
    tier1 = path.join(parent, 'shop');
    tier2 = path.join(parent, 'store');
  });

  // `new` refuses an existing project: its second run is `upgrade`, which renders it again from its answers.
  for (const tier of ['1', '2', '3']) {
    it(`new --tier ${tier}`, () => {
      const parent = makeTempDir(`fixed-tier${tier}`);
      expectFixedPoint(parent, path.join(parent, 'shop'), ['new', 'shop', '--tier', tier], ['upgrade']);
    });
  }

  // compose, the default target, is the tier-1 project's above.
  for (const target of Object.keys(DEPLOY_GENERATORS).filter((name) => name !== 'compose')) {
    it(`new --deploy ${target}`, () => {
      const parent = makeTempDir(`fixed-deploy-${target}`);
      expectFixedPoint(parent, path.join(parent, 'shop'), ['new', 'shop', '--deploy', target], ['upgrade']);
    });
  }

  /** What each `add` is given; tier 3 (events) and the gateway build on the services of tier 2. */
  const ADD_ARGS: Record<string, string[]> = {
    auth: ['--auth', 'jwt'],
    db: ['--db', 'postgres'],
    agents: ['--agent-sdk', 'anthropic'],
    microservice: ['billing'],
    resource: ['Order', '--field', 'total:decimal', '--field', 'status:enum(new,paid)'],
  };
  const ON_TIER2 = new Set(['gateway', 'events']);
  const DEPLOYMENT = new Set(Object.values(DEPLOY_GENERATORS));
  /** A deployment target is added to the lean tier-1 project; a feature to the one deployed everywhere. */
  const baseFor = (name: string): string =>
    name === 'resource' ? sql : ON_TIER2.has(name) ? tier2 : DEPLOYMENT.has(name) ? tier1 : deployed;
  const added = COMMANDS.filter((command) => command.name !== 'app');

  for (const { name } of added) {
    it(`add ${name}`, () => {
      const project = copyOf(baseFor(name), name);
      expectFixedPoint(project, project, ['add', name, ...(ADD_ARGS[name] ?? [])]);
    });
  }
});
