import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { findGeneratedSection, replaceGeneratedSection } from '../../lib/generated-section.js';
import { CLI, makeTempDir, readConfig, snapshotTree } from '../helpers.js';
import { run, UV } from './processes.js';
import { freshDatabase, sharedToolEnv, verifyMember, workspaceMembers } from './projects.js';

/**
 * The growth path of the README ("From tier 1 to tier 3"), run step by step through the CLI on one project
 * that its user edits along the way: a router of their own (registered in main.py) with its tests, a setting
 * of their own in config.py and .env.example, a compose service of their own, and README text of their own
 * around its generated section. After every step each edit is still exactly what the user wrote (or, in merged
 * files, still there), the README's generated section describes the project as it now is, running the
 * step again leaves every file byte-identical, and the tests of every workspace member pass on the real
 * PostgreSQL and Redis. ruff and mypy --strict run once, at the end, over every member.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';

function forge(args: string[], cwd: string): string {
  return run(process.execPath, [CLI, ...args, '--yes', '--skip-install'], cwd).output;
}

// --- what the user writes ---------------------------------------------------------------------------

const GREETINGS_ROUTE = `"""Greetings: a route of our own, next to the generated ones."""

from fastapi import APIRouter

from shop.dependencies import CurrentPrincipal

router = APIRouter(tags=["greetings"])


@router.get("/greetings/{name}", summary="Greet someone by name")
async def greet(name: str, principal: CurrentPrincipal) -> dict[str, str]:
    return {"greeting": f"Hello, {name}!", "by": principal.subject}
`;

/** The route once the greeting is a setting. */
const GREETINGS_ROUTE_WITH_SETTING = `"""Greetings: a route of our own, next to the generated ones."""

from fastapi import APIRouter

from shop.dependencies import CurrentPrincipal, SettingsDep

router = APIRouter(tags=["greetings"])


@router.get("/greetings/{name}", summary="Greet someone by name")
async def greet(name: str, settings: SettingsDep, principal: CurrentPrincipal) -> dict[str, str]:
    return {"greeting": f"{settings.greeting}, {name}!", "by": principal.subject}
`;

const GREETINGS_TESTS = `import httpx


async def test_greets_by_name(
    client: httpx.AsyncClient, auth_headers: dict[str, str], auth_subject: str
) -> None:
    response = await client.get("/greetings/Ada", headers=auth_headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"greeting": "Hello, Ada!", "by": auth_subject}


async def test_greetings_need_credentials(client: httpx.AsyncClient) -> None:
    response = await client.get("/greetings/Ada")

    assert response.status_code == 401, response.text
`;

const GREETINGS_SETTING_TEST = `

async def test_greets_with_the_configured_greeting(
    client_factory: ClientFactory, auth_headers: dict[str, str]
) -> None:
    async with client_factory(greeting="Howdy") as client:
        response = await client.get("/greetings/Grace", headers=auth_headers)

    assert response.status_code == 200, response.text
    assert response.json()["greeting"] == "Howdy, Grace!"
`;

const GREETINGS_TESTS_WITH_SETTING =
  GREETINGS_TESTS.replace('import httpx\n', 'import httpx\n\nfrom tests.helpers import ClientFactory\n') +
  GREETINGS_SETTING_TEST;

const GREETINGS_TEST_NAMES = [
  'test_greets_by_name',
  'test_greetings_need_credentials',
  'test_greets_with_the_configured_greeting',
];

const COMPOSE_SERVICE = `
  # Catches the mail the app sends; read it at http://localhost:8025.
  mailhog:
    image: mailhog/mailhog:v1.0.1
    ports:
      - "8025:8025"
`;

const ENV_SETTING = `
# --- our own settings ---
# How the greetings route says hello
GREETING=Howdy
`;

const README_SECTION = `
## Greetings

\`GET /greetings/{name}\` answers with the greeting of the \`GREETING\` setting.
`;

/** Replaces `from` by `to` exactly once in a file; the test fails when the file no longer reads as expected. */
function editFile(file: string, from: string, to: string): string {
  const text = readFileSync(file, 'utf8');
  expect(text.split(from).length - 1, `${from} in ${file}`).to.equal(1);
  const edited = text.replace(from, () => to);
  writeFileSync(file, edited);
  return edited;
}

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

/** A README's own text: everything but its generated section, which the test requires to be there. */
function userTextOf(readme: string): string {
  const section = findGeneratedSection(readme);
  expect(section, 'the generated section of README.md').not.to.equal(undefined);
  return section ? replaceGeneratedSection(readme, section, '') : readme;
}

describe('growth from tier 1 to tier 3 through the CLI, with user edits that survive every step', function () {
  this.timeout(20 * 60_000);

  let parent = '';
  let dir = '';
  let toolEnv: Record<string, string> = {};
  let database: ReturnType<typeof freshDatabase> | undefined;
  const testEnv = (): Record<string, string> => ({ REDIS_URL, TEST_DATABASE_URL: database?.url ?? '' });

  /** Files the user owns outright, with the exact content they wrote. */
  const userFiles = new Map<string, string>();
  let envExampleEdited = false;
  let composeEdited = false;
  /** README.md without its generated section, once the user has written in it. */
  let readmeUserText: string | undefined;

  before(() => {
    parent = makeTempDir('growth');
    dir = path.join(parent, 'shop');
    toolEnv = sharedToolEnv();
    database = freshDatabase('forge_growth');
  });

  after(() => database?.drop());

  // Each step grows the project the previous one left: after a failure the rest cannot mean anything.
  let failedStep: string | undefined;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failedStep ??= this.currentTest.title;
  });
  beforeEach(() => {
    if (failedStep) throw new Error(`an earlier step failed: ${failedStep}`);
  });

  const at = (file: string): string => path.join(dir, file);

  const writeUserFile = (file: string, content: string): void => {
    writeFileSync(at(file), content);
    userFiles.set(file, content);
  };

  const editUserFile = (file: string, from: string, to: string): void => {
    userFiles.set(file, editFile(at(file), from, to));
  };

  /** Every edit so far is still what the user wrote. */
  function checkEdits(step: string): void {
    for (const [file, content] of userFiles) {
      expect(readText(at(file)), `${file} after ${step}`).to.equal(content);
    }
    if (envExampleEdited) {
      const env = readText(at('.env.example'));
      expect(env, `.env.example after ${step}`).to.include(ENV_SETTING);
      expect(env.match(/^RATE_LIMIT=.*$/gm), `RATE_LIMIT after ${step}`).to.deep.equal([
        'RATE_LIMIT=250/minute',
      ]);
      expect(env.match(/^GREETING=.*$/gm), `GREETING after ${step}`).to.deep.equal(['GREETING=Howdy']);
    }
    if (readmeUserText !== undefined) {
      expect(userTextOf(readText(at('README.md'))), `README.md after ${step}`).to.equal(readmeUserText);
    }
    if (composeEdited) {
      const text = readText(at('docker-compose.yml'));
      expect(text, `docker-compose.yml after ${step}`).to.include(
        '  # Catches the mail the app sends; read it at http://localhost:8025.\n  mailhog:\n',
      );
      const compose = parseYaml(text) as {
        services: Record<string, { environment?: Record<string, string> } & Record<string, unknown>>;
      };
      expect(compose.services.mailhog, `the mailhog service after ${step}`).to.deep.equal({
        image: 'mailhog/mailhog:v1.0.1',
        ports: ['8025:8025'],
      });
      expect(compose.services.app?.environment?.SMTP_HOST, `the app's SMTP_HOST after ${step}`).to.equal(
        'mailhog',
      );
    }
  }

  /** The files the last step changed, created or removed. */
  let changedByLastStep: string[] = [];

  /**
   * Runs one step of the path, checks the user's edits, runs it again and expects not one byte to change.
   * The step must not report a file of the user's as a conflict: none of the edits is in a generated file.
   */
  function grow(args: string[], cwd = dir): string {
    const step = args.join(' ');
    const start = existsSync(dir) ? snapshotTree(dir) : {};
    const output = forge(args, cwd);
    expect(output, step).not.to.match(/kept your/i);
    expect(output, step).not.to.match(/not generated by this version/);
    checkEdits(step);
    const before = snapshotTree(dir);
    // `new` refuses an existing project: its second run is `upgrade`, which renders it again from its answers.
    const again = args[0] === 'new' ? forge(['upgrade'], dir) : forge(args, cwd);
    expect(again, `${step}, again`).not.to.match(/kept your/i);
    expect(snapshotTree(dir), `re-running ${step}`).to.deep.equal(before);
    changedByLastStep = Object.keys({ ...start, ...before }).filter((file) => start[file] !== before[file]);
    return output;
  }

  /** The project's packages: the root, then each workspace member. */
  const members = (): string[] => ['.', ...workspaceMembers(dir)];

  function install(): void {
    const all = workspaceMembers(dir).length > 0 ? ['--all-packages'] : [];
    run(UV, ['sync', ...all, '--quiet'], dir, toolEnv);
  }

  /** pytest of one member; its summary line. `-rp` lists the tests that passed. */
  function pytest(member: string): { summary: string; output: string } {
    const { output } = run(
      UV,
      ['run', '--no-sync', 'pytest', '-q', '-rp', '-p', 'no:cacheprovider'],
      at(member),
      {
        ...toolEnv,
        ...testEnv(),
      },
    );
    const summary = output.trim().split('\n').pop() ?? '';
    if (!/\d+ passed/.test(summary) || /failed|error|skipped/.test(summary)) {
      throw new Error(`unexpected pytest summary in ${member}: ${summary}\n${output}`);
    }
    return { summary, output };
  }

  /**
   * Whether the last step changed a member's files, or those of the shared libs every member imports.
   * The root always counts: the user's tests live there.
   */
  const touched = (member: string): boolean =>
    member === '.' ||
    [member, 'libs'].some((folder) => changedByLastStep.some((file) => file.startsWith(`${folder}/`)));

  /**
   * Installs the project and runs the tests of every member the last step touched; the user's tests must be
   * among those that passed. A member the step left alone passed the same tests after an earlier step, and
   * every member's checks run again after the last step.
   */
  function testEveryMember(expectedUserTests: string[]): void {
    install();
    for (const member of members()) {
      if (!touched(member)) {
        console.log(`      ${member}: unchanged by this step`);
        continue;
      }
      const { summary, output } = pytest(member);
      console.log(`      ${member}: ${summary}`);
      if (member === '.') {
        for (const name of expectedUserTests) {
          expect(output, name).to.include(`PASSED tests/test_greetings.py::${name}`);
        }
      }
    }
  }

  it('tier 1: `new shop --app-type microservice --db none`, then the user adds a route, its tests and a compose service (pytest)', () => {
    grow(['new', 'shop', '--app-type', 'microservice', '--db', 'none'], parent);
    expect(readConfig(dir)).to.include({ tier: 1, db: 'none', appType: 'microservice' });

    writeUserFile('src/shop/routes/greetings.py', GREETINGS_ROUTE);
    writeUserFile('tests/test_greetings.py', GREETINGS_TESTS);
    editUserFile(
      'src/shop/main.py',
      'from shop.routes import include_routers\n',
      'from shop.routes import greetings, include_routers\n',
    );
    editUserFile(
      'src/shop/main.py',
      'from shop.config import Settings\n',
      'from shop.config import Settings\nfrom shop.dependencies import protected\n',
    );
    editUserFile(
      'src/shop/main.py',
      '    include_routers(app, settings)\n',
      '    include_routers(app, settings)\n    # Our own routes, after the generated ones.\n' +
        '    app.include_router(greetings.router, dependencies=protected(settings))\n',
    );
    editFile(
      at('docker-compose.yml'),
      '      REDIS_URL: redis://redis:6379/0\n',
      '      REDIS_URL: redis://redis:6379/0\n      SMTP_HOST: mailhog\n',
    );
    writeFileSync(
      at('docker-compose.yml'),
      `${readText(at('docker-compose.yml')).trimEnd()}\n${COMPOSE_SERVICE}`,
    );
    composeEdited = true;
    checkEdits('the edits');
    testEveryMember(GREETINGS_TEST_NAMES.slice(0, 2));
  });

  it('`add agents --agent-sdk none`; then the user adds a setting in config.py and .env.example (pytest)', () => {
    grow(['add', 'agents', '--agent-sdk', 'none']);
    expect(readConfig(dir)).to.include({ agents: true, agentSdk: 'none' });
    expect(existsSync(at('src/shop/worker.py')), 'the worker').to.equal(true);

    editUserFile(
      'src/shop/config.py',
      '    """Settings of Shop."""\n',
      '    """Settings of Shop."""\n\n    # How the greetings route says hello (GREETING).\n    greeting: str = "Hello"\n',
    );
    editFile(at('.env.example'), 'RATE_LIMIT=100/minute\n', 'RATE_LIMIT=250/minute\n');
    writeFileSync(at('.env.example'), `${readText(at('.env.example')).trimEnd()}\n${ENV_SETTING}`);
    envExampleEdited = true;
    writeUserFile('src/shop/routes/greetings.py', GREETINGS_ROUTE_WITH_SETTING);
    writeUserFile('tests/test_greetings.py', GREETINGS_TESTS_WITH_SETTING);
    checkEdits('the edits');
    testEveryMember(GREETINGS_TEST_NAMES);
  });

  it('`add db --db postgres`; then the user adds a README section (pytest on a fresh PostgreSQL database)', () => {
    grow(['add', 'db', '--db', 'postgres']);
    expect(readConfig(dir)).to.include({ db: 'postgres', dbGenerated: true });
    const compose = parseYaml(readText(at('docker-compose.yml'))) as { services: Record<string, unknown> };
    expect(Object.keys(compose.services)).to.include.members(['app', 'redis', 'mailhog', 'postgres']);

    // Above the generated section the user changes the title; below it they add a section.
    const readme = readText(at('README.md')).replace(/^# Shop$/m, '# Shop: greetings and more');
    writeFileSync(at('README.md'), `${readme.trimEnd()}\n${README_SECTION}`);
    readmeUserText = userTextOf(readText(at('README.md')));
    expect(readmeUserText).to.include('# Shop: greetings and more').and.include(README_SECTION);
    testEveryMember(GREETINGS_TEST_NAMES);
  });

  for (const service of ['orders', 'inventory']) {
    it(`\`add microservice ${service}\`: the project becomes a workspace (pytest of every member)`, () => {
      grow(['add', 'microservice', service]);
      expect(workspaceMembers(dir)).to.include.members(['libs', `services/${service}`]);
      expect(readText(at('README.md')), 'the README of a workspace').to.include(`\nservices/${service}/ `);
      const compose = parseYaml(readText(at('docker-compose.yml'))) as { services: Record<string, unknown> };
      expect(Object.keys(compose.services)).to.include.members([service, `${service}-postgres`, 'mailhog']);
      testEveryMember(GREETINGS_TEST_NAMES);
    });
  }

  it('`add gateway` (pytest of every member)', () => {
    grow(['add', 'gateway']);
    expect(workspaceMembers(dir)).to.deep.equal(['libs', 'services/orders', 'services/inventory', 'gateway']);
    const compose = parseYaml(readText(at('docker-compose.yml'))) as { services: Record<string, unknown> };
    expect(Object.keys(compose.services)).to.include.members(['gateway', 'mailhog']);
    testEveryMember(GREETINGS_TEST_NAMES);
  });

  it('`add events`: tier 3 with metrics and tracing (pytest of every member)', () => {
    grow(['add', 'events']);
    expect(readConfig(dir)).to.include({ tier: 3, observability: true });
    const readme = readText(at('README.md'));
    expect(readme, 'the README at tier 3').to.include('uv run python -m orders.consumer');
    expect(readme, 'the README with metrics').to.include('## Metrics and tracing');
    for (const module of [
      'src/shop/routes/metrics.py',
      'src/shop/middleware/metrics.py',
      'libs/src/shop_libs/routes/metrics.py',
      'libs/src/shop_libs/middleware/metrics.py',
    ]) {
      expect(existsSync(at(module)), module).to.equal(true);
    }
    testEveryMember(GREETINGS_TEST_NAMES);
  });

  it('`add k8s`: manifests for every service; then ruff, mypy --strict and pytest of every member', () => {
    grow(['add', 'k8s']);
    expect((readConfig(dir).deployment as { targets: string[] }).targets).to.include('k8s');
    for (const name of ['orders', 'inventory', 'gateway']) {
      expect(existsSync(at(`deploy/k8s/base/${name}/deployment.yaml`)), name).to.equal(true);
    }
    expect(existsSync(at('deploy/k8s/base/worker-deployment.yaml')), 'the worker').to.equal(true);
    install();
    for (const member of members()) {
      console.log(`      ${member}: ${verifyMember(at(member), testEnv(), toolEnv)}`);
    }
    checkEdits('the checks');
  });
});
