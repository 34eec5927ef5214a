import {
  APP_TYPES,
  type AppType,
  CHOICES,
  type ChoiceKey,
  type ForgeConfig,
  defaultChoices,
  servesAgents,
} from '../../lib/config.js';
import { MAX_NAME_LENGTH } from '../../lib/naming.js';
import { type Dimension, type Row, allPairs } from './pairwise.js';

/**
 * The option matrix: the dimensions come from the config's choice lists (lib/config.ts), so a new value
 * joins the matrix by itself.
 *
 * - The application type only decides whether agents are generated (see `servesAgents`), so it is not a
 *   dimension of its own: the `agents` dimension is the agent SDK, or `off` for the application types
 *   without agents. The application types of each kind take turns over its rows, so each appears.
 * - `observability` is a dimension of its own (`--observability` / `--no-observability`).
 */

export const AGENTS_OFF = 'off';

/** The choice keys that are dimensions as they are (the agents dimension stands for appType and agentSdk). */
const DIRECT_KEYS = CHOICES.map((spec) => spec.key).filter((key) => key !== 'appType' && key !== 'agentSdk');

export interface Combination {
  /** 1-based position in the matrix (`MATRIX_ONLY=<index>` runs this one). */
  index: number;
  /** The project's name: `mx-01`, ..., or one as long as a name may be (see {@link longNamed}). */
  name: string;
  packageName: string;
  /** The matrix row: one value per dimension. */
  row: Row;
  /** The config the project is generated with (as `.yo-rc.json` will hold it). */
  config: Pick<ForgeConfig, ChoiceKey> & {
    agents: boolean;
    observability: boolean;
    examples: boolean;
    services?: string[];
  };
  /** The `fastapi-forge new` flags that produce it. */
  flags: string[];
}

export interface Matrix {
  dimensions: Dimension[];
  combinations: Combination[];
}

export function matrixDimensions(): Dimension[] {
  const dimensions: Dimension[] = DIRECT_KEYS.map((key) => ({
    name: key,
    values: CHOICES.find((spec) => spec.key === key)?.choices.map((choice) => choice.value) ?? [],
  }));
  const sdks = CHOICES.find((spec) => spec.key === 'agentSdk')?.choices.map((choice) => choice.value) ?? [];
  dimensions.splice(DIRECT_KEYS.indexOf('db') + 1, 0, { name: 'agents', values: [...sdks, AGENTS_OFF] });
  dimensions.push({ name: 'observability', values: [false, true] });
  return dimensions;
}

/**
 * The services of the tier-3 rows, in turn: names other than the default ones, and a single service, so the
 * generated tests of every service are shown to pass whatever the services are called (the default pair
 * is what the tier-3 and growth e2e files generate). Later tier-3 rows keep the default.
 */
export const TIER3_SERVICES = [['billing'], ['orders', 'payments']];

/** The `fastapi-forge new` flags of a row; the application types of its kind take turns (`turn`). */
function flagsOf(
  row: Row,
  turn: number,
  services?: string[],
): { flags: string[]; config: Combination['config'] } {
  const withAgents = row.agents !== AGENTS_OFF;
  const kinds = APP_TYPES.filter((type) => servesAgents(type) === withAgents);
  const appType = kinds[turn % kinds.length] as AppType;
  const config = {
    ...defaultChoices(),
    appType,
    agents: withAgents,
    observability: row.observability === true,
    // Every row serves POST /echo: the matrix checks authentication and JWT attacks through it.
    examples: true,
  } as Combination['config'];
  const flags = ['--app-type', appType, '--examples'];
  if (withAgents) {
    config.agentSdk = row.agents as never;
    flags.push('--agent-sdk', String(row.agents));
  }
  for (const key of DIRECT_KEYS) {
    const spec = CHOICES.find((candidate) => candidate.key === key);
    if (!spec || row[key] === undefined) continue;
    (config as Record<string, unknown>)[key] = row[key];
    flags.push(`--${spec.flag}`, String(row[key]));
  }
  if (row.observability !== undefined)
    flags.push(row.observability ? '--observability' : '--no-observability');
  if (services) {
    config.services = services;
    flags.push('--services', services.join(','));
  }
  return { flags, config };
}

/** A name made as long as a name may be: `mx-01` gives `mx-01-named-at-the-length-limitxxxxxxxxx`. */
export const atLengthLimit = (words: string[], separator: string): string =>
  [...words, 'named', 'at', 'the', 'length', 'limit'].join(separator).padEnd(MAX_NAME_LENGTH, 'x');

/**
 * The first row of tier 1 and the first of tier 3 deployed with compose are named as long as a name may be
 * (lib/naming.ts), the tier-3 one with a service of such a name too: the matrix's ruff, mypy and pytest runs
 * prove that every generated line fits the line length with them, at no extra cost. Compose, because the
 * names of other platforms (Kubernetes labels, Cloud Run services) have shorter bounds of their own.
 */
function longNamed(rows: readonly Row[]): Set<Row> {
  const firstOf = (tier: number): Row | undefined =>
    rows.find((row) => row.tier === tier && row.deploy === 'compose');
  return new Set([firstOf(1), firstOf(3)].filter((row): row is Row => row !== undefined));
}

/** The pairwise matrix of this version's options. */
export function optionMatrix(): Matrix {
  const dimensions = matrixDimensions();
  const rows = allPairs(dimensions);
  const long = longNamed(rows);
  const turns = new Map<boolean, number>();
  let tier3Rows = 0;
  const combinations = rows.map((row, position) => {
    const withAgents = row.agents !== AGENTS_OFF;
    const turn = turns.get(withAgents) ?? 0;
    turns.set(withAgents, turn + 1);
    const index = position + 1;
    const number = String(index).padStart(2, '0');
    const name = long.has(row) ? atLengthLimit(['mx', number], '-') : `mx-${number}`;
    // A long-named tier-3 row has a service of such a name too; the other tier-3 rows take their turns.
    const services =
      long.has(row) && row.tier !== 1
        ? [atLengthLimit(['mx', number, 'service'], '_'), 'inventory']
        : row.tier === 3
          ? TIER3_SERVICES[tier3Rows++]
          : undefined;
    return { index, name, packageName: name.replace(/-/g, '_'), row, ...flagsOf(row, turn, services) };
  });
  return { dimensions, combinations };
}

/** One line per combination, for the test output. */
export const describeRow = (row: Row): string =>
  Object.entries(row)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
