import {
  type AgentSdk,
  type AppType,
  type AuthKind,
  CHOICES,
  type Database,
  type DeployTarget,
  type FeatureMigration,
  type Tier,
  parseChoice,
} from './choices.js';
import { type DeploymentSettings, validateDeployment } from './deploy.js';
import { ForgeUserError } from './errors.js';
import { toPackageName, validatePackageName, validateProjectName } from './naming.js';
import type { ResourceChange } from './resource-changes.js';
import {
  type EventsRevision,
  type ResourceSpec,
  validateEventsRevisions,
  validateStoredResources,
} from './resources.js';
import { validateStoredPlugins } from './plugins.js';
import { validateStoredServices } from './workspace.js';
import * as semver from 'semver';

// The choices are the vocabulary of the config: every module that reads the config finds them here.
export * from './choices.js';

/** The key under which every answer is stored in `.yo-rc.json`. */
export const CONFIG_NAMESPACE = 'generator-fastapi-forge';

/** Everything a project was generated with. Stored in `.yo-rc.json` under {@link CONFIG_NAMESPACE}. */
export interface ForgeConfig {
  projectName: string;
  packageName: string;
  description: string;
  appType: AppType;
  tier: Tier;
  db: Database;
  auth: AuthKind;
  agentSdk: AgentSdk;
  deploy: DeployTarget;
  services: string[];
  /** True once the agents generator has run (by `app` for the agent and streaming app types, or `add agents`). */
  agents: boolean;
  /**
   * True once the db generator has written the code of `db`. A project made by an earlier version may hold a
   * `db` answer with no database code yet; its composition modules are rendered without a database until then.
   */
  dbGenerated: boolean;
  /**
   * The SQL feature migrations in the order the db generator first wrote them. Each one chains after the
   * one before it, so a feature added later never rewrites history a database has already applied.
   */
  migrations?: (FeatureMigration | `resource:${string}` | `change:${string}`)[];
  /** Resources added with `add resource`, in the order they were added (see lib/resources.ts). */
  resources?: ResourceSpec[];
  /** Changes made to resources after they were added, each with its migration (lib/resource-changes.ts). */
  resourceChanges?: ResourceChange[];
  /** Where tier 3 came into the services that grew to it after revisions of their own (lib/resources.ts). */
  eventsRevisions?: Record<string, EventsRevision>;
  /**
   * Tables of a database read by `add resource --from-database` that are not resources: migrations leave
   * them alone, and autogenerate does not offer to drop them.
   */
  unmanagedTables?: string[];
  /** Deployment targets generated so far and the deployment generators' options (see lib/deploy.ts). */
  deployment?: DeploymentSettings;
  /**
   * Prometheus metrics and OpenTelemetry tracing (the observability generator). `app` decides it from the tier
   * when it is unset ({@link observabilityDefault}); `add observability` turns it on for any project.
   */
  observability: boolean;
  /**
   * The demo-only example route (POST /echo) and its service (`new --examples`). Off by default: a project
   * holds what its options ask for, plus the notes resource where it has a document or SQL database.
   */
  examples: boolean;
  /** True once the gateway generator has run: `add microservice` then routes the new service through it. */
  gateway?: boolean;
  /** Plugin packages (`generator-fastapi-forge-<name>`) the project uses, by name, in the order added (lib/plugins.ts). */
  plugins?: string[];
  generatorVersion: string;
}

/**
 * Validates a stored config (from `.yo-rc.json`). Unknown keys are kept untouched, known keys must hold
 * allowed values, so a hand-edited file with a typo is reported instead of silently generating the wrong thing.
 */
export function validateStoredConfig(stored: unknown, file: string): Partial<ForgeConfig> {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
    throw new ForgeUserError(`${file}: "${CONFIG_NAMESPACE}" must be an object`);
  }
  const config = stored as Record<string, unknown>;
  for (const spec of CHOICES) {
    if (config[spec.key] !== undefined) parseChoice(spec.key, config[spec.key], `value in ${file}:`);
  }
  if (config.projectName !== undefined) {
    if (typeof config.projectName !== 'string')
      throw new ForgeUserError(`${file}: projectName must be a string`);
    validateProjectName(config.projectName);
  }
  if (config.packageName !== undefined) {
    if (typeof config.packageName !== 'string')
      throw new ForgeUserError(`${file}: packageName must be a string`);
    validatePackageName(config.packageName, `${file}: packageName`);
  }
  // The version decides which migrations an upgrade applies: one that is not a version cannot be trusted.
  const version = config.generatorVersion;
  if (version !== undefined && (typeof version !== 'string' || !semver.valid(version))) {
    throw new ForgeUserError(`${file}: generatorVersion must be a version such as "0.1.0"`);
  }
  if (config.agents !== undefined && typeof config.agents !== 'boolean') {
    throw new ForgeUserError(`${file}: agents must be true or false`);
  }
  if (config.dbGenerated !== undefined && typeof config.dbGenerated !== 'boolean') {
    throw new ForgeUserError(`${file}: dbGenerated must be true or false`);
  }
  if (config.observability !== undefined && typeof config.observability !== 'boolean') {
    throw new ForgeUserError(`${file}: observability must be true or false`);
  }
  if (config.examples !== undefined && typeof config.examples !== 'boolean') {
    throw new ForgeUserError(`${file}: examples must be true or false`);
  }
  validateStoredResources(config.resources, config.migrations, file, config.resourceChanges);
  validateEventsRevisions(config.eventsRevisions, file);
  if (
    config.unmanagedTables !== undefined &&
    (!Array.isArray(config.unmanagedTables) ||
      !config.unmanagedTables.every((table) => typeof table === 'string' && /^\w+$/.test(table)))
  ) {
    throw new ForgeUserError(`${file}: unmanagedTables must be a list of table names`);
  }
  validateDeployment(config.deployment, file);
  validateStoredPlugins(config.plugins, file);
  if (config.gateway !== undefined && typeof config.gateway !== 'boolean') {
    throw new ForgeUserError(`${file}: gateway must be true or false`);
  }
  if (config.services !== undefined) {
    const packageName =
      typeof config.packageName === 'string'
        ? config.packageName
        : typeof config.projectName === 'string'
          ? toPackageName(config.projectName)
          : undefined;
    validateStoredServices(config.services, packageName, file);
  }
  return config as Partial<ForgeConfig>;
}

/** The database the project's code is wired to: `db` once the db generator has written it, else none. */
export function wiredDatabase(config: Pick<ForgeConfig, 'db' | 'dbGenerated'>): Database {
  return config.dbGenerated ? config.db : 'none';
}
