import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { CHOICES, CONFIG_NAMESPACE, parseChoice, validateStoredConfig } from '../../lib/config.js';
import { DEPLOYMENT_FLAGS } from '../../lib/deploy.js';
import { COMMANDS } from '../../cli/main.js';
import { isForgeUserError } from '../../lib/errors.js';
import { validateProjectName } from '../../lib/naming.js';
import { readProjectState } from '../../lib/project.js';
import { CLI, makeTempDir, snapshotTree } from '../helpers.js';

/**
 * Runs the CLI in `cwd`, where it must refuse: a non-zero status, one line on stderr, and the directory
 * exactly as it was.
 */
function expectRefused(args: string[], cwd: string): void {
  const before = snapshotTree(cwd);
  const result = spawnSync(process.execPath, [CLI, ...args, '--yes', '--skip-install'], {
    cwd,
    encoding: 'utf8',
    input: '',
  });
  const label = JSON.stringify(args);
  expect(result.status, `${label}: ${result.stdout}${result.stderr}`).to.not.equal(0);
  expect(result.stderr.trim().split('\n'), `${label}: ${result.stderr}`).to.have.length(1);
  expect(result.stderr.trim().length, label).to.be.greaterThan(10);
  expect(snapshotTree(cwd), label).to.deep.equal(before);
}

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

  it('the CLI refuses names shaped like identifiers that are no usable package, and writes nothing', function () {
    this.timeout(120_000);
    const names = fc.sample(
      fc.oneof(
        fc.constantFrom('class', 'async', 'import', 'lambda', 'yield'),
        // Names that would shadow a module the project imports, or its own test package.
        fc.constantFrom('fastapi', 'pydantic', 'tests', 'typing', 'asyncio', 'jwt'),
        fc.integer({ min: 41, max: 80 }).map((length) => 'a'.repeat(length)),
        fc.constantFrom('trailing-', 'trailing.', '-leading', 'UPPER-Case-'),
      ),
      { numRuns: 10, seed: 20261124 },
    );
    for (const name of names) expectRefused(['new', name], makeTempDir('fuzz-name'));
  });

  it('the CLI refuses plausible option values that are not listed, and writes nothing', function () {
    this.timeout(120_000);
    for (const spec of CHOICES) {
      const allowed = spec.choices.map((choice) => String(choice.value));
      const plausible = fc.sample(
        fc
          .oneof(fc.stringMatching(/^[a-z][a-z-]{0,9}$/), fc.integer({ min: -1, max: 9 }).map(String))
          .filter((value) => !allowed.includes(value)),
        { numRuns: 2, seed: 20261124 },
      );
      for (const value of plausible) {
        expectRefused(['new', 'valid-name', `--${spec.flag}`, value], makeTempDir('fuzz-value'));
      }
    }
    const deployment: [string, string[]][] = [
      ['docker', ['--python', '2.7']],
      ['k8s', ['--k8s-namespace', 'Not_A_Label']],
      ['k8s', ['--ingress-host', 'no-dots']],
    ];
    expect(Object.keys(DEPLOYMENT_FLAGS).sort()).to.deep.equal(['ingress-host', 'k8s-namespace', 'python']);
    const project = makeTempDir('fuzz-deploy');
    spawnSync(process.execPath, [CLI, 'new', 'app', '--yes', '--skip-install'], { cwd: project, input: '' });
    for (const [generator, flags] of deployment) {
      expectRefused(['add', generator, ...flags, '--path', 'app'], project);
    }
  });

  it('a broken .yo-rc.json stops every command with one line, and nothing is written', function () {
    this.timeout(300_000);
    const known = { projectName: 'app', packageName: 'app' };
    const broken = fc.sample(
      fc.oneof(
        // Not JSON at all.
        fc.string({ minLength: 1 }).filter((text) => {
          try {
            JSON.parse(text);
            return false;
          } catch {
            return true;
          }
        }),
        // JSON, but not an object.
        fc.constantFrom('[]', '42', '"text"', 'null'),
        // The forge config with a value of the wrong type or outside its list.
        fc
          .oneof(
            ...CHOICES.map((spec) =>
              fc
                .oneof(fc.string(), fc.integer({ min: 4, max: 99 }))
                .filter((value) => !spec.choices.some((choice) => String(choice.value) === String(value)))
                .map((value) => ({ [spec.key]: value })),
            ),
            fc.constantFrom(
              { projectName: 42 },
              { projectName: 'class' },
              { agents: 'yes' },
              { services: 'orders' },
              { deployment: { targets: ['heroku'] } },
              { deployment: { python: '2.7' } },
            ),
          )
          .map((bad) => JSON.stringify({ [CONFIG_NAMESPACE]: { ...known, ...bad } })),
      ),
      { numRuns: 8, seed: 20261124 },
    );
    const generators = COMMANDS.filter((command) => !command.args?.length).map((command) => command.name);
    broken.forEach((content, index) => {
      const parent = makeTempDir('fuzz-broken-project');
      mkdirSync(path.join(parent, 'app'));
      writeFileSync(path.join(parent, 'app', '.yo-rc.json'), content);
      expectRefused(['new', 'app'], parent);
      // Every sub-generator in turn over the runs, each in the project itself.
      const generator = generators[index % generators.length] ?? 'api';
      expectRefused(['add', generator], path.join(parent, 'app'));
    });
  });
});
