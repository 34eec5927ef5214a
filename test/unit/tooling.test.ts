import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { lockIsMissing } from '../../lib/progress.js';
import { toolingContext, workspaceMembers } from '../../lib/tooling.js';
import { CI_SERVICES } from '../../generators/db/wiring.js';
import { DEFAULT_MAKE_TARGETS, makeTempDir, runForge, snapshotTree } from '../helpers.js';

interface Step {
  uses?: string;
  run?: string;
}
interface Job {
  strategy?: { matrix: { member?: string[]; include?: { image: string; dockerfile: string }[] } };
  services?: Record<string, unknown>;
  env?: Record<string, string>;
  steps: Step[];
}
interface PreCommit {
  repos: { repo: string; hooks: { id: string; entry: string; files?: string; pass_filenames?: boolean }[] }[];
}

const read = (dir: string, file: string): string => readFileSync(path.join(dir, file), 'utf8');
const workflow = (dir: string): Record<string, Job> =>
  (parseYaml(read(dir, '.github/workflows/ci.yml')) as { jobs: Record<string, Job> }).jobs;
const runs = (job: Job): string[] => job.steps.flatMap((step) => (step.run ? [step.run] : []));

describe('project tooling: CI workflow, pre-commit, Makefile, .python-version, .editorconfig', () => {
  it('a tier-1 project checks itself in CI with PostgreSQL and Redis and builds its image', async () => {
    const result = await runForge('app', { agentSdk: 'none' })
      .cd(makeTempDir('tooling-1'))
      .withArguments(['shop']);
    const dir = result.cwd;
    const jobs = workflow(dir);
    expect(jobs.checks?.strategy).to.equal(undefined);
    expect(Object.keys(jobs.checks?.services ?? {})).to.deep.equal(['postgres', 'redis']);
    expect(jobs.checks?.env).to.include.keys('TEST_DATABASE_URL', 'REDIS_URL');
    expect(runs(jobs.checks as Job)).to.deep.equal([
      'uv sync --locked',
      'uv run --no-sync ruff check .',
      'uv run --no-sync ruff format --check .',
      'uv run --no-sync mypy',
      'uv run --no-sync pytest',
    ]);
    expect(jobs.image?.strategy?.matrix.include).to.deep.equal([{ image: 'shop', dockerfile: 'Dockerfile' }]);

    const hooks = (parseYaml(read(dir, '.pre-commit-config.yaml')) as PreCommit).repos;
    expect(hooks.map((repo) => repo.repo)).to.deep.equal(['local']);
    expect(hooks[0]?.hooks.map((hook) => hook.id)).to.deep.equal(['ruff-check', 'ruff-format', 'mypy']);
    for (const hook of hooks[0]?.hooks ?? []) expect(hook.entry).to.match(/^uv run --no-sync /);

    const makefile = read(dir, 'Makefile');
    for (const target of DEFAULT_MAKE_TARGETS)
      expect(makefile, target).to.match(new RegExp(`^${target}:.*## `, 'm'));
    // Recipes are indented with tabs, as make requires.
    expect(makefile).to.include(
      '\n\tuv run uvicorn shop.main:create_app --factory --reload --port $(PORT)\n',
    );

    // .python-version is the Python mypy and ruff target, the lowest the project supports.
    const python = read(dir, '.python-version').trim();
    const pyproject = parseToml(read(dir, 'pyproject.toml')) as {
      project: { 'requires-python': string };
      tool: { mypy: { python_version: string } };
    };
    expect(pyproject.tool.mypy.python_version).to.equal(python);
    expect(pyproject.project['requires-python']).to.equal(`>=${python}`);
    expect(read(dir, '.editorconfig')).to.include('max_line_length = 100');

    const before = snapshotTree(dir);
    await runForge('app').cd(dir).withArguments(['shop']);
    expect(snapshotTree(dir)).to.deep.equal(before);
  });

  it('without a database: no PostgreSQL service, no migration commands', async () => {
    const result = await runForge('app', { appType: 'microservice', db: 'none' })
      .cd(makeTempDir('tooling-nodb'))
      .withArguments(['plain']);
    const jobs = workflow(result.cwd);
    expect(Object.keys(jobs.checks?.services ?? {})).to.deep.equal(['redis']);
    expect(jobs.checks?.env).to.not.have.key('TEST_DATABASE_URL');
    const makefile = read(result.cwd, 'Makefile');
    expect(makefile).to.not.match(/^(migrate|migration|worker):/m);
  });

  it('a workspace checks every member and builds every image; the files follow members added later', async () => {
    const first = await runForge('app', { appType: 'microservice', tier: 2, services: 'orders' })
      .cd(makeTempDir('tooling-2'))
      .withArguments(['shop']);
    const dir = first.cwd;
    const members = workspaceMembers(read(dir, 'pyproject.toml'));
    const expectMembers = (): void => {
      const jobs = workflow(dir);
      const all = ['.', ...members];
      expect(jobs.checks?.strategy?.matrix.member).to.deep.equal(all);
      expect(runs(jobs.checks as Job)[0]).to.equal('uv sync --locked --all-packages');
      const dockerfiles = all.map((m) => (m === '.' ? 'Dockerfile' : `${m}/Dockerfile`));
      expect(jobs.image?.strategy?.matrix.include?.map((image) => image.dockerfile)).to.deep.equal(
        dockerfiles.filter((file) => existsSync(path.join(dir, file))),
      );
      const hooks = (parseYaml(read(dir, '.pre-commit-config.yaml')) as PreCommit).repos[0]?.hooks ?? [];
      const mypy = hooks.filter((hook) => hook.id.startsWith('mypy'));
      expect(mypy.map((hook) => hook.entry)).to.deep.equal(
        all.map((member) => `uv run --no-sync --directory ${member} mypy`),
      );
      expect(read(dir, 'Makefile')).to.include(`MEMBERS := ${all.join(' ')}\n`);
      // `make migrate` applies the migrations of every member that has its own, each service's among them.
      const migrated = all.filter((member) => existsSync(path.join(dir, member, 'alembic.ini')));
      expect(migrated).to.include(members.filter((member) => member.startsWith('services/')).at(-1));
      expect(read(dir, 'Makefile')).to.include(`MIGRATED := ${migrated.join(' ')}\n`);
    };
    expect(members).to.deep.equal(['libs', 'services/orders', 'gateway']);
    expectMembers();

    await runForge('microservice').cd(dir).withArguments(['inventory']);
    members.push('services/inventory');
    expectMembers();
  });

  it('lists a member image only when its Dockerfile exists, and each service container once', () => {
    const context = toolingContext(
      'My_Shop',
      ['libs', 'services/orders'],
      // The database's and the services' (both PostgreSQL): each container once, in their order.
      [CI_SERVICES.mongo, CI_SERVICES.postgres, CI_SERVICES.postgres].filter(
        (service) => service !== undefined,
      ),
      (file) => file === 'Dockerfile',
    );
    expect(context.members).to.deep.equal(['.', 'libs', 'services/orders']);
    expect(context.images).to.deep.equal([{ name: 'my-shop', dockerfile: 'Dockerfile' }]);
    expect(context.ciServices.map((service) => service.name)).to.deep.equal(['postgres', 'mongo']);
    expect(context.migrations).to.equal(false);
  });
});

describe('a lock cut off by a killed run', () => {
  it('is missing when uv.lock is absent, empty or cut short; a complete lock and no pyproject are fine', () => {
    const dir = makeTempDir('lock-state');
    expect(lockIsMissing(dir), 'no pyproject.toml: nothing to lock').to.equal(false);
    writeFileSync(path.join(dir, 'pyproject.toml'), '[project]\nname = "shop"\n');
    expect(lockIsMissing(dir), 'no uv.lock').to.equal(true);
    const complete = 'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n[[package]]\nname = "shop"\n';
    for (const partial of ['', complete.slice(0, 12), 'version = 1\nrevision = 3\n']) {
      writeFileSync(path.join(dir, 'uv.lock'), partial);
      expect(lockIsMissing(dir), JSON.stringify(partial)).to.equal(true);
    }
    writeFileSync(path.join(dir, 'uv.lock'), complete);
    expect(lockIsMissing(dir)).to.equal(false);
    rmSync(path.join(dir, 'uv.lock'));
    expect(lockIsMissing(dir)).to.equal(true);
  });
});
