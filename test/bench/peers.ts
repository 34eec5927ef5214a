/**
 * Peers: FastAPI project generators that can be installed here, each pinned and installed by this run
 * into its own uv tool environment (a temporary UV_TOOL_DIR), then timed generating a project
 * non-interactively, median of 5, next to this package's tier-1 generation.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir } from '../helpers.js';
import { run, UV } from '../e2e/processes.js';
import { aim, alternate, firstLine, median, pairedRatio, type Row, seconds } from './support.js';

interface Peer {
  /** The PyPI requirement of the tool, pinned, and the template engine it drives, pinned too. */
  requirement: string;
  engine: string;
  executable: string;
  args: string[];
  /** What the peer's project holds, to compare like with like. */
  generates: string;
  /** The directory a successful run creates. */
  output: string;
  /** How the run deals with what the peer does besides generating, for the notes. */
  remarks: string;
}

const PEERS: Peer[] = [
  {
    requirement: 'fastapi-template==6.1.2',
    engine: 'cookiecutter==1.7.3',
    executable: 'fastapi_template',
    // Every menu answered on the command line: with any answer missing it opens a terminal menu.
    args: [
      '--name',
      'peer_app',
      '--quiet',
      '--api-type',
      'rest',
      '--db',
      'postgresql',
      '--orm',
      'sqlalchemy',
      '--ci',
      'none',
      '--migrations',
      '--add_users',
      '--jwt-auth',
      '--cookie-auth',
      '--routers',
      '--redis',
    ],
    generates: 'REST API, PostgreSQL with SQLAlchemy and migrations, fastapi-users with JWT, Redis, Docker',
    output: 'peer_app',
    remarks:
      'Its post-generation hook always runs `git init`, `git add`, `uv sync`, pre-commit and a commit, with no flag to skip them: this run puts a `uv` that fails at once first on its PATH, so the hook stops after `git add`, as it does whenever `uv sync` fails. Its time is generation without installation, like ours with `--skip-install` (plus its `git init` and `git add`).',
  },
  {
    requirement: 'fastapi-mvc==0.29.0',
    engine: 'copier==9.19.1',
    executable: 'fastapi-mvc',
    args: ['new', '--no-interaction', '--skip-install', 'mvc_app'],
    generates: 'the default project (Redis, aiohttp, Helm chart, GitHub Actions)',
    output: 'mvc_app',
    remarks:
      'The package holds no template: `new` clones its copier project template from a Git repository at run time, and this machine reaches package registries only.',
  },
];

const nameOf = (requirement: string): string => requirement.split('==')[0] ?? requirement;

/** Runs a peer once in a fresh directory; throws with its own words when it cannot generate. */
function generateOnce(peer: Peer, bin: string, env: NodeJS.ProcessEnv): number {
  const parent = makeTempDir('bench-peer');
  const started = process.hrtime.bigint();
  const result = spawnSync(path.join(bin, peer.executable), peer.args, {
    cwd: parent,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  const generated = existsSync(path.join(parent, peer.output, 'pyproject.toml'));
  rmSync(parent, { recursive: true, force: true });
  if (result.status !== 0 || !generated) {
    // The line that says why, rather than the traceback around it.
    const reason =
      output
        .split('\n')
        .map((line) => line.replace(/^[\s|]+/, '').trim())
        .find((line) => /^(fatal|error|\w+Error):/i.test(line)) ??
      output.trim().split('\n').pop() ??
      `exit ${result.status}`;
    throw new Error(reason);
  }
  return elapsed;
}

/**
 * Rows comparing the peers' generation time with ours, and notes. `ours` generates a tier-1 project once and
 * returns its wall time; it runs alternately with the peer, so both see the same load.
 */
export async function measurePeers(
  ours: (() => number) | undefined,
): Promise<{ rows: Row[]; notes: string[] }> {
  const root = makeTempDir('bench-peers');
  const toolEnv = {
    UV_TOOL_DIR: path.join(root, 'tools'),
    UV_TOOL_BIN_DIR: path.join(root, 'bin'),
  };
  // fastapi-template's post-generation hook always runs `uv sync`, pre-commit and a git commit, and has no
  // flag to skip them. A `uv` that fails at once stands in for the real one, so the hook stops after
  // `git init` and `git add`, as it does when `uv sync` fails: the time is generation, not installation.
  const stub = path.join(root, 'stub');
  mkdirSync(stub);
  writeFileSync(path.join(stub, 'uv'), '#!/bin/sh\nexit 1\n');
  chmodSync(path.join(stub, 'uv'), 0o755);
  const home = path.join(root, 'home');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The peers' caches and replay files stay in this run's directory.
    HOME: home,
    XDG_CACHE_HOME: path.join(home, '.cache'),
    PATH: `${stub}:${process.env.PATH ?? ''}`,
  };
  delete env.VIRTUAL_ENV;

  const rows: Row[] = [];
  const notes: string[] = [];
  for (const peer of PEERS) {
    const name = nameOf(peer.requirement);
    const label = `${peer.requirement.replace('==', ' ')} (${peer.engine.replace('==', ' ')})`;
    const measure = `generation: ours (tier 1) vs ${label}, median of 5, run alternately`;
    try {
      run(
        UV,
        ['tool', 'install', '--quiet', '--python', '3.11', peer.requirement, '--with', peer.engine],
        root,
        toolEnv,
      );
      const peerOnce = () => generateOnce(peer, toolEnv.UV_TOOL_BIN_DIR, env);
      const timed = ours
        ? await alternate(ours, peerOnce)
        : { forged: [], bare: [0, 1, 2, 3, 4].map(peerOnce) };
      const paired = ours ? pairedRatio(timed.forged, timed.bare) : undefined;
      rows.push({
        measure,
        generated: ours ? seconds(median(timed.forged)) : 'n/a',
        baseline: seconds(median(timed.bare)),
        ratio: paired?.toFixed(2) ?? '',
        // Ours stays the fastest: below 1 against every peer.
        aim: paired === undefined ? '' : aim('< 1 (faster)', paired < 1),
      });
      notes.push(
        `${name}: \`${peer.executable} ${peer.args.join(' ')}\`, which generates ${peer.generates}. ${peer.remarks}`,
      );
    } catch (error) {
      rows.push({
        measure,
        generated: '',
        baseline: 'not measured (see notes)',
        ratio: '',
        aim: '',
      });
      notes.push(
        `${name}: \`${peer.executable} ${peer.args.join(' ')}\` could not generate a project here (${firstLine(error)}). ${peer.remarks}`,
      );
    }
  }
  rmSync(root, { recursive: true, force: true });
  return { rows, notes };
}
