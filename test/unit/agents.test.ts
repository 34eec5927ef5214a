import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { AGENT_SDKS } from '../../lib/config.js';
import { CLI, expectUserError, makeTempDir, readConfig, runForge, snapshotTree } from '../helpers.js';
import { declarationTests } from './declaration.js';

const PKG = 'src/demo_svc';

const AGENT_FILES = [
  `${PKG}/agents/__init__.py`,
  `${PKG}/agents/catalog.py`,
  `${PKG}/agents/runner.py`,
  `${PKG}/agents/provider.py`,
  `${PKG}/agents/jobs/queue.py`,
  `${PKG}/agents/jobs/store.py`,
  `${PKG}/routes/agents.py`,
  `${PKG}/settings/agents.py`,
  `${PKG}/settings/agent_provider.py`,
  `${PKG}/worker.py`,
  'docs/agents.md',
  'tests/agents_support.py',
  'tests/agent_provider_support.py',
  'tests/test_agent_jobs.py',
  'tests/test_agent_websocket.py',
];

/** Files each SDK adds on top of the common ones, and the fake provider API its tests run against. */
const SDK_FILES: Record<(typeof AGENT_SDKS)[number], string[]> = {
  anthropic: [
    `${PKG}/agents/anthropic_api.py`,
    'tests/fake_anthropic.py',
    'tests/test_agent_provider.py',
    'tests/test_agent_provider_keys.py',
  ],
  openai: [
    `${PKG}/agents/openai_api.py`,
    'tests/fake_openai.py',
    'tests/test_agent_provider.py',
    'tests/test_agent_provider_keys.py',
  ],
  langgraph: [
    `${PKG}/agents/anthropic_api.py`,
    'tests/fake_anthropic.py',
    'tests/test_agent_provider.py',
    'tests/test_agent_provider_keys.py',
  ],
  crewai: [
    `${PKG}/agents/openai_api.py`,
    'tests/fake_openai.py',
    'tests/test_agent_provider.py',
    'tests/test_agent_provider_keys.py',
  ],
  'claude-agent-sdk': [
    `${PKG}/agents/anthropic_api.py`,
    'tests/fake_anthropic.py',
    'tests/test_agent_provider.py',
  ],
  none: [],
};

const read = (dir: string, file: string): string => readFileSync(path.join(dir, file), 'utf8');

/** A project of the microservice type: generated without agents. */
const microservice = () =>
  runForge('app', { appType: 'microservice', db: 'none', auth: 'none' })
    .cd(makeTempDir('agents'))
    .withArguments(['demo-svc']);

describe('agents generator', () => {
  declarationTests('agents');

  it('is composed by app for the default application type, with the anthropic SDK', async () => {
    const result = await runForge('app', { db: 'none' })
      .cd(makeTempDir('agents'))
      .withArguments(['demo-svc']);
    result.assertFile([...AGENT_FILES, ...SDK_FILES.anthropic]);
    expect(readConfig(result.cwd)).to.include({ agents: true, agentSdk: 'anthropic', appType: 'agents' });
    result.assertFileContent('pyproject.toml', /"anthropic>=/);
    result.assertFileContent('pyproject.toml', /"streaq>=/);
    result.assertFileContent('pyproject.toml', /"httpx-ws>=/);
    result.assertFileContent('.env.example', /^ANTHROPIC_API_KEY=/m);
    result.assertFileContent('.env.example', /^AGENT_PROVIDER=anthropic$/m);
    result.assertFileContent('.env.example', /^AGENT_QUEUE_NAME=/m);
    // The core's composition modules wire the feature in.
    result.assertFileContent(`${PKG}/routes/__init__.py`, /app\.include_router\(agents\.router/);
    result.assertFileContent(`${PKG}/lifespan.py`, /agent_service_resource\(settings, readiness\)/);
    result.assertFileContent(
      `${PKG}/settings/__init__.py`,
      /class ForgeSettings\(AgentSettings, JwtSettings, CoreSettings\)/,
    );
    result.assertFileContent(`${PKG}/dependencies.py`, /AgentServiceDep = /);
    result.assertFileContent('tests/conftest.py', /"tests\.agents_support"/);
    result.assertFileContent('README.md', /python -m demo_svc\.worker/);
  });

  it('is composed for the streaming application type, and not for a microservice', async () => {
    const streaming = await runForge('app', { appType: 'streaming', db: 'none' })
      .cd(makeTempDir('agents'))
      .withArguments(['demo-svc']);
    streaming.assertFile(`${PKG}/routes/agents.py`);

    const plain = await microservice();
    plain.assertNoFile([`${PKG}/routes/agents.py`, `${PKG}/worker.py`, 'docs/agents.md']);
    plain.assertNoFileContent(`${PKG}/routes/__init__.py`, /agents/);
    plain.assertNoFileContent('pyproject.toml', /streaq/);
    expect(readConfig(plain.cwd).agents).to.not.equal(true);
  });

  for (const sdk of AGENT_SDKS) {
    it(`writes the ${sdk} provider`, async () => {
      const result = await runForge('app', { db: 'none', auth: 'none', agentSdk: sdk })
        .cd(makeTempDir('agents'))
        .withArguments(['demo-svc']);
      result.assertFile([...AGENT_FILES, ...SDK_FILES[sdk]]);
      const provider = sdk === 'none' ? 'local' : sdk;
      result.assertFileContent(`${PKG}/settings/agent_provider.py`, `agent_provider: Literal["${provider}"`);
      result.assertFileContent('.env.example', new RegExp(`^AGENT_PROVIDER=${provider}$`, 'm'));
      expect(readConfig(result.cwd)).to.include({ agents: true, agentSdk: sdk });
      // CrewAI declares an older pydantic than the project's: uv is told to keep the project's.
      if (sdk === 'crewai')
        result.assertFileContent('pyproject.toml', /override-dependencies = \[\n {4}"pydantic>=2\.14",/);
      else result.assertNoFileContent('pyproject.toml', /override-dependencies/);
    });
  }

  it('adds agents to an existing project, keeping the edits of main.py, and changes nothing when run again', async () => {
    const first = await microservice();
    const main = path.join(first.cwd, `${PKG}/main.py`);
    const edited = `${readFileSync(main, 'utf8')}\n# my own change\n`;
    writeFileSync(main, edited);

    const added = await runForge('agents', { 'agent-sdk': 'openai' }).cd(first.cwd);
    expect(added.askedQuestions).to.deep.equal([]);
    added.assertFile([...AGENT_FILES, ...SDK_FILES.openai]);
    expect(readFileSync(main, 'utf8')).to.equal(edited);
    // Unedited wiring is upgraded without a question.
    added.assertFileContent(`${PKG}/routes/__init__.py`, /agents\.router/);
    added.assertFileContent('pyproject.toml', /"openai>=/);
    expect(readConfig(first.cwd)).to.include({ agents: true, agentSdk: 'openai' });

    const before = snapshotTree(first.cwd);
    const again = await runForge('agents').cd(first.cwd);
    expect(again.askedQuestions).to.deep.equal([]);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
  });

  it('keeps an agent module the user edited and reports the conflict', async () => {
    const first = await runForge('app', { db: 'none' }).cd(makeTempDir('agents')).withArguments(['demo-svc']);
    const routes = path.join(first.cwd, `${PKG}/routes/agents.py`);
    const edited = `${readFileSync(routes, 'utf8')}\n# my own route\n`;
    writeFileSync(routes, edited);
    const again = await runForge('agents').cd(first.cwd).withAnswers({ action: 'skip' });
    expect(again.askedQuestions.map((question) => question.name)).to.deep.equal(['action']);
    expect(readFileSync(routes, 'utf8')).to.equal(edited);
  });

  it('never rewrites the agent catalog, which belongs to the user', async () => {
    const first = await runForge('app', { db: 'none' }).cd(makeTempDir('agents')).withArguments(['demo-svc']);
    const catalog = path.join(first.cwd, `${PKG}/agents/catalog.py`);
    writeFileSync(catalog, `${read(first.cwd, `${PKG}/agents/catalog.py`)}\n# my agents\n`);
    const edited = readFileSync(catalog, 'utf8');
    const again = await runForge('agents').cd(first.cwd);
    expect(again.askedQuestions).to.deep.equal([]);
    expect(readFileSync(catalog, 'utf8')).to.equal(edited);
  });

  describe('bad input writes nothing', () => {
    it('rejects an unknown --agent-sdk', async () => {
      const first = await microservice();
      const before = snapshotTree(first.cwd);
      await expectUserError(
        runForge('agents', { 'agent-sdk': 'autogen' }).cd(first.cwd).run(),
        /^invalid --agent-sdk "autogen" for agent SDK: expected one of anthropic, openai, langgraph, crewai, claude-agent-sdk, none$/,
      );
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });

    it('refuses to switch the SDK of agents already generated', async () => {
      const first = await runForge('app', { db: 'none' })
        .cd(makeTempDir('agents'))
        .withArguments(['demo-svc']);
      const before = snapshotTree(first.cwd);
      await expectUserError(
        runForge('agents', { 'agent-sdk': 'openai' }).cd(first.cwd).run(),
        /agent SDK is already "anthropic"/,
      );
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });

    it('refuses to run outside a forge project', async () => {
      const dir = makeTempDir('agents-outside');
      await expectUserError(runForge('agents').cd(dir).run(), /not a fastapi-forge project/);
      expect(snapshotTree(dir)).to.deep.equal({});
    });

    it('prints one line for a bad value given to `fastapi-forge add agents`, and writes nothing', async () => {
      const first = await microservice();
      const before = snapshotTree(first.cwd);
      const cli = spawnSync(process.execPath, [CLI, 'add', 'agents', '--agent-sdk', 'autogen', '--yes'], {
        cwd: first.cwd,
        encoding: 'utf8',
        input: '',
      });
      expect(cli.status).to.equal(2);
      expect(cli.stderr.trim().split('\n')).to.deep.equal([
        'fastapi-forge: invalid --agent-sdk "autogen" for agent SDK: expected one of anthropic, openai, langgraph, crewai, claude-agent-sdk, none',
      ]);
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });
  });
});
