import { createHash } from 'node:crypto';
import { DEPLOY_TARGETS, type DeployTarget, parseChoice } from './choices.js';
import type { DeploymentNeeds } from './contributions.js';
import { ForgeUserError } from './errors.js';

/** The uv release whose image the Dockerfile copies uv from (ghcr.io/astral-sh/uv:<version>). */
export const UV_IMAGE_VERSION = '0.13.9';

/** Python versions the container image may use: the project requires 3.11 or newer. */
export const IMAGE_PYTHONS = ['3.11', '3.12', '3.13', '3.14'] as const;
export const DEFAULT_IMAGE_PYTHON = '3.13';

/** The port the app listens on in every container, and the number of server processes per container. */
export const APP_PORT = 8000;
export const IMAGE_WORKERS = 4;

/**
 * The generator that writes each deployment target: the one of its name, `docker` for compose. Every target
 * also gets `docker` (see README.md). A new target is its generator's folder and its entry in lib/choices.ts.
 */
export const DEPLOY_GENERATORS = Object.fromEntries(
  DEPLOY_TARGETS.map((target) => [target, target === 'compose' ? 'docker' : target]),
) as Record<DeployTarget, string>;

/** Deployment settings stored in `.yo-rc.json` under `deployment`. */
export interface DeploymentSettings {
  /** The targets whose files have been generated, so later runs keep them up to date. */
  targets?: DeployTarget[];
  /** Python of the container image (`--python`). */
  python?: string;
  /** Kubernetes namespace of the prod overlay; dev uses `<namespace>-dev` (`--k8s-namespace`). */
  namespace?: string;
  /** Host name the Ingress routes to the app (`--ingress-host`). */
  host?: string;
}

/** Options of the deployment generators that are not spec clarifications: flag -> config key and parser. */
export const DEPLOYMENT_FLAGS = {
  python: {
    key: 'python',
    description: `Python of the container image: ${IMAGE_PYTHONS.join('|')} (default: ${DEFAULT_IMAGE_PYTHON})`,
    parse: parseImagePython,
  },
  'k8s-namespace': {
    key: 'namespace',
    description:
      'Kubernetes namespace of the prod overlay; dev gets "<namespace>-dev" (default: the project name)',
    parse: parseNamespace,
  },
  'ingress-host': {
    key: 'host',
    description: 'Host name the Ingress serves (default: <project>.example.com)',
    parse: parseHost,
  },
} as const satisfies Record<
  string,
  { key: keyof DeploymentSettings; description: string; parse: (raw: unknown, origin: string) => string }
>;

export type DeploymentFlag = keyof typeof DEPLOYMENT_FLAGS;

export function parseImagePython(raw: unknown, origin: string): string {
  const value = String(raw);
  if (!(IMAGE_PYTHONS as readonly string[]).includes(value)) {
    throw new ForgeUserError(
      `invalid ${origin} ${JSON.stringify(raw)}: the image's Python must be one of ${IMAGE_PYTHONS.join(', ')} (the project requires 3.11 or newer)`,
    );
  }
  return value;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseNamespace(raw: unknown, origin: string): string {
  const value = String(raw);
  // "-dev" is appended for the dev overlay, so the name must leave room for it within 63 characters.
  if (!DNS_LABEL.test(value) || value.length > 59) {
    throw new ForgeUserError(
      `invalid ${origin} ${JSON.stringify(raw)}: a Kubernetes namespace is lowercase letters, digits and "-", at most 59 characters, starting and ending with a letter or digit`,
    );
  }
  return value;
}

export function parseHost(raw: unknown, origin: string): string {
  const value = String(raw);
  const labels = value.split('.');
  if (
    value.length > 253 ||
    labels.length < 2 ||
    !labels.every((label) => DNS_LABEL.test(label) && label.length <= 63)
  ) {
    throw new ForgeUserError(
      `invalid ${origin} ${JSON.stringify(raw)}: expected a lowercase DNS host name such as api.example.com`,
    );
  }
  return value;
}

/** Validates the `deployment` entry of a stored config. */
export function validateDeployment(value: unknown, file: string): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ForgeUserError(`${file}: deployment must be an object`);
  }
  const settings = value as Record<string, unknown>;
  if (settings.targets !== undefined) {
    if (!Array.isArray(settings.targets))
      throw new ForgeUserError(`${file}: deployment.targets must be a list`);
    for (const target of settings.targets)
      parseChoice('deploy', target, `value in ${file}: deployment.targets`);
  }
  for (const [flag, spec] of Object.entries(DEPLOYMENT_FLAGS)) {
    const stored = settings[spec.key];
    if (stored !== undefined) spec.parse(stored, `value in ${file}: deployment.${flag}`);
  }
}

/** The targets whose files exist, in a stable order. */
export function generatedTargets(config: { deployment?: DeploymentSettings }): DeployTarget[] {
  const targets = (config.deployment?.targets ?? []) as DeployTarget[];
  return Object.keys(DEPLOY_GENERATORS).filter((target) =>
    targets.includes(target as DeployTarget),
  ) as DeployTarget[];
}

/** The longest Kubernetes object name, or label value, that is a DNS-1123 label. */
export const K8S_NAME_LIMIT = 63;

/**
 * A Kubernetes name made of DNS-label `parts` joined with '-' (`shop-orders-config`): as it is when it fits
 * in a DNS-1123 label, otherwise cut and ended with a short hash of the whole name, so that it is the same at
 * every run and two long names that begin alike stay apart. Every name, and every reference to one (a
 * selector, a configMapRef, a service's URL), is made by this function from the same parts.
 */
export function k8sName(...parts: string[]): string {
  const name = parts.join('-');
  if (name.length <= K8S_NAME_LIMIT) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, K8S_NAME_LIMIT - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** A Kubernetes / Compose / Cloud Run name for the project: a DNS label. */
export function dnsName(projectName: string): string {
  return projectName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

/** Settings whose values are credentials: they go to Secrets (k8s), Secret Manager (Cloud Run), NoEcho parameters. */
const SECRET_NAME = /(^|_)(SECRET|PASSWORD|TOKEN|PRIVATE_KEY|API_KEYS?)$/;

/**
 * What the run's features need of a deployment (their `deployment` contributions, lib/contributions.ts),
 * with the core's own: Redis, which every project uses for its rate limits.
 */
export function deploymentNeeds(contributed: readonly DeploymentNeeds[], packageName: string) {
  const needs: DeploymentNeeds[] = [
    {
      composeUrls: { REDIS_URL: 'redis://redis:6379/0' },
      secretExamples: [{ name: 'REDIS_URL', value: 'redis://:change-me@redis.example.internal:6379/0' }],
    },
    ...contributed,
  ];
  const withPackage = (value: string) => value.replaceAll('<package>', packageName);
  const examples = needs.flatMap((need) => need.secretExamples ?? []);
  /** The example of a setting named `name`, or ending in `_<name>` (a service's own connection URL). */
  const exampleOf = (name: string) =>
    examples.find((example) => name === example.name || name.endsWith(`_${example.name}`));
  const requiredSecrets = needs.flatMap((need) => need.requiredSecrets ?? []);
  const composeServices = needs
    .flatMap((need) => need.composeServices ?? [])
    .map((service) => ({ ...service, yaml: withPackage(service.yaml) }));
  const redisStore = needs.some((need) => need.redisStore === true);
  return {
    /** The schema is migrated before the app starts (a `migrate` service, a Job). */
    migrated: needs.some((need) => need.migrated === true),
    /** The features' own compose services (a database), before the core's Redis. */
    composeServices,
    redisStore,
    /** The named volumes of the compose file. */
    composeVolumes: [
      ...composeServices.flatMap((service) => (service.volume ? [service.volume] : [])),
      ...(redisStore ? ['redis-data'] : []),
    ],
    /** The secrets the app cannot start without in production. */
    requiredSecrets,
    /** Connection URLs of the services `docker-compose.yml` runs beside the app. */
    composeUrls: Object.fromEntries(
      needs.flatMap((need) =>
        Object.entries(need.composeUrls ?? {}).map(([name, url]) => [name, withPackage(url)]),
      ),
    ) as Record<string, string>,
    /**
     * Example values of secret settings in deployment templates: connection URLs point at a host to replace
     * and carry a placeholder password; every other secret is empty. The app refuses to start in production
     * with an empty or placeholder secret, so a template deployed unedited fails at once instead of running open.
     */
    secretExample: (name: string): string => {
      const example = exampleOf(name);
      return example ? withPackage(example.value) : '';
    },
    /**
     * The secret settings of the project: those its features need and every secret-like variable of
     * `.env.example`, which lists the settings of every feature generated so far. Connection URLs carry
     * credentials too, a service's own (`ORDERS_DATABASE_URL`) as well.
     */
    secretSettings(envExample: string): string[] {
      const names = new Set<string>(['REDIS_URL', ...requiredSecrets]);
      for (const line of envExample.split('\n')) {
        const name = /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1];
        if (name && (SECRET_NAME.test(name) || (name.endsWith('_URL') && exampleOf(name)))) names.add(name);
      }
      return [...names].sort();
    },
  };
}

export type DeploymentKnowledge = ReturnType<typeof deploymentNeeds>;

/** One setting of a deployment target's environment, with the comment `.env.example` gives it. */
export interface DeploymentSetting {
  name: string;
  value: string;
  comment?: string;
}

/**
 * Production values of settings that differ from `.env.example` (which holds development values), and the
 * server's own settings. Applied in this order after the project's settings.
 */
const PRODUCTION_SETTINGS: DeploymentSetting[] = [
  { name: 'ENVIRONMENT', value: 'production' },
  { name: 'LOG_JSON', value: 'true' },
  {
    name: 'CORS_ORIGINS',
    value: 'https://app.example.com',
    comment: 'Replace with the origins of your front ends; "*" is refused outside development',
  },
  {
    name: 'WEB_CONCURRENCY',
    value: '2',
    comment: 'uvicorn worker processes per instance; scale out with more instances',
  },
  {
    name: 'FORWARDED_ALLOW_IPS',
    value: '*',
    comment: "Only the platform's proxy reaches the app, so its X-Forwarded-For is trusted",
  },
];

/**
 * The non-secret settings a deployment target sets: every setting `.env.example` gives a value (it lists the
 * settings of every feature, including required ones such as JWT_ISSUER), with production values for the
 * core ones. Secrets are left out: they come from the target's secret store.
 */
export function deploymentSettings(envExample: string, secrets: string[]): DeploymentSetting[] {
  const settings = new Map<string, DeploymentSetting>();
  let comment: string[] = [];
  for (const line of envExample.split('\n')) {
    const variable = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (variable?.[1] && variable[2] !== undefined) {
      const [, name, value] = variable;
      if (value.trim() !== '' && !secrets.includes(name)) {
        settings.set(name, { name, value, ...(comment.length > 0 ? { comment: comment.join(' ') } : {}) });
      }
      comment = [];
    } else if (/^#(?!\s*---)/.test(line)) comment.push(line.replace(/^#\s?/, ''));
    else comment = [];
  }
  for (const setting of PRODUCTION_SETTINGS) {
    settings.set(setting.name, { ...settings.get(setting.name), ...setting });
  }
  return [...settings.values()];
}

/** `JWT_SECRET` -> `JwtSecret` (CloudFormation parameter names), `jwt-secret` (Secret Manager names). */
export const pascalCase = (name: string): string =>
  name
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

export const kebabCase = (name: string): string => name.toLowerCase().replace(/_/g, '-');

/** Indents every non-empty line of a rendered partial, for including it inside YAML. */
export function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .replace(/\n+$/, '')
    .split('\n')
    .map((line) => (line.trim() ? pad + line : ''))
    .join('\n');
}
