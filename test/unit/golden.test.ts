import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { CLI, digestTree, makeTempDir } from '../helpers.js';

/**
 * Golden file trees: every path `fastapi-forge new` writes for a few canonical configurations, with a hash of
 * each file's content, kept in test/golden/<name>.txt. A change to the generated output shows up in review as
 * a diff of those files. After a deliberate change, write them again with `npm run test:golden:update`.
 */
const GOLDEN_DIR = path.join(PACKAGE_ROOT, 'test', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const CONFIGURATIONS: Record<string, string[]> = {
  'tier1-defaults': [],
  'tier1-mongo-apikey-observability': ['--db', 'mongo', '--auth', 'apikey', '--observability'],
  'tier1-lean': ['--app-type', 'microservice', '--db', 'none', '--auth', 'none'],
  'tier1-serverless': ['--deploy', 'serverless'],
  tier2: ['--tier', '2'],
  tier3: ['--tier', '3'],
};

/** uv.lock is written by uv, not by the templates: it is not generated output (and --skip-install skips it). */
const NOT_OUTPUT = new Set(['uv.lock']);

/** PATH without uv: the run writes the files and nothing more, as fast as it can. */
const PATH_WITHOUT_UV = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((dir) => dir && !existsSync(path.join(dir, 'uv')))
  .join(path.delimiter);

/** The golden text of a project: a header naming the command, then `<hash>  <path>` a line, sorted by path. */
function goldenOf(args: string[], project: string): string {
  const lines = Object.entries(digestTree(project))
    .filter(([file]) => !NOT_OUTPUT.has(file))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([file, digest]) => `${digest.slice(0, 16)}  ${file}`);
  const command = ['fastapi-forge new golden --yes --skip-install', ...args].join(' ');
  return [`# ${command}`, '# npm run test:golden:update writes this file again', ...lines, ''].join('\n');
}

describe('golden file trees of canonical projects (test/golden)', function () {
  this.timeout(120_000);

  for (const [name, args] of Object.entries(CONFIGURATIONS)) {
    it(`${name}: \`new ${['golden', ...args].join(' ')}\` writes the files of test/golden/${name}.txt`, () => {
      const cwd = makeTempDir(`golden-${name}`);
      const run = spawnSync(process.execPath, [CLI, 'new', 'golden', '--yes', '--skip-install', ...args], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, PATH: PATH_WITHOUT_UV },
      });
      expect(run.status, run.stderr).to.equal(0);
      const actual = goldenOf(args, path.join(cwd, 'golden'));
      const file = path.join(GOLDEN_DIR, `${name}.txt`);
      if (UPDATE) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, actual);
      }
      const expected = existsSync(file) ? readFileSync(file, 'utf8') : '';
      // Line by line, so a failure lists the paths whose content changed, appeared or went.
      expect(actual.split('\n'), `${file} (npm run test:golden:update writes it again)`).to.deep.equal(
        expected.split('\n'),
      );
    });
  }

  it('holds no golden file of a configuration no longer listed', () => {
    const stale = readdirSync(GOLDEN_DIR).filter((file) => !(file.replace(/\.txt$/, '') in CONFIGURATIONS));
    if (UPDATE) for (const file of stale) rmSync(path.join(GOLDEN_DIR, file));
    else expect(stale).to.deep.equal([]);
  });
});
