import path from 'node:path';
import { ForgeGenerator } from '../../lib/base-generator.js';
import {
  CHOICES,
  type ChoiceKey,
  observabilityDefault,
  parseChoice,
  servesAgents,
} from '../../lib/config.js';
import { ForgeUserError } from '../../lib/errors.js';
import { validateProjectName } from '../../lib/naming.js';
import { DEFAULT_TIER2_SERVICES, parseServicesFlag } from '../../lib/workspace.js';
import { PACKAGE_VERSION } from '../../lib/version.js';
import { findExecutable } from '../../lib/exec.js';
import { lockDependencies, timedStep } from '../../lib/progress.js';
import { type FinalMessageContext, finalSteps } from '../features.js';
import command from './command.js';

const ALL_CHOICES: ChoiceKey[] = CHOICES.map((spec) => spec.key);

/** `yo fastapi-forge`: asks the spec's clarifications, stores them, and composes the sub-generators. */
export default class AppGenerator extends ForgeGenerator {
  static override readonly command = command;

  initializing(): void {
    this.checkProject({ mustExist: false });
    if (this.options.upgrade) this.applyMigrations();
    const stored = this.forge.projectName;
    const requested = this.options.name as string | undefined;
    if (stored && requested && stored !== requested) {
      throw new ForgeUserError(`this project is "${stored}"; it cannot be renamed to "${requested}"`);
    }
    const projectName = stored ?? requested ?? path.basename(this.destinationRoot());
    const packageName = this.forge.packageName ?? validateProjectName(projectName);
    if (!stored) {
      validateProjectName(projectName);
      this.config.set('projectName', projectName);
      this.config.set('packageName', packageName);
    }
    const description = this.options.description;
    if (typeof description === 'string' && description.trim())
      this.config.set('description', description.trim());
    else if (this.forge.description === undefined) {
      this.config.set('description', `${projectName}: a FastAPI service`);
    }
    // The deployment target may change: the targets generated before keep their files up to date.
    const deploy = this.options.deploy;
    if (deploy !== undefined && deploy !== null && deploy !== '')
      this.config.set('deploy', parseChoice('deploy', deploy, '--deploy') as never);
    this.applyChoiceOptions(ALL_CHOICES);
    this.applyObservabilityOption();
    if (this.options.examples === true) this.config.set('examples', true);
    this.applyServicesOption(packageName);
  }

  /** `--services a,b`: services to add to a tier-2 project (the ones it has are kept). */
  private applyServicesOption(packageName: string): void {
    const raw = this.options.services;
    if (raw === undefined || raw === null || raw === '') return;
    const requested = parseServicesFlag(raw, packageName);
    if (this.answers.tier < 2 && this.forge.tier !== undefined) {
      throw new ForgeUserError('--services is for tier 2 and 3 projects: add --tier 2');
    }
    const services = this.forge.services ?? [];
    this.config.set('services', [...services, ...requested.filter((name) => !services.includes(name))]);
  }

  /** `--observability` adds metrics and tracing; `--no-observability` keeps them out, unless already generated. */
  private applyObservabilityOption(): void {
    const requested = this.options.observability;
    if (typeof requested !== 'boolean') return;
    if (!requested && this.forge.observability === true) {
      throw new ForgeUserError(
        'observability is already generated in this project; removing it with --no-observability is not supported',
      );
    }
    this.config.set('observability', requested);
  }

  async prompting(): Promise<void> {
    // The application type first: the other questions depend on it.
    await this.askMissing(['appType']);
    // A multi-service system is services behind a gateway: tier 2, unless a tier was chosen.
    if (this.forge.appType === 'multi-service' && this.forge.tier === undefined) this.config.set('tier', 2);
    // The Agent SDK is asked only where agents are generated (--yes still stores every default).
    const { agents, appType } = this.answers;
    const asked = ALL_CHOICES.filter(
      (key) => this.options.yes || key !== 'agentSdk' || agents || servesAgents(appType),
    );
    await this.askMissing(asked);
  }

  async configuring(): Promise<void> {
    this.config.set('services', this.forge.services ?? []);
    this.config.set('generatorVersion', PACKAGE_VERSION);
    await this.composeForge('api');
    if (this.answers.auth !== 'none') await this.composeForge('auth');
    // The agent orchestration and streaming app types serve agents; `add agents` may have added them to another.
    const { appType, agents } = this.answers;
    if (agents || servesAgents(appType)) await this.composeForge('agents');
    if (this.answers.db !== 'none') await this.composeForge('db');
    // Decided once, from the tier the answers give, then kept in .yo-rc.json.
    if (this.forge.observability === undefined)
      this.config.set('observability', observabilityDefault(this.answers.tier));
    if (this.answers.observability) await this.composeForge('observability');
    // docker for every target (k8s, cloudrun and serverless compose it), plus the target's own generator.
    await this.composeDeployment([this.answers.deploy]);
    // Tiers 2 and 3: the uv workspace with its services and the gateway in front of them, composed after
    // docker so that docker-compose.yml lists them in the order growing a tier-1 project gives.
    if (this.answers.tier >= 2) {
      if (this.answers.services.length === 0) this.config.set('services', [...DEFAULT_TIER2_SERVICES]);
      await this.composeForge('microservice');
      await this.composeForge('gateway');
      // Tier 3: durable event streams, the outbox and CQRS on top of the services.
      if (this.answers.tier >= 3) await this.composeForge('events');
    } else if (this.answers.services.length > 0) {
      throw new ForgeUserError('--services is for tier 2 and 3 projects: add --tier 2');
    }
  }

  async install(): Promise<void> {
    if (this.options.dryRun) return;
    const log = (line: string): void => {
      this.log.info(line);
    };
    // --skip-install still writes uv.lock: the first install, CI and the image build use it as it is.
    if (this.options.skipInstall) {
      await lockDependencies(this.destinationRoot(), log);
      return;
    }
    if (!findExecutable('uv')) {
      this.log.info(
        'uv was not found on PATH: install it (`pip install uv`), then run `uv sync` in the project.',
      );
      return;
    }
    // A tier-2 workspace: every package (the services, libs and the gateway) into the one virtualenv.
    const all = this.answers.services.length > 0 ? ' --all-packages' : '';
    await timedStep(log, `Installing the dependencies into .venv (uv sync${all})`, () =>
      this.spawnCommand(`uv sync${all}`, { cwd: this.destinationRoot() }),
    );
  }

  end(): void {
    // A dry run created nothing, so there is nothing to cd into.
    if (this.options.dryRun) {
      this.log.info('Dry run: nothing was written.');
      return;
    }
    const config = this.answers;
    const where = this.relativeToCwd(this.destinationRoot());
    const context = this.templateContext() as unknown as FinalMessageContext;
    const installed = !this.options.skipInstall && findExecutable('uv') !== undefined;
    const steps = finalSteps(context, where, installed);
    this.log.info(
      [`${config.projectName} is ready in ${where}. Next:`, ...steps.map((line) => `  ${line}`)].join('\n'),
    );
  }
}
