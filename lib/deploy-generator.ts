import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ForgeGenerator, type ForgeOptions } from './base-generator.js';
import type { DeployTarget } from './config.js';
import {
  APP_PORT,
  DEFAULT_IMAGE_PYTHON,
  DEPLOY_GENERATORS,
  DEPLOYMENT_FLAGS,
  type DeploymentSettings,
  IMAGE_WORKERS,
  UV_IMAGE_VERSION,
  deploymentNeeds,
  deploymentSettings,
  dnsName,
  generatedTargets,
  indent,
  k8sName,
  kebabCase,
  pascalCase,
} from './deploy.js';
import type { Contributions, DeploymentNeeds } from './contributions.js';
import { findExecutable } from './exec.js';
import { TEMPLATES_ROOT, renderTemplate } from './templates.js';

/** Shared partials of the deployment templates (rendered with `partial(name, data)`). */
const PARTIALS = path.join(TEMPLATES_ROOT, 'deploy-partials');

/**
 * The probe behind the image's HEALTHCHECK and compose's healthcheck: GET /health on the port the server
 * listens on, with the Python of the image (slim images have no curl). A non-2xx answer raises.
 */
export const HEALTH_PROBE =
  "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('UVICORN_PORT', '8000'), timeout=4)";

/** The same kind of probe of another port and path (an event consumer's readiness). */
export const httpProbe = (port: number, path: string): string =>
  `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${port}${path}', timeout=4)`;

/** JSON as YAML flow style writes it (`["a", "b"]`): valid in a Dockerfile's exec form and in YAML alike. */
const flowJson = (value: unknown): string =>
  Array.isArray(value) ? `[${value.map((item) => JSON.stringify(item)).join(', ')}]` : JSON.stringify(value);

/**
 * Gives template values `partial(name, data, spaces)`, which renders a shared partial with these values (so a
 * context rebuilt for another workload renders its partials for that workload too).
 */
export function withPartials(values: Record<string, unknown>): Record<string, unknown> {
  values.partial = (name: string, data: Record<string, unknown> = {}, spaces = 0): string =>
    indent(renderTemplate(path.join(PARTIALS, `${name}.ejs`), { ...values, ...data }), spaces);
  return values;
}

/**
 * Base of the deployment generators (docker, k8s, cloudrun, serverless): their options, the targets they
 * record in the config, the values their templates are rendered with, and locking the dependencies the
 * image build installs with `uv sync --locked`.
 */
export abstract class DeployGenerator extends ForgeGenerator {
  /**
   * A deployment target adds files beside the project's code: run on its own, it renders only them, unless
   * it changes what the project's own files state (the README names the image's Python).
   */
  protected override rendersProject = false;

  /** The deployment target this generator writes. */
  protected abstract readonly target: DeployTarget;

  /**
   * What the features contributed to a deployment (`deployment` in lib/contributions.ts). A target run on
   * its own renders nothing else, so no feature contributes in its run: it then asks
   * {@link featureContributions} what the configured ones would.
   */
  protected deploymentContributions(): DeploymentNeeds[] {
    if (this.contributions.sources.length > 0) return this.contributions.all('deployment');
    return this.featureContributions(super.templateContext()).all('deployment');
  }

  /** What the built-in features contribute for a template context (generators/features.ts). */
  protected abstract featureContributions(context: Record<string, unknown>): Contributions;

  constructor(args: string[], options: ForgeOptions) {
    // The lifecycle methods below are shared by every deployment generator.
    super(args, options, { inheritTasks: true });
  }

  initializing(): void {
    this.requireConfiguredProject();
    this.applyDeploymentOptions();
  }

  async configuring(): Promise<void> {
    this.recordTarget();
    // Every target runs the image that `docker` builds, and develops locally with its compose file.
    if (this.target !== 'compose') await this.composeForge('docker');
  }

  async install(): Promise<void> {
    await this.lockDependencies();
  }

  /** Validates and stores `--<flag>` options; a bad value stops the run before anything is written. */
  private applyDeploymentOptions(): void {
    const settings: DeploymentSettings = { ...this.forge.deployment };
    let changed = false;
    for (const flag of (this.constructor as typeof DeployGenerator).command?.deployment ?? []) {
      const raw = this.options[flag];
      if (raw === undefined || raw === null || raw === '') continue;
      const spec = DEPLOYMENT_FLAGS[flag];
      settings[spec.key] = spec.parse(raw, `--${flag}`) as never;
      changed = true;
    }
    if (!changed) return;
    if (settings.python !== (this.forge.deployment?.python ?? DEFAULT_IMAGE_PYTHON))
      this.rendersProject = true;
    this.config.set('deployment', settings);
  }

  /** Records the target as generated, so `api` and `app` keep its files in step with the config. */
  private recordTarget(): void {
    const deployment = this.forge.deployment ?? {};
    if (deployment.targets?.includes(this.target)) return;
    const targets = generatedTargets({
      deployment: { targets: [...(deployment.targets ?? []), this.target] },
    });
    this.config.set('deployment', { ...deployment, targets });
  }

  protected override templateContext(): Record<string, unknown> {
    const context = super.templateContext();
    const config = this.answers;
    const deployment = config.deployment ?? {};
    const app = dnsName(config.projectName);
    const envExamplePath = this.destinationPath('.env.example');
    const envExample = this.fs.exists(envExamplePath) ? this.fs.read(envExamplePath) : '';
    const needs = deploymentNeeds(this.deploymentContributions(), config.packageName);
    const secrets = needs.secretSettings(envExample);
    const values: Record<string, unknown> = {
      ...context,
      app,
      // The system the workload belongs to (labels' part-of): the project, whichever member it is.
      system: app,
      imagePython: deployment.python ?? DEFAULT_IMAGE_PYTHON,
      uvVersion: UV_IMAGE_VERSION,
      port: APP_PORT,
      workers: IMAGE_WORKERS,
      namespace: deployment.namespace ?? app,
      host: deployment.host ?? `${app}.example.com`,
      targets: generatedTargets(config),
      // Each target's row of deploy/README.md, from its own template folder; the image's first.
      targetRows: [
        'compose' as const,
        ...generatedTargets(config).filter((target) => target !== 'compose'),
      ].map((target) =>
        readFileSync(path.join(TEMPLATES_ROOT, DEPLOY_GENERATORS[target], 'deploy-row.md'), 'utf8').trim(),
      ),
      secrets,
      requiredSecrets: needs.requiredSecrets,
      settings: deploymentSettings(envExample, secrets),
      composeUrls: needs.composeUrls,
      composeServices: needs.composeServices,
      composeVolumes: needs.composeVolumes,
      redisStore: needs.redisStore,
      migrated: needs.migrated,
      secretExample: needs.secretExample,
      k8sName,
      healthProbe: HEALTH_PROBE,
      pascalCase,
      kebabCase,
      indent,
      json: flowJson,
    };
    return withPartials(values);
  }

  /**
   * The image build runs `uv sync --locked`, which needs a uv.lock that matches pyproject.toml. When a
   * deployment generator is run on its own (not composed by `app`, whose install step runs `uv sync`),
   * it locks the project's dependencies.
   */
  private async lockDependencies(): Promise<void> {
    if (this.options.forgeComposed || this.options.skipInstall || this.options.dryRun) return;
    if (!findExecutable('uv')) {
      this.log.info('uv was not found on PATH: run `uv lock` in the project before building the image.');
      return;
    }
    await this.spawnCommand('uv lock', { cwd: this.destinationRoot() });
  }
}
