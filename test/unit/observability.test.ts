import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  CLI,
  expectUserError,
  makeTempDir,
  readConfig,
  runForge,
  snapshotTree,
  updateConfig,
} from '../helpers.js';
import { declarationTests } from './declaration.js';

const PKG = 'src/demo_svc';

const OBSERVABILITY_FILES = [
  `${PKG}/observability/__init__.py`,
  `${PKG}/observability/metrics.py`,
  `${PKG}/observability/tracing.py`,
  `${PKG}/observability/propagation.py`,
  `${PKG}/middleware/metrics.py`,
  `${PKG}/routes/metrics.py`,
  `${PKG}/settings/observability.py`,
  'docs/observability.md',
  'tests/observability_support.py',
  'tests/test_metrics.py',
  'tests/test_tracing.py',
];

/** Anything of metrics or tracing: imports, dependencies, settings, env vars, docs. */
const TRACES_OF_OBSERVABILITY =
  /opentelemetry|prometheus|observability|OTEL_|METRICS_TOKEN|\/metrics|trace_id/i;

const read = (dir: string, file: string): string => readFileSync(path.join(dir, file), 'utf8');

const project = (options: Record<string, unknown>) =>
  runForge('app', { db: 'none', auth: 'none', agentSdk: 'none', ...options })
    .cd(makeTempDir('observability'))
    .withArguments(['demo-svc']);

/** Every generated file that mentions metrics or tracing (the config's own `observability` key aside). */
function leaks(dir: string): string[] {
  return Object.entries(snapshotTree(dir))
    .filter(([file]) => file !== '.yo-rc.json' && !file.startsWith('.forge/'))
    .filter(([, content]) => TRACES_OF_OBSERVABILITY.test(content))
    .map(([file]) => file);
}

describe('observability generator', () => {
  declarationTests('observability');

  it('is composed by app with --observability and wires metrics and tracing into the core', async () => {
    const result = await project({ observability: true, agentSdk: 'none', db: 'postgres', auth: 'jwt' });
    result.assertFile(OBSERVABILITY_FILES);
    expect(readConfig(result.cwd)).to.include({ observability: true, tier: 1 });
    for (const requirement of [
      'prometheus-client>=',
      'opentelemetry-sdk>=',
      'opentelemetry-exporter-otlp-proto-http>=',
      'opentelemetry-instrumentation-fastapi>=',
      'opentelemetry-instrumentation-httpx>=',
      'opentelemetry-instrumentation-redis>=',
      'opentelemetry-instrumentation-sqlalchemy>=',
    ]) {
      result.assertFileContent('pyproject.toml', `"${requirement}`);
    }
    result.assertFileContent('.env.example', /^OTEL_EXPORTER_OTLP_ENDPOINT=$/m);
    result.assertFileContent('.env.example', /^METRICS_TOKEN=$/m);
    result.assertFileContent('.env.example', /^PROMETHEUS_MULTIPROC_DIR=$/m);
    // The composition modules wire it in.
    result.assertFileContent(`${PKG}/middleware/__init__.py`, 'app.add_middleware(MetricsMiddleware)');
    result.assertFileContent(`${PKG}/middleware/__init__.py`, 'install_tracing(app, settings)');
    result.assertFileContent(`${PKG}/middleware/__init__.py`, 'quiet_paths=PROBE_PATHS | {METRICS_PATH}');
    result.assertFileContent(`${PKG}/lifespan.py`, 'tracing_resource(app, settings)');
    result.assertFileContent(`${PKG}/lifespan.py`, 'traced_engine(tracer_provider, database.engine)');
    result.assertFileContent(`${PKG}/lifespan.py`, 'agents.runner.add_observer(AgentRunMetrics())');
    result.assertFileContent(`${PKG}/lifespan.py`, 'metrics.watch_queue(settings.agent_queue_name');
    result.assertFileContent(`${PKG}/routes/__init__.py`, 'app.include_router(metrics.router)');
    result.assertFileContent(`${PKG}/settings/__init__.py`, /ObservabilitySettings,? *\n?.*CoreSettings/);
    result.assertFileContent(`${PKG}/logging.py`, 'add_trace_context,');
    result.assertFileContent('README.md', '## Metrics and tracing');
  });

  it('is off at tier 1 unless asked for, and leaves no trace in the project', async () => {
    const result = await project({ agentSdk: 'anthropic', db: 'postgres', auth: 'jwt', appType: 'agents' });
    expect(readConfig(result.cwd)).to.include({ observability: false });
    result.assertNoFile(OBSERVABILITY_FILES);
    expect(leaks(result.cwd)).to.deep.equal([]);
  });

  it('is on by default at tier 3, and --no-observability keeps it out', async () => {
    const tier3 = await project({ tier: '3' });
    expect(readConfig(tier3.cwd)).to.include({ observability: true, tier: 3 });
    tier3.assertFile(`${PKG}/observability/metrics.py`);
    // The services and the gateway get them through the shared package's app factory.
    const libs = 'libs/src/demo_svc_libs';
    tier3.assertFile([`${libs}/observability/tracing.py`, `${libs}/routes/metrics.py`]);
    tier3.assertFileContent(`${libs}/app.py`, 'app.include_router(metrics.router)');
    tier3.assertFileContent(`${libs}/outbox.py`, 'inject_context(');
    tier3.assertFileContent(`${libs}/streams.py`, 'with consumer_span(');
    tier3.assertFileContent(`${libs}/resilience.py`, 'record_circuit_state(self.name');

    const without = await project({ tier: '3', observability: false });
    expect(readConfig(without.cwd)).to.include({ observability: false, tier: 3 });
    without.assertNoFile(OBSERVABILITY_FILES);
    expect(leaks(without.cwd)).to.deep.equal([]);
  });

  it('reaches every member of a tier-2 workspace, whether asked for with `new` or added later', async () => {
    const tier2 = await project({ tier: '2', observability: true });
    const libs = 'libs/src/demo_svc_libs';
    tier2.assertFile([`${libs}/observability/tracing.py`, `${libs}/routes/metrics.py`]);
    tier2.assertFileContent(`${libs}/app.py`, 'app.include_router(metrics.router)');
    tier2.assertFileContent(`${libs}/resilience.py`, 'record_circuit_state(self.name');
    // Every service's lifespan, the shared package's, traces its database's statements.
    tier2.assertFileContent(`${libs}/service/lifespan.py`, 'traced_engine(');
    for (const member of ['services/orders', 'services/inventory', 'gateway']) {
      tier2.assertFile([`${member}/tests/test_observability.py`, `${member}/tests/observability_support.py`]);
      tier2.assertFileContent(`${member}/.env.example`, /^OTEL_EXPORTER_OTLP_ENDPOINT=$/m);
      tier2.assertFileContent(`${member}/pyproject.toml`, /"opentelemetry-sdk>=/);
    }

    const grown = await project({ tier: '2' });
    expect(leaks(grown.cwd)).to.deep.equal([]);
    await runForge('observability').cd(grown.cwd);
    const files = (dir: string) =>
      Object.fromEntries(
        Object.entries(snapshotTree(dir)).filter(
          ([file]) => file !== '.yo-rc.json' && !file.startsWith('.forge/'),
        ),
      );
    expect(files(grown.cwd)).to.deep.equal(files(tier2.cwd));
  });

  it('only imports the SQLAlchemy instrumentation with PostgreSQL', async () => {
    const result = await project({ observability: true, db: 'none', appType: 'microservice' });
    result.assertNoFileContent('pyproject.toml', /instrumentation-sqlalchemy/);
    result.assertNoFileContent(`${PKG}/observability/tracing.py`, /sqlalchemy/i);
    result.assertNoFileContent(`${PKG}/lifespan.py`, /traced_engine/);
    // Without agents, nothing of them either.
    result.assertNoFileContent(`${PKG}/lifespan.py`, /AgentRunMetrics|watch_queue/);
    result.assertNoFileContent('tests/test_metrics.py', /agents\/run/);
  });

  it('adds observability to an existing project, keeping main.py, and changes nothing when run again', async () => {
    const first = await project({ agentSdk: 'none', db: 'postgres', auth: 'jwt' });
    const main = path.join(first.cwd, `${PKG}/main.py`);
    const edited = `${readFileSync(main, 'utf8')}\n# my own change\n`;
    writeFileSync(main, edited);

    const added = await runForge('observability').cd(first.cwd);
    expect(added.askedQuestions).to.deep.equal([]);
    added.assertFile(OBSERVABILITY_FILES);
    expect(readFileSync(main, 'utf8')).to.equal(edited);
    expect(readConfig(first.cwd)).to.include({ observability: true });
    // Unedited wiring follows without a question.
    added.assertFileContent(`${PKG}/lifespan.py`, 'agents.runner.add_observer(AgentRunMetrics())');
    added.assertFileContent('pyproject.toml', /"opentelemetry-instrumentation-sqlalchemy>=/);

    const before = snapshotTree(first.cwd);
    const again = await runForge('observability').cd(first.cwd);
    expect(again.askedQuestions).to.deep.equal([]);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
    const app = await runForge('app').cd(first.cwd);
    expect(app.askedQuestions).to.deep.equal([]);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
  });

  it('covers what is added after it: agents and the database', async () => {
    const first = await project({ appType: 'microservice', observability: true });
    first.assertNoFileContent(`${PKG}/lifespan.py`, /AgentRunMetrics/);
    await runForge('agents', { 'agent-sdk': 'none' }).cd(first.cwd);
    await runForge('db', { db: 'postgres' }).cd(first.cwd);
    const lifespan = read(first.cwd, `${PKG}/lifespan.py`);
    expect(lifespan).to.include('agents.runner.add_observer(AgentRunMetrics())');
    expect(lifespan).to.include('traced_engine(tracer_provider, database.engine)');
    expect(read(first.cwd, `${PKG}/observability/tracing.py`)).to.include('SQLAlchemyInstrumentor');
    expect(read(first.cwd, 'tests/test_metrics.py')).to.include('/agents/run');
    expect(read(first.cwd, 'pyproject.toml')).to.match(/"opentelemetry-instrumentation-sqlalchemy>=/);
  });

  it('keeps an observability module the user edited and reports the conflict', async () => {
    const first = await project({ observability: true });
    const metrics = path.join(first.cwd, `${PKG}/observability/metrics.py`);
    const edited = `${readFileSync(metrics, 'utf8')}\n# my own metric\n`;
    writeFileSync(metrics, edited);
    const again = await runForge('observability').cd(first.cwd).withAnswers({ action: 'skip' });
    expect(again.askedQuestions.map((question) => question.name)).to.deep.equal(['action']);
    expect(readFileSync(metrics, 'utf8')).to.equal(edited);
  });

  describe('bad input writes nothing', () => {
    it('refuses --no-observability once it is generated', async () => {
      const first = await project({ observability: true });
      const before = snapshotTree(first.cwd);
      await expectUserError(
        runForge('app', { observability: false }).cd(first.cwd).run(),
        /observability is already generated in this project/,
      );
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });

    it('rejects an observability value in .yo-rc.json that is not a boolean', async () => {
      const first = await project({});
      updateConfig(first.cwd, { observability: 'yes' });
      const before = snapshotTree(first.cwd);
      await expectUserError(
        runForge('observability').cd(first.cwd).run(),
        /observability must be true or false/,
      );
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });

    it('refuses to run outside a forge project', async () => {
      const dir = makeTempDir('observability-outside');
      await expectUserError(runForge('observability').cd(dir).run(), /not a fastapi-forge project/);
      expect(snapshotTree(dir)).to.deep.equal({});
    });
  });

  it('is offered by the CLI: `new --observability`, `new --no-observability` and `add observability`', () => {
    const parent = makeTempDir('observability-cli');
    const cli = (args: string[], cwd = parent) =>
      spawnSync(process.execPath, [CLI, ...args, '--yes', '--skip-install'], { cwd, encoding: 'utf8' });

    const on = cli(['new', 'with-obs', '--observability', '--db', 'none', '--auth', 'none']);
    expect(on.status, on.stderr).to.equal(0);
    expect(readConfig(path.join(parent, 'with-obs'))).to.include({ observability: true });

    const off = cli(['new', 'without-obs', '--tier', '3', '--no-observability', '--db', 'none']);
    expect(off.status, off.stderr).to.equal(0);
    expect(readConfig(path.join(parent, 'without-obs'))).to.include({ observability: false });

    const dir = path.join(parent, 'without-obs');
    const added = cli(['add', 'observability'], dir);
    expect(added.status, added.stderr).to.equal(0);
    expect(readConfig(dir)).to.include({ observability: true });
    expect(read(dir, 'src/without_obs/routes/__init__.py')).to.include('metrics.router');

    const refused = cli(['new', 'without-obs', '--no-observability'], parent);
    expect(refused.status).to.equal(2);
    expect(refused.stderr.trim().split('\n')).to.have.length(1);
  });
});
