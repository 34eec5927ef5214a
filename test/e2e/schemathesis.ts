import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir } from '../helpers.js';
import { UV } from './processes.js';

/** Pinned, and installed by uv from PyPI into its own tool environment (kept in uv's cache). */
export const SCHEMATHESIS = 'schemathesis==4.32.5';

/**
 * Where a check does not fit what the generated API documents, for a reason its schema cannot express:
 * a status Schemathesis' positive_data_acceptance check does not expect for a valid request (it expects
 * 2xx, 3xx, 401, 403, 404, 409, 429, 5xx), or a DELETE that does not remove its resource. Each entry
 * changes that one check for the operations it names only; every other check runs everywhere.
 */
const CONFIG = `
# Every check, everywhere (given here rather than as --checks all, which would override the
# per-operation settings below).
[checks]
enabled = true

# Filters of one [[operations]] entry are alternatives, so each entry names its operations exactly.

# A page cursor is an opaque token from an earlier page: any string fits the schema, but only cursors
# the API issued are accepted (notes answer 400, the job history 422, as for any bad query value).
[[operations]]
include-name = "GET /notes"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "429"]

[[operations]]
include-name = "GET /agents/jobs"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "422", "429"]

# A stream follows either a new run (input) or a job (job_id), never both or neither; OpenAPI cannot
# tie two query parameters together, so such a request fits the schema and is refused with 422.
[[operations]]
include-name = "GET /agents/run/stream"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "404", "409", "422", "429"]

# An agent run given less time than it needs answers 408 with its partial output: a documented outcome
# of a valid request (timeout_seconds may be any positive number).
[[operations]]
include-name = ["POST /agents/run", "POST /agents/run/async"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "404", "408", "429"]

# DELETE on a job cancels it: the record stays, with status "cancelled" and what the run produced,
# so a client polling the job learns how it ended (it expires after AGENT_JOB_TTL_SECONDS). The
# use-after-free check expects a DELETE to remove the resource, which is not what this one does.
[[operations]]
include-name = ["GET /agents/jobs/{job_id}", "DELETE /agents/jobs/{job_id}"]
checks.use_after_free.enabled = false
`;

/** An `[[operations]]` entry: the statuses positive_data_acceptance expects of the named operations. */
const expectedStatuses = (operations: string[], statuses: string[]): string =>
  operations.length === 0
    ? ''
    : `
[[operations]]
include-name = ${JSON.stringify(operations)}
checks.positive_data_acceptance.expected-statuses = ${JSON.stringify(statuses)}
`;

/**
 * The list routes of resources (`add resource`), e.g. `GET /orders`: their cursor is as opaque as the
 * notes' and answers 400 when the API did not issue it, as documented; a list of a parent's children
 * answers 404 for a parent the caller does not have.
 */
const resourceLists = (operations: string[]): string =>
  expectedStatuses(operations, ['2xx', '400', '401', '404', '429']);

/**
 * Writes of resources with a JSON field (`extra:json`): the field holds any JSON, but PostgreSQL's JSONB
 * cannot hold NUL or half of a surrogate pair in a string, at any depth, so such a value answers 422 (the
 * documented validation error), a limit a JSON schema cannot state at every depth of an arbitrary value.
 */
const jsonFieldWrites = (operations: string[]): string =>
  expectedStatuses(operations, ['2xx', '401', '404', '409', '422', '429']);

/**
 * Schemathesis strips a run's credentials from its probes by the exact header name of the security
 * scheme (`Authorization` for HTTP schemes), so a header given as `authorization` would stay on the probe
 * that is meant to carry none, and an enforced scheme would be reported as ignored.
 */
const canonicalHeader = (name: string): string =>
  name.toLowerCase() === 'authorization' ? 'Authorization' : name;

export interface FuzzResult {
  ok: boolean;
  /** The summary block of the run (or everything, when it failed). */
  report: string;
}

/**
 * Runs Schemathesis with every check against a served app's OpenAPI schema, authenticated with `headers`.
 * Deterministic (a fixed seed); `maxExamples` bounds the cases per operation and phase.
 */
export async function fuzzApi(
  baseUrl: string,
  headers: Record<string, string>,
  maxExamples = 15,
  cursorLists: string[] = [],
  jsonWrites: string[] = [],
): Promise<FuzzResult> {
  const workdir = makeTempDir('schemathesis');
  const config = path.join(workdir, 'schemathesis.toml');
  writeFileSync(config, CONFIG + resourceLists(cursorLists) + jsonFieldWrites(jsonWrites));
  const args = [
    'tool',
    'run',
    '--from',
    SCHEMATHESIS,
    'schemathesis',
    '--config-file',
    config,
    'run',
    `${baseUrl}/openapi.json`,
    '--max-examples',
    String(maxExamples),
    '--seed',
    '20261124',
    '--workers',
    '1',
    '--request-timeout',
    '20',
    '--generation-database',
    'none',
    '--no-color',
    ...Object.entries(headers).flatMap(([name, value]) => ['--header', `${canonicalHeader(name)}: ${value}`]),
  ];
  // Asynchronous: servers of this process (a fake identity provider) must keep answering meanwhile.
  const child = spawn(UV, args, { cwd: workdir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const ok = status === 0;
  const summary = output.slice(output.lastIndexOf('SUMMARY'));
  // Failing cases can carry inputs of many kilobytes: each line is cut short for the report.
  const report = (ok ? summary : output)
    .split('\n')
    .map((line) => (line.length > 300 ? `${line.slice(0, 300)}...` : line))
    .join('\n');
  return { ok, report };
}
