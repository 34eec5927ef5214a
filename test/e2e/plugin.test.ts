import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, realpathSync, renameSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { digestTree, makeTempDir, readConfig } from '../helpers.js';
import { UV, requestJson, run, startServer, yoCommand } from './processes.js';
import { installProject, verifyProject } from './projects.js';

/**
 * A plugin package from outside this one (test/fixtures/generator-fastapi-forge-greeting) adds GET /greeting
 * through the public contribution API: a settings class, a dependency and a protected router, its own
 * templates and test. It is installed next to fastapi-forge, as `npm install -g` or `npx -p` would place it,
 * added with `fastapi-forge add greeting` and with `yo fastapi-forge-greeting`, and composed again by every
 * later run.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const FIXTURE = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'generator-fastapi-forge-greeting');

/**
 * `<root>/node_modules` holding this package as npm installs it (its published files, its dependencies
 * beside them) and the plugin next to it. Node resolves a module's imports from its real path, so both are
 * copies: the plugin's `import 'generator-fastapi-forge'` then finds the package in the node_modules above it.
 */
function installNextToForge(root: string): string {
  const modules = path.join(root, 'node_modules');
  const forge = path.join(modules, 'generator-fastapi-forge');
  mkdirSync(path.join(forge, 'dist'), { recursive: true });
  for (const file of ['package.json', 'bin'])
    cpSync(path.join(PACKAGE_ROOT, file), path.join(forge, file), { recursive: true });
  for (const built of ['cli.cjs', 'generators', 'lib']) {
    cpSync(path.join(PACKAGE_ROOT, 'dist', built), path.join(forge, 'dist', built), { recursive: true });
  }
  // Read, never imported: links do.
  for (const data of ['templates', 'references'])
    symlinkSync(path.join(PACKAGE_ROOT, data), path.join(forge, data));
  symlinkSync(realpathSync(path.join(PACKAGE_ROOT, 'node_modules')), path.join(forge, 'node_modules'));
  cpSync(FIXTURE, path.join(modules, 'generator-fastapi-forge-greeting'), { recursive: true });
  return path.join(forge, 'bin', 'fastapi-forge.js');
}

/** A project's files, byte for byte, without what installing and running it leaves. */
function projectFiles(dir: string): Record<string, string> {
  const digests = digestTree(dir);
  return Object.fromEntries(
    Object.entries(digests).filter(
      ([file]) => !/(^|\/)(\.venv|__pycache__|\.mypy_cache|\.ruff_cache|\.pytest_cache)\//.test(file),
    ),
  );
}

describe('a plugin package, installed next to fastapi-forge', function () {
  this.timeout(15 * 60_000);

  let root: string;
  let cli: string;
  const forge = (args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env } });
  const forgeOk = (args: string[]): string => run(process.execPath, [cli, ...args], root).output;

  // A tier-1 project without a database, whose own tests run in seconds.
  const newLeanProject = (name: string, auth: string): string =>
    forgeOk([
      'new',
      name,
      '--yes',
      '--skip-install',
      '--app-type',
      'microservice',
      '--db',
      'none',
      '--auth',
      auth,
    ]);

  before(() => {
    root = makeTempDir('plugin');
    cli = installNextToForge(root);
  });

  it('is added with `fastapi-forge add` and `yo`, composed by every later run, and its route is served', async () => {
    newLeanProject('greeter', 'apikey');
    const project = path.join(root, 'greeter');
    // The same project, grown with yo instead.
    const byYo = path.join(root, 'by-yo', 'greeter');
    cpSync(project, byYo, { recursive: true });

    forgeOk(['add', 'greeting', '--path', project, '--yes']);
    expect(readConfig(project).plugins).to.deep.equal(['greeting']);
    const added = projectFiles(project);
    for (const file of [
      'src/greeter/greeting.py',
      'src/greeter/routes/greeting.py',
      'src/greeter/settings/greeting.py',
      'tests/test_greeting.py',
    ]) {
      expect(added, file).to.have.property(file);
    }

    // Running it again, or rendering the project again, changes nothing.
    forgeOk(['add', 'greeting', '--path', project, '--yes']);
    expect(projectFiles(project)).to.deep.equal(added);
    forgeOk(['upgrade', '--path', project, '--yes']);
    expect(projectFiles(project)).to.deep.equal(added);

    // yo finds both packages in the node_modules above the project, and writes what the CLI wrote.
    chmodSync(root, 0o777);
    for (const dir of [path.dirname(byYo), byYo]) chmodSync(dir, 0o777);
    run('chmod', ['-R', 'a+rwX', byYo], root);
    const [command, argv] = yoCommand(['fastapi-forge-greeting', '--yes', '--skip-install', '--no-insight']);
    const yo = spawnSync(command, argv, {
      cwd: byYo,
      encoding: 'utf8',
      env: { ...process.env, NO_UPDATE_NOTIFIER: '1' },
    });
    expect(yo.status, `${yo.stdout}${yo.stderr}`).to.equal(0);
    expect(projectFiles(byYo)).to.deep.equal(added);

    // A later run of another generator composes the plugin again, after the features.
    forgeOk(['add', 'observability', '--path', project, '--yes']);
    const routes = projectFiles(project)['src/greeter/routes/__init__.py'];
    expect(routes).to.not.equal(added['src/greeter/routes/__init__.py']);
    expect(readFileSync(path.join(project, 'src/greeter/routes/__init__.py'), 'utf8'))
      .to.include('metrics.router')
      .and.to.include('greeting.router');
    const summary = verifyProject(project, { REDIS_URL });
    console.log(`      plugin: ${summary}`);
    const greetingTests = run(
      UV,
      ['run', '--no-sync', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests/test_greeting.py'],
      project,
    );
    expect(greetingTests.output).to.match(/\b2 passed\b/);

    // Served: the salutation comes from the plugin's settings, the key from the core's authentication.
    installProject(project);
    const key = 'plugin-e2e-key-0123456789abcdef';
    const server = await startServer(project, 'greeter', {
      API_KEYS: JSON.stringify({ e2e: key }),
      GREETING_SALUTATION: 'Howdy',
    });
    try {
      const greeted = await requestJson(server, 'GET', '/greeting?name=Ada', { 'x-api-key': key });
      expect(greeted.status, JSON.stringify(greeted.body)).to.equal(200);
      expect(greeted.body).to.deep.equal({ message: 'Howdy, Ada!' });
      const anonymous = await requestJson(server, 'GET', '/greeting?name=Ada', {});
      expect(anonymous.status).to.equal(401);
    } finally {
      await server.stop();
    }
  });

  it('refuses an unknown plugin, and a run of a project whose plugin is gone, in one line', () => {
    newLeanProject('plain', 'none');
    const project = path.join(root, 'plain');
    const before = projectFiles(project);
    const unknown = forge(['add', 'nosuch', '--path', project, '--yes']);
    expect(unknown.status).to.equal(2);
    expect(unknown.stderr.trim().split('\n'), unknown.stderr).to.have.length(1);
    expect(unknown.stderr).to.match(
      /add nosuch: fastapi-forge has no generator nosuch .*and no plugin package generator-fastapi-forge-nosuch is installed in \S+ or above it, nor next to fastapi-forge in \S+node_modules/,
    );
    expect(projectFiles(project)).to.deep.equal(before);

    forgeOk(['add', 'greeting', '--path', project, '--yes']);
    // Listed with its description after the generators; its spec keeps it.
    expect(forgeOk(['list', '--path', project])).to.match(
      /\ngreeting {6}GET \/greeting: greets a caller by name, with the salutation of the settings \(plugin: generator-fastapi-forge-greeting\)\n$/,
    );
    forgeOk(['export', '--path', project]);
    expect(readFileSync(path.join(project, 'forge.yaml'), 'utf8')).to.match(/\nplugins:\n {2}- greeting\n$/);
    const withPlugin = projectFiles(project);
    const plugin = path.join(root, 'node_modules', 'generator-fastapi-forge-greeting');
    renameSync(plugin, `${plugin}.away`);
    try {
      const unlisted = forge(['apply', '--path', project, '--yes']);
      expect(unlisted.status).to.equal(2);
      expect(unlisted.stderr.trim().split('\n'), unlisted.stderr).to.have.length(1);
      expect(unlisted.stderr).to.match(
        /forge\.yaml:\d+: plugins\.0: no plugin package generator-fastapi-forge-greeting is installed in/,
      );
      const gone = forge(['add', 'observability', '--path', project, '--yes']);
      expect(gone.status).to.equal(2);
      expect(gone.stderr.trim().split('\n'), gone.stderr).to.have.length(1);
      expect(gone.stderr).to.match(
        /this project uses the plugin greeting \(plugins in \.yo-rc\.json\), but no plugin package generator-fastapi-forge-greeting is installed in/,
      );
      expect(projectFiles(project)).to.deep.equal(withPlugin);
    } finally {
      renameSync(`${plugin}.away`, plugin);
    }
  });
});
