/**
 * Generated projects under test: generating them through the CLI, installing and checking them (ruff, mypy,
 * pytest), their databases, and running their own Python.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { CLI, makeTempDir } from '../helpers.js';
import { UV, run } from './processes.js';

/**
 * `new NAME --yes --skip-install FLAGS` through the real CLI, in a fresh directory: the project's directory,
 * the one `new` ran in, and what `new` printed (its final message included).
 */
export function newProject(name: string, flags: string[]): { parent: string; dir: string; output: string } {
  const parent = makeTempDir('e2e');
  const { output } = run(process.execPath, [CLI, 'new', name, '--yes', '--skip-install', ...flags], parent);
  return { parent, dir: path.join(parent, name), output };
}

/** Generates a project through the real CLI and returns its directory. */
export const generateProject = (name: string, flags: string[]): string => newProject(name, flags).dir;

/**
 * The checks every generated project must pass on the day it is generated. Returns pytest's summary line.
 * Nothing may be skipped: the services the tests need run on this machine and are passed in `env`.
 * `toolEnv` applies to every step, e.g. a virtualenv and mypy cache shared by many projects
 * ({@link sharedToolEnv}).
 */
export function verifyProject(
  dir: string,
  env: Record<string, string> = {},
  toolEnv: Record<string, string> = {},
): string {
  run(UV, ['sync', '--quiet'], dir, toolEnv);
  return verifyMember(dir, env, toolEnv);
}

/**
 * Installs a generated project (every member of a workspace) for a test that serves it or runs its tools.
 * The lint, type and test checks of each shape of project run once, in the option matrix (every value of
 * every option), the README commands and the growth tests; files that exercise behaviour only install.
 */
export function installProject(dir: string, toolEnv: Record<string, string> = {}): void {
  const all = workspaceMembers(dir).length > 0 ? ['--all-packages'] : [];
  run(UV, ['sync', '--quiet', ...all], dir, toolEnv);
}

/** The members of a uv workspace (a tier-2 project), from its root pyproject.toml; none for a single project. */
export function workspaceMembers(dir: string): string[] {
  const pyproject = parseToml(readFileSync(path.join(dir, 'pyproject.toml'), 'utf8')) as {
    tool?: { uv?: { workspace?: { members?: string[] } } };
  };
  return pyproject.tool?.uv?.workspace?.members ?? [];
}

/**
 * ruff, mypy --strict and pytest of an installed project, or of one workspace member (installed with
 * `uv sync --all-packages`). Returns pytest's summary line.
 */
export function verifyMember(
  dir: string,
  env: Record<string, string>,
  toolEnv: Record<string, string> = {},
): string {
  run(UV, ['run', '--no-sync', 'ruff', 'check', '.'], dir, toolEnv);
  run(UV, ['run', '--no-sync', 'ruff', 'format', '--check', '.'], dir, toolEnv);
  run(UV, ['run', '--no-sync', 'mypy', '--strict', 'src', 'tests'], dir, toolEnv);
  const pytest = run(UV, ['run', '--no-sync', 'pytest', '-q', '-p', 'no:cacheprovider'], dir, {
    ...toolEnv,
    ...env,
  });
  const summary = pytest.output.trim().split('\n').pop() ?? '';
  if (!/\d+ passed/.test(summary) || /failed|error|skipped/.test(summary)) {
    throw new Error(`unexpected pytest summary in ${dir}: ${summary}`);
  }
  return summary;
}

/**
 * One virtualenv for many projects verified one after the other: `uv sync` makes the virtualenv exactly
 * the project's locked dependencies (it removes what another project left). (The mypy cache is shared by
 * every project of a test process: see processes.ts.) A project's server must be stopped before the
 * next project is synced into the same virtualenv.
 */
export function sharedToolEnv(): Record<string, string> {
  return { UV_PROJECT_ENVIRONMENT: path.join(makeTempDir('shared-venv'), 'venv') };
}

/** The local PostgreSQL server, as a libpq URL (`TEST_POSTGRES_URL` overrides it). */
export const POSTGRES_SERVER = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** A fresh database on the local PostgreSQL server, as an asyncpg URL; `drop` removes it. */
export function freshDatabase(prefix: string): { name: string; url: string; drop: () => void } {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const server = new URL(POSTGRES_SERVER);
  run('psql', [POSTGRES_SERVER, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`], process.cwd());
  return {
    name,
    url: `postgresql+asyncpg://${server.username}@${server.host}/${name}`,
    drop: () =>
      run('psql', [POSTGRES_SERVER, '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], process.cwd()),
  };
}

/**
 * `alembic upgrade head` of a workspace service on its database, as its one-shot compose service or its
 * migration Job runs it: a service never changes the schema of a real database itself. Returns its output.
 */
export function migrateService(project: string, service: string, databaseUrl: string): string {
  return run(
    UV,
    ['run', '--no-sync', 'alembic', 'upgrade', 'head'],
    path.join(project, 'services', service),
    {
      [`${service.toUpperCase()}_DATABASE_URL`]: databaseUrl,
    },
  ).output;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  attributes: Record<string, string>;
}

/** Parses /metrics with prometheus_client's parser, in the project's own virtualenv. */
export const PARSE_METRICS = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
print(json.dumps([
    {"name": s.name, "labels": s.labels, "value": s.value}
    for family in text_string_to_metric_families(sys.stdin.read())
    for s in family.samples
]))
`;

/** Decodes OTLP/HTTP protobuf bodies (files named on the command line) with opentelemetry-proto. */
export const DECODE_OTLP = `
import json, sys
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
spans = []
for name in sys.argv[1:]:
    with open(name, "rb") as f:
        request = ExportTraceServiceRequest.FromString(f.read())
    for resource_spans in request.resource_spans:
        service = next((a.value.string_value for a in resource_spans.resource.attributes
                        if a.key == "service.name"), "")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append({
                    "service": service,
                    "traceId": span.trace_id.hex(),
                    "spanId": span.span_id.hex(),
                    "parentSpanId": span.parent_span_id.hex(),
                    "name": span.name,
                    "kind": Span.SpanKind.Name(span.kind),
                    "attributes": {a.key: str(getattr(a.value, a.value.WhichOneof("value")))
                                   for a in span.attributes if a.value.WhichOneof("value")},
                })
print(json.dumps(spans))
`;

/** Runs `script` with the project's Python (its virtualenv) and parses what it prints as JSON. */
export function projectPython<T>(dir: string, script: string, args: string[] = [], input?: string): T {
  const result = spawnSync(UV, ['run', '--no-sync', 'python', '-c', script, ...args], {
    cwd: dir,
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/**
 * The top-level modules of every distribution installed in the project's environment that is not one of
 * its own packages, by distribution, as scripts/python-modules.py reads them from each RECORD (or
 * top_level.txt).
 */
export function installedDistributionModules(
  dir: string,
  toolEnv: Record<string, string> = {},
): Record<string, string[]> {
  const script = path.join(PACKAGE_ROOT, 'scripts/python-modules.py');
  const { output: sitePackages } = run(
    UV,
    ['run', '--no-sync', 'python', '-c', "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
    dir,
    toolEnv,
  );
  const { output } = run(UV, ['run', '--no-sync', 'python', script, sitePackages.trim()], dir, toolEnv);
  const installed = JSON.parse(output) as Record<string, string[]>;
  const lock = parseToml(readFileSync(path.join(dir, 'uv.lock'), 'utf8')) as {
    package?: { name: string; source?: Record<string, unknown> }[];
  };
  const own = new Set(
    (lock.package ?? [])
      .filter((entry) => entry.source?.editable !== undefined || entry.source?.virtual !== undefined)
      .map((entry) => entry.name.toLowerCase().replace(/[-_.]+/g, '-')),
  );
  return Object.fromEntries(Object.entries(installed).filter(([name]) => !own.has(name)));
}
