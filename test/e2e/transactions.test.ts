import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, makeTempDir, snapshotTree } from '../helpers.js';
import { freshDatabase, verifyProject } from './projects.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const LOCKED = /another fastapi-forge run \(pid \d+\) is changing this project and holds .*\.forge\/lock/;

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

function forge(args: string[], cwd: string, env: Record<string, string> = {}): Run {
  const result = spawnSync(process.execPath, [CLI, ...args, '--yes', '--skip-install'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: result.status, signal: result.signal, output: `${result.stdout}${result.stderr}` };
}

function forgeAsync(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--yes', '--skip-install'], { cwd });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (status, signal) => resolve({ status, signal, output }));
  });
}

function expectSuccess(run: Run, what: string): void {
  expect(run.status, `${what}:\n${run.output}`).to.equal(0);
}

/** The runs a project grows through, each run in the project's parent (`new`) or in the project. */
const STEPS: { name: string; args: string[] }[] = [
  { name: 'new', args: ['new', 'shop', '--app-type', 'microservice', '--db', 'none', '--auth', 'none'] },
  { name: 'add db', args: ['add', 'db', '--db', 'postgres'] },
  { name: 'add auth', args: ['add', 'auth', '--auth', 'jwt'] },
  { name: 'add microservice', args: ['add', 'microservice', 'orders'] },
];

/** User edits made after `new`: a line in a user-owned module, text in the README, a file of their own. */
function editAsUser(project: string): void {
  appendFileSync(path.join(project, 'src/shop/main.py'), '\n\n# keep: my own note\n');
  const readme = path.join(project, 'README.md');
  writeFileSync(readme, `My own introduction.\n\n${readFileSync(readme, 'utf8')}`);
  writeFileSync(path.join(project, 'src/shop/custom.py'), 'ANSWER = 42\n');
}

function runStep(index: number, parent: string, env: Record<string, string> = {}): Run {
  const step = STEPS[index];
  if (!step) throw new Error(`no step ${index}`);
  return forge(step.args, index === 0 ? parent : path.join(parent, 'shop'), env);
}

/**
 * Files the step's commit writes (changed or new) and removes, from the trees before and after it.
 * uv.lock is not among them: `uv lock` writes it once the commit is done, and uv replaces it atomically.
 */
function changedFiles(before: Record<string, string>, after: Record<string, string>) {
  const committed = (file: string): boolean => file !== 'uv.lock';
  const written = Object.keys(after).filter((file) => committed(file) && before[file] !== after[file]).length;
  const removed = Object.keys(before).filter((file) => committed(file) && !(file in after)).length;
  return { written, removed };
}

describe('runs are transactions', function () {
  this.timeout(20 * 60_000);
  /** Parent folders holding `shop` as it is before each step (index) and after the last one. */
  const states: string[] = [];
  const trees: Record<string, string>[] = [];
  /** What each step itself wrote: the trees without the user's edits made after `new`. */
  const written: Record<string, string>[] = [];

  before(() => {
    // One uninterrupted run of every step: the trees every interrupted run must end up with.
    let parent = makeTempDir('txn-state-0');
    states.push(parent);
    trees.push({});
    STEPS.forEach((step, index) => {
      const next = makeTempDir(`txn-state-${index + 1}`);
      if (index > 0) cpSync(path.join(parent, 'shop'), path.join(next, 'shop'), { recursive: true });
      expectSuccess(runStep(index, next), step.name);
      written.push(snapshotTree(path.join(next, 'shop')));
      if (index === 0) editAsUser(path.join(next, 'shop'));
      states.push(next);
      trees.push(snapshotTree(path.join(next, 'shop')));
      parent = next;
    });
  });

  it('a SIGKILL at any point of a commit, then a plain re-run, gives the uninterrupted tree, edits kept', () => {
    let points = 0;
    STEPS.forEach((step, index) => {
      const before = trees[index] ?? {};
      const expected = trees[index + 1] ?? {};
      const { written: files, removed } = changedFiles(before, written[index] ?? {});
      // Commit steps: the journal, a temporary file per write, the commit point, a rename or delete each.
      const total = 2 * files + removed + 2;
      const kills = [1, Math.ceil(files / 2), files + 1, files + 2, total - 1, total];
      for (const killAt of [...new Set(kills)].filter((at) => at >= 1 && at <= total)) {
        const parent = makeTempDir(`txn-kill-${index}-${killAt}`);
        const start = states[index] ?? '';
        if (index > 0) cpSync(path.join(start, 'shop'), path.join(parent, 'shop'), { recursive: true });
        const killed = runStep(index, parent, { FASTAPI_FORGE_KILL_AT_STEP: String(killAt) });
        expect(
          killed.signal,
          `${step.name} killed at step ${killAt} of ${total}:\n${killed.output}`,
        ).to.equal('SIGKILL');
        const rerun = runStep(index, parent);
        expectSuccess(rerun, `${step.name} after a kill at step ${killAt}`);
        expect(rerun.output, 'no untouched file reported as edited').to.not.include(
          'Kept your edited version',
        );
        if (index === 0) editAsUser(path.join(parent, 'shop'));
        const tree = snapshotTree(path.join(parent, 'shop'));
        expect(Object.keys(tree).sort(), `${step.name}, kill at ${killAt}`).to.deep.equal(
          Object.keys(expected).sort(),
        );
        for (const [file, content] of Object.entries(expected)) {
          expect(tree[file], `${step.name}, kill at ${killAt}: ${file}`).to.equal(content);
        }
        points += 1;
      }
    });
    console.log(`      ${points} kill points across ${STEPS.map((step) => step.name).join(', ')}`);
    expect(points).to.be.at.least(20);
  });

  it('the project a killed and re-run `add auth` leaves passes ruff, mypy --strict and pytest', () => {
    const parent = makeTempDir('txn-verify');
    cpSync(path.join(states[2] ?? '', 'shop'), path.join(parent, 'shop'), { recursive: true });
    expect(runStep(2, parent, { FASTAPI_FORGE_KILL_AT_STEP: '5' }).signal).to.equal('SIGKILL');
    expectSuccess(runStep(2, parent), 'add auth after a kill');
    const project = path.join(parent, 'shop');
    expect(readFileSync(path.join(project, 'src/shop/main.py'), 'utf8')).to.include('# keep: my own note');
    const database = freshDatabase('forge_txn');
    try {
      console.log(`      ${verifyProject(project, { TEST_DATABASE_URL: database.url, REDIS_URL })}`);
    } finally {
      database.drop();
    }
  });

  it('two `add` runs started together: one is refused naming the lock, and nothing is lost', async () => {
    const parent = makeTempDir('txn-concurrent');
    cpSync(path.join(states[1] ?? '', 'shop'), path.join(parent, 'shop'), { recursive: true });
    const project = path.join(parent, 'shop');
    const commands = [
      ['add', 'db', '--db', 'postgres'],
      ['add', 'auth', '--auth', 'jwt'],
    ];
    const runs = await Promise.all(commands.map((args) => forgeAsync(args, project)));
    const refused = runs.filter((run) => run.status !== 0);
    expect(refused, runs.map((run) => run.output).join('\n---\n')).to.have.length(1);
    expect(refused[0]?.status).to.equal(2);
    expect(refused[0]?.output).to.match(LOCKED);
    expect(existsSync(path.join(project, '.forge/lock'))).to.equal(false);
    // The refused run, run again, completes the project exactly as the two runs one after the other do.
    const again = commands[runs.findIndex((run) => run.status !== 0)] ?? [];
    expectSuccess(forge(again, project), again.join(' '));
    const sequential = makeTempDir('txn-sequential');
    cpSync(path.join(states[1] ?? '', 'shop'), path.join(sequential, 'shop'), { recursive: true });
    const order = runs[0]?.status === 0 ? commands : [...commands].reverse();
    for (const args of order) expectSuccess(forge(args, path.join(sequential, 'shop')), args.join(' '));
    expect(snapshotTree(project)).to.deep.equal(snapshotTree(path.join(sequential, 'shop')));
    expect(readFileSync(path.join(project, 'pyproject.toml'), 'utf8')).to.match(/pyjwt/i);
  });
});
