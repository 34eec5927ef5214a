/**
 * The spec's clarifications: the answers a project is generated from, their flags, questions, allowed values
 * and defaults. Nothing here depends on the rest of the config, so the modules that validate parts of it
 * (lib/deploy.ts, lib/resources.ts) use these without importing lib/config.ts.
 */
import { ForgeUserError } from './errors.js';

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
  defaultFor?: (answers: ChoiceAnswers) => V;
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

/**
 * The databases the SQL layer (SQLAlchemy and Alembic) serves: the users table, the agents' job records and
 * the resources from `add resource` live in one of these. A new SQL database joins this list.
 */
export const SQL_DATABASES: readonly string[] = ['postgres'];
export const isSqlDatabase = (db: string | undefined): boolean =>
  db !== undefined && SQL_DATABASES.includes(db);

/**
 * The authentication kinds that verify the tokens the project signs itself for the users it stores in an
 * SQL database (`POST /auth/token`): with one of them and such a database, the project has stored users.
 */
export const STORED_USER_AUTH_KINDS: readonly string[] = ['jwt'];
export const hasStoredUsers = (auth: string | undefined, db: string | undefined): boolean =>
  isSqlDatabase(db) && auth !== undefined && STORED_USER_AUTH_KINDS.includes(auth);

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

/** The answers to the clarifications, by their key in the config. */
export interface ChoiceAnswers {
  appType?: AppType;
  tier?: Tier;
  db?: Database;
  auth?: AuthKind;
  agentSdk?: AgentSdk;
  deploy?: DeployTarget;
}

export type ChoiceKey = keyof ChoiceAnswers;

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
export function defaultChoices(answers: ChoiceAnswers = {}): Required<ChoiceAnswers> {
  return Object.fromEntries(
    CHOICES.map((spec) => [spec.key, defaultOf(spec, answers)]),
  ) as Required<ChoiceAnswers>;
}

/** A choice's default as `--help` states it. */
export const defaultHelpOf = (spec: ChoiceSpec<string | number>): string =>
  spec.defaultHelp ?? String(spec.default);

/** A choice's default given the answers so far. */
export function defaultOf<V extends string | number>(spec: ChoiceSpec<V>, answers: ChoiceAnswers): V {
  return spec.defaultFor ? spec.defaultFor(answers) : spec.default;
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
