import { type DeploymentSettings, validateDeployment } from './deploy.js';
import { ForgeUserError } from './errors.js';
import { toPackageName, validatePackageName, validateProjectName } from './naming.js';
import { validateStoredServices } from './workspace.js';
import * as semver from 'semver';

/** The key under which every answer is stored in `.yo-rc.json`. */
export const CONFIG_NAMESPACE = 'generator-fastapi-forge';

export interface Choice<V extends string | number> {
  value: V;
  label: string;
}

/** One answer of the project: its CLI flag, its prompt, its allowed values and its default. */
export interface ChoiceSpec<V extends string | number> {
  key: ChoiceKey;
  flag: string;
  type: 'string' | 'number';
  question: string;
  description: string;
  choices: readonly Choice<V>[];
  default: V;
  /** The default where it depends on an earlier answer (the tier): given the answers so far. */
  defaultFor?: (answers: Partial<ForgeConfig>) => V;
  /** How `--help` states a default that {@link defaultFor} computes. */
  defaultHelp?: string;
  /** Required clarifications are asked first; optional ones follow. */
  required: boolean;
}

export const APP_TYPES = ['agents', 'microservice', 'multi-service', 'streaming'] as const;
export const TIERS = [1, 2, 3] as const;
export const DATABASES = ['postgres', 'mongo', 'redis', 'none'] as const;
export const AUTH_KINDS = ['jwt', 'apikey', 'oidc', 'none'] as const;
export const AGENT_SDKS = ['anthropic', 'openai', 'langgraph', 'crewai', 'claude-agent-sdk', 'none'] as const;
export const DEPLOY_TARGETS = ['compose', 'k8s', 'cloudrun', 'serverless'] as const;

export type AppType = (typeof APP_TYPES)[number];
export type Tier = (typeof TIERS)[number];
export type Database = (typeof DATABASES)[number];
export type AuthKind = (typeof AUTH_KINDS)[number];
export type AgentSdk = (typeof AGENT_SDKS)[number];
export type DeployTarget = (typeof DEPLOY_TARGETS)[number];

/** The application types that serve agents: `app` composes the agents generator for them. */
export const servesAgents = (appType: AppType): boolean => appType === 'agents' || appType === 'streaming';

/** Migrations features add to the SQL database after the initial one, in their default order. */
export const FEATURE_MIGRATIONS = ['users', 'agent_jobs', 'agent_job_owners'] as const;
export type FeatureMigration = (typeof FEATURE_MIGRATIONS)[number];

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
  migrations?: FeatureMigration[];
  /** Deployment targets generated so far and the deployment generators' options (see lib/deploy.ts). */
  deployment?: DeploymentSettings;
  /**
   * Prometheus metrics and OpenTelemetry tracing (the observability generator). `app` decides it from the tier
   * when it is unset ({@link observabilityDefault}); `add observability` turns it on for any project.
   */
  observability: boolean;
  /** True once the gateway generator has run: `add microservice` then routes the new service through it. */
  gateway?: boolean;
  generatorVersion: string;
}

export type ChoiceKey = 'appType' | 'tier' | 'db' | 'auth' | 'agentSdk' | 'deploy';

/** The spec's clarifications, in the order they are asked, with the spec's defaults. */
export const CHOICES: readonly ChoiceSpec<string | number>[] = [
  {
    key: 'appType',
    flag: 'app-type',
    type: 'string',
    question: 'What are you building?',
    description: 'application type',
    required: true,
    default: 'agents',
    choices: [
      { value: 'agents', label: 'Agent orchestration API (serve AI agents over HTTP)' },
      { value: 'microservice', label: 'REST microservice (domain-specific service)' },
      { value: 'multi-service', label: 'Multi-service system (multiple coordinated services)' },
      { value: 'streaming', label: 'Real-time streaming backend (WebSocket/SSE)' },
    ],
  },
  {
    key: 'tier',
    flag: 'tier',
    type: 'number',
    question: 'What scale?',
    description: 'scale tier',
    required: true,
    default: 1,
    choices: [
      { value: 1, label: 'Single API (1 service, <100 req/s)' },
      { value: 2, label: 'Multi-service (2-10 services, <1K req/s)' },
      { value: 3, label: 'Enterprise (10+ services, 1K+ req/s, multi-region)' },
    ],
  },
  {
    key: 'db',
    flag: 'db',
    type: 'string',
    question: 'What storage?',
    description: 'database',
    required: true,
    default: 'postgres',
    choices: [
      { value: 'postgres', label: 'PostgreSQL (recommended, async SQLAlchemy)' },
      { value: 'mongo', label: 'MongoDB (async PyMongo)' },
      { value: 'redis', label: 'Redis (caching + pub/sub)' },
      { value: 'none', label: 'None (stateless API)' },
    ],
  },
  {
    key: 'auth',
    flag: 'auth',
    type: 'string',
    question: 'Authentication?',
    description: 'authentication',
    required: false,
    default: 'jwt',
    choices: [
      { value: 'jwt', label: 'JWT Bearer' },
      { value: 'oidc', label: 'OAuth2/OIDC (external identity provider)' },
      { value: 'apikey', label: 'API key' },
      { value: 'none', label: 'None' },
    ],
  },
  {
    key: 'agentSdk',
    flag: 'agent-sdk',
    type: 'string',
    question: 'Agent SDK?',
    description: 'agent SDK',
    required: false,
    default: 'anthropic',
    choices: [
      { value: 'anthropic', label: 'Anthropic' },
      { value: 'openai', label: 'OpenAI' },
      { value: 'langgraph', label: 'LangGraph' },
      { value: 'crewai', label: 'CrewAI' },
      { value: 'claude-agent-sdk', label: 'Claude Agent SDK' },
      { value: 'none', label: 'None (deterministic local agent)' },
    ],
  },
  {
    key: 'deploy',
    flag: 'deploy',
    type: 'string',
    question: 'Deployment?',
    description: 'deployment target',
    required: false,
    default: 'compose',
    defaultFor: (answers) => deployDefault(answers.tier ?? 1),
    defaultHelp: 'compose; k8s at tier 3',
    choices: [
      { value: 'compose', label: 'Docker Compose' },
      { value: 'k8s', label: 'Kubernetes' },
      { value: 'cloudrun', label: 'Cloud Run' },
      { value: 'serverless', label: 'Serverless (AWS Lambda)' },
    ],
  },
];

export function choiceSpec(key: ChoiceKey): ChoiceSpec<string | number> {
  const spec = CHOICES.find((candidate) => candidate.key === key);
  if (!spec) throw new Error(`no such config key: ${key}`);
  return spec;
}

export const choiceValues = (key: ChoiceKey): (string | number)[] =>
  choiceSpec(key).choices.map((choice) => choice.value);

/**
 * Parses one answer given as a flag or read from `.yo-rc.json`.
 * Throws a one-line user error naming the allowed values.
 */
export function parseChoice(key: ChoiceKey, raw: unknown, origin: string): string | number {
  const spec = choiceSpec(key);
  const value = spec.type === 'number' && typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  const allowed = spec.choices.map((choice) => choice.value);
  if (!allowed.includes(value as string | number)) {
    throw new ForgeUserError(
      `invalid ${origin} ${JSON.stringify(raw)} for ${spec.description}: expected one of ${allowed.join(', ')}`,
    );
  }
  return value as string | number;
}

/** Defaults for every choice, as the spec's defaults table gives them. */
/** Every choice's default, given the answers there are (a default may depend on the tier). */
export function defaultChoices(answers: Partial<ForgeConfig> = {}): Pick<ForgeConfig, ChoiceKey> {
  return Object.fromEntries(CHOICES.map((spec) => [spec.key, defaultOf(spec, answers)])) as Pick<
    ForgeConfig,
    ChoiceKey
  >;
}

/** A choice's default as `--help` states it. */
export const defaultHelpOf = (spec: ChoiceSpec<string | number>): string =>
  spec.defaultHelp ?? String(spec.default);

/** A choice's default given the answers so far. */
export function defaultOf<V extends string | number>(spec: ChoiceSpec<V>, answers: Partial<ForgeConfig>): V {
  return spec.defaultFor ? spec.defaultFor(answers) : spec.default;
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
  if (config.migrations !== undefined) {
    const migrations = config.migrations;
    const known = (name: unknown): boolean => FEATURE_MIGRATIONS.includes(name as FeatureMigration);
    if (
      !Array.isArray(migrations) ||
      !migrations.every(known) ||
      new Set(migrations).size !== migrations.length
    ) {
      throw new ForgeUserError(
        `${file}: migrations must list each of ${FEATURE_MIGRATIONS.join(', ')} at most once`,
      );
    }
  }
  validateDeployment(config.deployment, file);
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

/**
 * Tier 3 deploys on Kubernetes (the spec's tier table); the k8s target writes docker-compose.yml too, for
 * running the system locally. Tiers 1 and 2 default to compose.
 */
export function deployDefault(tier: Tier): DeployTarget {
  return tier === 3 ? 'k8s' : 'compose';
}

/** Metrics and tracing are on by default at tier 3 (the spec: Prometheus for production tiers, tracing for enterprise). */
export const observabilityDefault = (tier: Tier): boolean => tier === 3;

/** The database the project's code is wired to: `db` once the db generator has written it, else none. */
export function wiredDatabase(config: Pick<ForgeConfig, 'db' | 'dbGenerated'>): Database {
  return config.dbGenerated ? config.db : 'none';
}

export function packageNameFor(config: Partial<ForgeConfig>): string {
  return config.packageName ?? toPackageName(config.projectName ?? '');
}
