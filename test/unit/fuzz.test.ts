import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { CHOICES, parseChoice, validateStoredConfig } from '../../lib/config.js';
import { isForgeUserError } from '../../lib/errors.js';
import { validateProjectName } from '../../lib/naming.js';
import { readProjectState } from '../../lib/project.js';
import { CLI, makeTempDir, snapshotTree } from '../helpers.js';

/** Runs `action`; it must either succeed or fail with a one-line user error, never anything else. */
function succeedsOrUserError(action: () => unknown): 'ok' | 'user-error' {
  try {
    action();
    return 'ok';
  } catch (error) {
    if (!isForgeUserError(error)) throw error;
    expect(error.message).not.to.include('\n');
    expect(error.message.length).to.be.greaterThan(10);
    return 'user-error';
  }
}

const PYTHON_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

describe('generator input fuzzing', () => {
  it('accepts a project name only when it yields a valid Python package', () => {
    const names = fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom(...'aZ09-_. !/\\$é'.split('')) }),
      fc.constantFrom(
        'class',
        'None',
        'async',
        'fastapi',
        'tests',
        '123',
        '',
        ' ',
        'a'.repeat(41),
        'a\nb',
        'x\r',
      ),
    );
    fc.assert(
      fc.property(names, (name) => {
        let packageName = '';
        const outcome = succeedsOrUserError(() => (packageName = validateProjectName(name)));
        if (outcome === 'ok') expect(packageName).to.match(PYTHON_IDENTIFIER);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts an option value only when it is one of the listed choices', () => {
    for (const spec of CHOICES) {
      const allowed = spec.choices.map((choice) => String(choice.value));
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.constantFrom(...allowed), fc.integer().map(String)), (raw) => {
          const outcome = succeedsOrUserError(() => parseChoice(spec.key, raw, `--${spec.flag}`));
          expect(outcome === 'ok').to.equal(allowed.includes(raw));
        }),
        { numRuns: 300 },
      );
    }
  });

  it('reads any .yo-rc.json content as a config or a user error, never a crash', () => {
    const stored = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record({
          projectName: fc.oneof(fc.string(), fc.integer()),
          auth: fc.oneof(fc.constantFrom('jwt', 'apikey', 'oidc', 'none'), fc.string()),
          tier: fc.oneof(fc.constantFrom(1, 2, 3), fc.integer(), fc.string()),
          services: fc.oneof(fc.array(fc.string()), fc.string()),
          agents: fc.oneof(fc.boolean(), fc.string()),
        })
        .map((config) => JSON.stringify({ 'generator-fastapi-forge': config })),
    );
    const dir = makeTempDir('fuzz-yo-rc');
    fc.assert(
      fc.property(stored, (content) => {
        writeFileSync(path.join(dir, '.yo-rc.json'), content);
        succeedsOrUserError(() => readProjectState(dir));
      }),
      { numRuns: 1000 },
    );
  });

  it('validates every stored key whatever its type', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (config) => {
        succeedsOrUserError(() => validateStoredConfig(config, '.yo-rc.json'));
      }),
      { numRuns: 1000 },
    );
  });

  it('the CLI answers random bad input with one line on stderr, a non-zero status, and no files', function () {
    this.timeout(120_000);
    const badRuns = fc.sample(
      fc.oneof(
        fc.tuple(
          fc.constant('new'),
          fc.string({ minLength: 1 }).filter((name) => !/^[A-Za-z][\w.-]*$/.test(name)),
        ),
        fc.tuple(
          fc.constant('new'),
          fc.constant('valid-name'),
          fc.constantFrom(...CHOICES.map((spec) => `--${spec.flag}`)),
          fc.string({ minLength: 1 }).filter((value) => !/^(\d|[a-z-]+)$/.test(value)),
        ),
      ),
      { numRuns: 12, seed: 20261124 },
    );
    for (const args of badRuns) {
      const cwd = makeTempDir('fuzz-cli');
      const result = spawnSync(process.execPath, [CLI, ...args, '--yes', '--skip-install'], {
        cwd,
        encoding: 'utf8',
        input: '',
      });
      expect(result.status, JSON.stringify(args)).to.not.equal(0);
      expect(result.stderr.trim().split('\n'), `${JSON.stringify(args)}: ${result.stderr}`).to.have.length(1);
      expect(snapshotTree(cwd), JSON.stringify(args)).to.deep.equal({});
    }
  });
});
