import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Contributions } from '../../lib/contributions.js';
import { validateStoredConfig } from '../../lib/config.js';
import { findPlugin, pluginOfNamespace, requirePlugin } from '../../lib/plugins.js';
import { expectUserError, makeTempDir, runForge, updateConfig } from '../helpers.js';

/** A package folder `<modules>/<name>` with a package.json and, unless told otherwise, `generators/app/index.js`. */
function installPackage(modules: string, name: string, generator = 'generators/app/index.js'): string {
  const dir = path.join(modules, name);
  mkdirSync(path.join(dir, path.dirname(generator)), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, type: 'module' }));
  writeFileSync(path.join(dir, generator), 'export default class {}\n');
  return dir;
}

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
    contributions.add('fastapi-forge-greeting:app', { routers: [{ order: 60, module: 'greeting' }] });
    contributions.add('fastapi-forge:api', { routers: [{ order: 60, module: 'health' }] });
    contributions.add('fastapi-forge:auth', { routers: [{ order: 60, module: 'users' }] });
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
});
