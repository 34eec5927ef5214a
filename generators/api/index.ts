import { ForgeGenerator } from '../../lib/base-generator.js';
import { DEFAULT_IMAGE_PYTHON, indent } from '../../lib/deploy.js';
import { readFamilyManifest } from '../../lib/templates.js';
import type { ResourceView } from '../../lib/resource-views.js';
import { coreContribution, examplesContribution, wiringView } from './wiring.js';
import { DEV_PYTHON, ciServiceList, toolingContext, workspaceMembers } from '../../lib/tooling.js';
import { GATEWAY_PORT, ROOT_SERVICE_PORT, libsPackage, servicePort } from '../../lib/workspace.js';
import { sharedSettings } from '../features.js';
import command from './command.js';
import { files, toolingFiles } from './files.js';

/**
 * The tier-1 core. Owned files (wiring, middleware, errors, health, tests) are re-rendered from the config;
 * the files a user is expected to edit are written once and never touched again.
 */
export default class ApiGenerator extends ForgeGenerator {
  static override readonly command = command;

  initializing(): void {
    this.requireConfiguredProject();
  }

  contributing(): void {
    this.contribute(coreContribution());
    if (this.answers.examples) this.contribute(examplesContribution());
  }

  /**
   * Renders the core; its wiring modules (lifespan, dependencies, settings, routes, middleware, conftest) from
   * what every generator of the run contributed before writing.
   */
  writing(): void {
    const pkg = this.answers.packageName;
    const context = this.templateContext();
    this.writeSections(files, {
      ...context,
      wiring: wiringView(
        this.contributions,
        pkg,
        context.resources as ResourceView[],
        // A workspace's root is a member like the others: its settings extend the shared package's.
        this.answers.services.length > 0 ? sharedSettings(context, libsPackage(pkg)) : undefined,
      ),
      // The README of a workspace says where each member listens when run on its own.
      rootPort: ROOT_SERVICE_PORT,
      gatewayPort: GATEWAY_PORT,
      servicePorts: this.answers.services.map((name, index) => ({ name, port: servicePort(index) })),
      // The README names the service containers CI starts.
      ciServices: ciServiceList(this.contributions.all('ciServices')),
      // The README states which Python runs where.
      devPython: DEV_PYTHON,
      imagePython: this.answers.deployment?.python ?? DEFAULT_IMAGE_PYTHON,
    });
  }

  /**
   * What the core's modules need beyond pyproject.toml's first version, e.g. the docs' own assets
   * (src/<package>/docs.py), so a project generated before gets them too. Then the CI workflow, pre-commit
   * hooks, Makefile, .python-version and .editorconfig: after every generator has written, so they list
   * the workspace members and Dockerfiles this run leaves in the project.
   */
  postWriting(): void {
    // Every generator has written its settings modules by now, a plugin's too.
    this.contributions.checkSettingsFields(this.answers.packageName, (module) => {
      const base = this.destinationPath('src', ...module.split('.'));
      const file = [`${base}.py`, `${base}/__init__.py`].find((candidate) => this.fs.exists(candidate));
      return file === undefined ? undefined : this.fs.read(file);
    });
    const manifest = readFamilyManifest('api');
    this.addPythonDependencies(manifest.dependencies ?? []);
    // The core's variables are in .env.example from the first run; claimed so no plugin reuses one.
    this.claimEnvironment(manifest.env ?? []);
    const members = workspaceMembers(this.fs.read(this.destinationPath('pyproject.toml')));
    const tooling = toolingContext(
      this.answers.projectName,
      members,
      this.contributions.all('ciServices'),
      (file) => this.fs.exists(this.destinationPath(file)),
    );
    this.writeSections(toolingFiles, {
      ...this.templateContext(),
      ...tooling,
      // A flow-style YAML list, e.g. `[".", "libs"]`.
      indent,
      json: (value: string[]) => `[${value.map((item) => JSON.stringify(item)).join(', ')}]`,
    });
  }
}
