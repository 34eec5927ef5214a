import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, makeTempDir } from '../helpers.js';
import { atLengthLimit } from '../matrix/combinations.js';

/** The line length of every generated project's ruff configuration. */
const LINE_LENGTH = 100;

/** `file:line (length)` of every line of the project's Python files longer than the line length. */
function longLines(project: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(project, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.py')) continue;
    readFileSync(path.join(project, entry), 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (line.length > LINE_LENGTH) found.push(`${entry}:${index + 1} (${line.length})`);
      });
  }
  return found;
}

/**
 * Names at their bound (lib/naming.ts) must not push a generated line past ruff's line length (E501, and
 * `ruff format` would rewrap imports). This checks the lengths alone, in seconds; the option matrix runs
 * ruff itself on two projects named so (test/matrix/combinations.ts).
 */
describe('generated Python with the longest accepted names', function () {
  this.timeout(120_000);
  const project = atLengthLimit(['a', 'project'], '-');
  const services = [atLengthLimit(['first'], '_'), atLengthLimit(['second'], '_')];

  const cases: [string, string[]][] = [
    [
      'tier 1 with every feature, deployed serverless',
      ['--db', 'postgres', '--auth', 'jwt', '--observability', '--deploy', 'serverless', '--examples'],
    ],
    [
      'tier 3 with two services of such names',
      ['--tier', '3', '--services', services.join(','), '--db', 'postgres', '--auth', 'oidc'],
    ],
  ];
  for (const [title, flags] of cases) {
    it(`fits ${LINE_LENGTH} characters a line: ${title}`, () => {
      const parent = makeTempDir('line-length');
      const run = spawnSync(process.execPath, [CLI, 'new', project, '--yes', '--skip-install', ...flags], {
        cwd: parent,
        encoding: 'utf8',
        input: '',
      });
      expect(run.status, run.stderr).to.equal(0);
      expect(longLines(path.join(parent, project))).to.deep.equal([]);
    });
  }
});
