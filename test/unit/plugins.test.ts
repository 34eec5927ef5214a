import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Contributions } from '../../lib/contributions.js';
import { validateStoredConfig } from '../../lib/config.js';
import { findPlugin, installedPlugins, pluginOfNamespace, requirePlugin } from '../../lib/plugins.js';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { CLI, digestTree, expectUserError, makeTempDir, runForge, updateConfig } from '../helpers.js';

/** A package folder `<modules>/<name>` with a package.json and, unless told otherwise, `generators/app/index.js`. */
function installPackage(
  modules: string,
  name: string,
  generator = 'generators/app/index.js',
  source = 'export default class {}\n',
): string {
  const dir = path.join(modules, name);
  mkdirSync(path.join(dir, path.dirname(generator)), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, type: 'module' }));
  writeFileSync(path.join(dir, generator), source);
  return dir;
}

/** A plugin's generator that declares its command, as the CLI reads it (never run here). */
const declaring = (name: string, description: string): string =>
  `export default class {\n  static command = ${JSON.stringify({ name, description })};\n}\n`;

describe('plugins', () => {
  it('are found in the project’s node_modules or above it, then next to this package, then in its own', () => {
    const root = makeTempDir('plugins');
    const project = path.join(root, 'repo', 'service');
    mkdirSync(project, { recursive: true });
    const forge = path.join(root, 'global', 'node_modules', 'generator-fastapi-forge');
    mkdirSync(forge, { recursive: true });

    expect(findPlugin('billing', project, forge)).to.equal(undefined);
    const beside = installPackage(
      path.join(root, 'global', 'node_modules'),
      'generator-fastapi-forge-billing',
    );
    expect(findPlugin('billing', project, forge)?.packagePath).to.equal(beside);
    const own = installPackage(path.join(forge, 'node_modules'), 'generator-fastapi-forge-tax');
    expect(findPlugin('tax', project, forge)?.packagePath).to.equal(own);
    // A dev dependency of the repository the project is in comes first.
    const above = installPackage(path.join(root, 'repo', 'node_modules'), 'generator-fastapi-forge-billing');
    expect(findPlugin('billing', project, forge)?.packagePath).to.equal(above);
    // A plugin compiled from TypeScript keeps its generator in dist/generators.
    const compiled = installPackage(
      path.join(project, 'node_modules'),
      'generator-fastapi-forge-audit',
      'dist/generators/app/index.js',
    );
    expect(findPlugin('audit', project, forge)?.generatorPath).to.equal(
      path.join(compiled, 'dist/generators/app/index.js'),
    );
  });

  it('refuse a name found nowhere, a package without a generator and a name that is no plugin’s, in one line', () => {
    const root = makeTempDir('plugins-missing');
    const forge = path.join(root, 'node_modules', 'generator-fastapi-forge');
    mkdirSync(forge, { recursive: true });
    expect(() => requirePlugin('nosuch', root, forge, 'add nosuch:')).to.throw(
      `add nosuch: no plugin package generator-fastapi-forge-nosuch is installed in ${path.join(root, 'node_modules')} or above it, nor next to fastapi-forge in ${path.join(root, 'node_modules')}`,
    );
    mkdirSync(path.join(root, 'node_modules', 'generator-fastapi-forge-empty'));
    writeFileSync(path.join(root, 'node_modules', 'generator-fastapi-forge-empty', 'package.json'), '{}');
    expect(() => findPlugin('empty', root, forge)).to.throw(/generator-fastapi-forge-empty has no generator/);
    expect(findPlugin('../etc', root, forge)).to.equal(undefined);
  });

  it('are listed from every folder they are looked for in, each by name where it is found first', () => {
    const root = makeTempDir('plugins-installed');
    const project = path.join(root, 'repo', 'service');
    mkdirSync(project, { recursive: true });
    const forge = path.join(root, 'global', 'node_modules', 'generator-fastapi-forge');
    mkdirSync(forge, { recursive: true });
    expect(installedPlugins(project, forge)).to.deep.equal([]);
    installPackage(path.join(root, 'global', 'node_modules'), 'generator-fastapi-forge-tax');
    const above = installPackage(path.join(root, 'repo', 'node_modules'), 'generator-fastapi-forge-tax');
    const audit = installPackage(path.join(project, 'node_modules'), 'generator-fastapi-forge-audit-log');
    // Neither this package itself nor another generator package is a plugin.
    installPackage(path.join(project, 'node_modules'), 'generator-other');
    expect(installedPlugins(project, forge).map((plugin) => [plugin.name, plugin.packagePath])).to.deep.equal(
      [
        ['audit-log', audit],
        ['tax', above],
      ],
    );
  });

  it('are listed by `list` with their descriptions after the generators, and `add <plugin> --help` shows theirs', () => {
    const root = makeTempDir('plugins-list');
    const modules = path.join(root, 'node_modules');
    installPackage(
      modules,
      'generator-fastapi-forge-billing',
      undefined,
      declaring('billing', 'invoices and payments'),
    );
    installPackage(modules, 'generator-fastapi-forge-audit', undefined, 'export default class {}\n');
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [CLI, ...args], { cwd: root, encoding: 'utf8' });
    const listed = cli(['list']);
    expect(listed.status, listed.stderr).to.equal(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^new {11}\S/);
    expect(lines.slice(-2)).to.deep.equal([
      'audit         a plugin that declares no description (plugin: generator-fastapi-forge-audit)',
      'billing       invoices and payments (plugin: generator-fastapi-forge-billing)',
    ]);
    // From elsewhere, with --path naming where to look from.
    const elsewhere = spawnSync(process.execPath, [CLI, 'list', '--path', root], {
      cwd: makeTempDir('plugins-list-elsewhere'),
      encoding: 'utf8',
    });
    expect(elsewhere.stdout).to.equal(listed.stdout);

    const help = cli(['add', 'billing', '--help']);
    expect(help.status, help.stderr).to.equal(0);
    expect(help.stdout)
      .to.include('add billing')
      .and.to.include('invoices and payments')
      .and.to.include('--path');
  });

  it('are told from this package’s generators by their Yeoman namespace', () => {
    expect(pluginOfNamespace('fastapi-forge-greeting:app')).to.equal('greeting');
    expect(pluginOfNamespace('fastapi-forge:auth')).to.equal(undefined);
    expect(pluginOfNamespace('fastapi-forge-greeting:other')).to.equal(undefined);
  });

  it('are recorded in .yo-rc.json as a list of distinct names', () => {
    expect(validateStoredConfig({ plugins: ['greeting', 'audit-log'] }, '.yo-rc.json').plugins).to.deep.equal(
      ['greeting', 'audit-log'],
    );
    expect(() => validateStoredConfig({ plugins: 'greeting' }, '.yo-rc.json')).to.throw(
      /plugins must be a list of plugin names/,
    );
    expect(() => validateStoredConfig({ plugins: ['Greeting'] }, '.yo-rc.json')).to.throw(
      /plugins must be a list of plugin names/,
    );
    expect(() => validateStoredConfig({ plugins: ['a', 'a'] }, '.yo-rc.json')).to.throw(
      /plugins lists a twice/,
    );
  });

  it('contribute in the composition order, whichever generator contributed first', () => {
    const contributions = new Contributions();
    const router = (module: string) => ({ order: 60, module, protectedRouter: `${module}.router` });
    contributions.add('fastapi-forge-greeting:app', { routers: [router('greeting')] });
    contributions.add('fastapi-forge:api', { routers: [router('health')] });
    contributions.add('fastapi-forge:auth', { routers: [router('users')] });
    contributions.composeInOrder(['fastapi-forge:api', 'fastapi-forge:auth', 'fastapi-forge-greeting:app']);
    expect(contributions.ordered('routers').map((router) => router.module)).to.deep.equal([
      'health',
      'users',
      'greeting',
    ]);
    expect(contributions.sources).to.deep.equal([
      'fastapi-forge:api',
      'fastapi-forge:auth',
      'fastapi-forge-greeting:app',
    ]);
  });

  it('stop a run of a project whose recorded plugin Yeoman cannot find, before anything is written', async () => {
    const first = await runForge('app', { db: 'none', auth: 'none', appType: 'microservice' })
      .cd(makeTempDir('plugins-recorded'))
      .withArguments(['demo-svc']);
    updateConfig(first.cwd, { plugins: ['greeting'] });
    await expectUserError(
      runForge('observability').cd(first.cwd).run(),
      /this project uses the plugin greeting \(plugins in \.yo-rc\.json\), but no generator-fastapi-forge-greeting is installed where Yeoman looks/,
    );
    first.assertNoFile('src/demo_svc/routes/metrics.py');
  });

  describe('that would clash with the project or with this package', function () {
    this.timeout(120_000);
    const root = makeTempDir('plugins-clash');
    const modules = path.join(root, 'node_modules');
    const project = path.join(root, 'demo');
    const forge = (args: string[], cwd = project) =>
      spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', input: '' });

    /** A plugin built on the public API: its contribution, its templates (path to text) and its forge.json. */
    function plugin(
      name: string,
      contribution: object,
      templates: Record<string, string>,
      manifest?: unknown,
    ) {
      const dir = installPackage(
        modules,
        `generator-fastapi-forge-${name}`,
        undefined,
        [
          "import { ForgeGenerator } from 'generator-fastapi-forge';",
          'export default class extends ForgeGenerator {',
          `  static command = ${JSON.stringify({ name, description: `the ${name} plugin` })};`,
          '  initializing() { this.requireConfiguredProject(); }',
          `  contributing() { this.contribute(${JSON.stringify(contribution)}); }`,
          '  writing() { this.renderFamily(this.templatePath()); }',
          `  postWriting() { this.mergeFamilyManifest(this.templatePath(), '${name}'); }`,
          '}',
        ].join('\n'),
      );
      const family = path.join(dir, 'generators', 'app', 'templates');
      mkdirSync(family, { recursive: true });
      for (const [file, text] of Object.entries(templates)) {
        mkdirSync(path.dirname(path.join(family, file)), { recursive: true });
        writeFileSync(path.join(family, file), text);
      }
      if (manifest !== undefined) writeFileSync(path.join(family, 'forge.json'), JSON.stringify(manifest));
    }

    /** `add <name>` refused in one line, exit 2, the project as it was. */
    function refused(name: string, message: RegExp): void {
      const before = digestTree(project);
      const result = forge(['add', name, '--yes', '--skip-install']);
      expect(result.status, result.stdout + result.stderr).to.equal(2);
      expect(result.stderr.trim().split('\n')).to.have.length(1);
      expect(result.stderr).to.match(message);
      expect(digestTree(project)).to.deep.equal(before);
    }

    before(() => {
      mkdirSync(modules, { recursive: true });
      // The plugins import this package as a plugin package does: by its name, from node_modules.
      symlinkSync(PACKAGE_ROOT, path.join(modules, 'generator-fastapi-forge'));
      const made = forge(
        [
          'new',
          'demo',
          '--app-type',
          'microservice',
          '--db',
          'none',
          '--auth',
          'none',
          '--yes',
          '--skip-install',
        ],
        root,
      );
      expect(made.status, made.stderr).to.equal(0);
    });

    it('refuses a plugin that writes a file of the project’s core', () => {
      plugin('clash', {}, { 'src/_package_/routes/health.py.ejs': '"""Not the health route."""\n' });
      refused(
        'clash',
        /fastapi-forge-clash:app writes src\/demo\/routes\/health\.py, which fastapi-forge:\w+ writes too/,
      );
    });

    it('refuses a plugin whose settings class has the name of another', () => {
      plugin(
        'settle',
        { settings: [{ className: 'CoreSettings', module: '<package>.settings.settle', order: 60 }] },
        { 'src/_package_/settings/settle.py.ejs': 'class CoreSettings:\n    pass\n' },
      );
      refused(
        'settle',
        /the plugin generator-fastapi-forge-settle contributes the settings class CoreSettings, but the generator fastapi-forge:api defines it too/,
      );
    });

    it('refuses a plugin that declares an environment variable of the core', () => {
      plugin('envy', {}, {}, { env: [{ name: 'ENVIRONMENT', value: '5' }] });
      refused(
        'envy',
        /fastapi-forge-envy:app declares the environment variable ENVIRONMENT, which fastapi-forge:api declares too/,
      );
    });

    it('refuses a plugin forge.json of the wrong shape or not JSON, naming its file', () => {
      plugin('shape', {}, {}, { env: { PING_WORD: 'hello' } });
      refused('shape', /forge\.json: "env" is not valid; the shape is \{"dependencies"/);
      plugin('unparsed', {}, {});
      const manifest = path.join(
        modules,
        'generator-fastapi-forge-unparsed',
        'generators',
        'app',
        'templates',
        'forge.json',
      );
      writeFileSync(manifest, '{');
      refused('unparsed', /forge\.json is not JSON/);
    });

    it('refuses a plugin whose contribution is of another shape, in one line naming it and the part', () => {
      plugin('malformed', { routers: [{ module: 'malformed' }] }, {});
      refused(
        'malformed',
        /^fastapi-forge: the plugin generator-fastapi-forge-malformed contributes routers\[0\] without order \(a number\)/,
      );
      plugin(
        'misspelled',
        { routes: [{ order: 60, module: 'misspelled', protectedRouter: 'x.router' }] },
        {},
      );
      refused(
        'misspelled',
        /contributes routes, which is no part of a contribution \(did you mean routers\?\)/,
      );
    });

    it('refuses a plugin whose dependency or router module has the name of a built-in one', () => {
      plugin(
        'depname',
        {
          dependencies: [
            {
              order: 60,
              provider: 'async def get_request_id() -> str:\n    return "mine"',
              alias: 'MineDep = Annotated[str, Depends(get_request_id)]',
            },
          ],
        },
        {},
      );
      refused(
        'depname',
        /the plugin generator-fastapi-forge-depname contributes the dependency get_request_id, but the generator fastapi-forge:api imports it into the dependencies module/,
      );
      plugin(
        'depname',
        {
          dependencies: [
            {
              order: 60,
              provider: 'async def get_settings_from_state() -> str:\n    return "mine"',
              alias: 'MineDep = Annotated[str, Depends(get_settings_from_state)]',
            },
          ],
        },
        {},
      );
      refused(
        'depname',
        /the plugin generator-fastapi-forge-depname contributes the dependency get_settings_from_state, but the generator fastapi-forge:api defines it too/,
      );
      plugin(
        'routemod',
        { routers: [{ order: 60, module: 'health', protectedRouter: 'health.router' }] },
        {},
      );
      refused(
        'routemod',
        /contributes the router module <package>\.routes\.health, but the generator fastapi-forge:api defines it too/,
      );
    });

    it('refuses a second plugin whose dependency has the name of the first one’s', () => {
      const billing = {
        dependencies: [
          {
            order: 60,
            provider: 'async def get_billing() -> str:\n    return "billing"',
            alias: 'BillingDep = Annotated[str, Depends(get_billing)]',
          },
        ],
      };
      plugin('one', billing, {});
      plugin('two', billing, {});
      try {
        const added = forge(['add', 'one', '--yes', '--skip-install']);
        expect(added.status, added.stderr).to.equal(0);
        refused(
          'two',
          /the plugin generator-fastapi-forge-two contributes the dependency get_billing, but the plugin generator-fastapi-forge-one defines it too/,
        );
      } finally {
        updateConfig(project, { plugins: undefined });
      }
    });

    it('refuses a plugin that writes a file of the core written once, a structured file or a record of the project', () => {
      for (const [name, template, written] of [
        ['usermain', 'src/_package_/main.py.ejs', 'src/demo/main.py, which fastapi-forge:api writes too'],
        ['pyproj', 'pyproject.toml.ejs', 'pyproject.toml, which fastapi-forge:api writes too'],
        ['yorc', 'dot-yo-rc.json.ejs', '.yo-rc.json, a record fastapi-forge keeps of the project'],
        [
          'checksums',
          'dot-forge/checksums.json.ejs',
          '.forge/checksums.json, a record fastapi-forge keeps of the project',
        ],
      ] as const) {
        plugin(name, {}, { [template]: '{}\n' });
        refused(name, new RegExp(`fastapi-forge-${name}:app writes ${written.replace(/[.*]/g, '\\$&')}`));
      }
    });

    it('refuses a plugin whose templates folder holds a file that is no template', () => {
      plugin('untemplated', {}, { 'dot-yo-rc.json': '{}\n' });
      refused(
        'untemplated',
        /fastapi-forge-untemplated:app: .*dot-yo-rc\.json is no template, so it would not be written/,
      );
    });

    it('refuses a plugin forge.json requirement that is not of PEP 508’s shape', () => {
      plugin('unpinned', {}, {}, { dependencies: ['httpx>=0.28', 'not a requirement !!'] });
      refused(
        'unpinned',
        /forge\.json: "not a requirement !!" in "dependencies" is not a requirement of PEP 508's shape/,
      );
    });

    it('refuses a plugin that contributes after the contributing priority, naming where it belongs', () => {
      plugin('late', { routers: [{ order: 60, module: 'late', protectedRouter: 'late.router' }] }, {});
      const generator = path.join(modules, 'generator-fastapi-forge-late', 'generators', 'app', 'index.js');
      writeFileSync(
        generator,
        readFileSync(generator, 'utf8')
          .replace('  contributing() {', '  late() {')
          .replace('  writing() {', '  writing() { this.late();'),
      );
      refused(
        'late',
        /^fastapi-forge: the plugin generator-fastapi-forge-late contributes in writing\(\), of the writing priority, when the wiring is already rendered: contributions belong in contributing\(\)/,
      );
    });

    it('refuses a recorded plugin that has the name of a built-in generator', () => {
      plugin('db', {}, {});
      updateConfig(project, { plugins: ['db'] });
      try {
        refused(
          'observability',
          /the plugin generator-fastapi-forge-db has the name of the built-in generator db/,
        );
      } finally {
        updateConfig(project, { plugins: undefined });
      }
    });

    it('lists every plugin that works, and names each one that does not on stderr, exit 2', () => {
      installPackage(
        modules,
        'generator-fastapi-forge-zzbroken',
        undefined,
        'export default class { oops(\n',
      );
      const listed = forge(['list']);
      expect(listed.status).to.equal(2);
      expect(listed.stdout.split('\n')[0]).to.match(/^new {11}\S/);
      expect(listed.stdout).to.match(
        /^settle {8}the settle plugin \(plugin: generator-fastapi-forge-settle\)$/m,
      );
      expect(listed.stdout).to.not.match(/^db .*plugin/m);
      const problems = listed.stderr.trim().split('\n');
      expect(problems).to.have.length(2);
      expect(problems[0]).to.equal(
        'fastapi-forge: the plugin generator-fastapi-forge-db has the name of the built-in generator db; a plugin needs a name of its own',
      );
      expect(problems[1]).to.match(/^fastapi-forge: the plugin zzbroken \(.+\) does not load: /);
    });
  });
});
