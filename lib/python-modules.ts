import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseToml, requirementName } from './merge.js';
import { workspaceMembers } from './tooling.js';

/**
 * The top-level modules of every distribution a generated project installs, whatever its features (as
 * uv.lock files of generated projects list them): `name` alone when its only module is the name with "_"
 * for "-", `name:module,module` otherwise. A service package of one of these names would shadow it.
 * scripts/python-modules.py lists them from an installed project, and an e2e test checks this table
 * against the installed projects of the option matrix.
 */
const DISTRIBUTIONS: ReadonlyMap<string, readonly string[]> = new Map(
  (
    'aiofiles aiohappyeyeballs aiohttp aiohttp-retry aiokafka aiosignal aiosqlite alembic ' +
    'annotated-doc annotated-types anthropic anyio appdirs argon2-cffi:argon2 ' +
    'argon2-cffi-bindings:_argon2_cffi_bindings asgi-lifespan asgiref ast-serialize async-timeout ' +
    'asyncpg attrs:attr,attrs bcrypt beartype build cel-python:celpy certifi cffi:_cffi_backend,cffi ' +
    'charset-normalizer chromadb:chromadb,chromadb_rust_bindings,schemas claude-agent-sdk click ' +
    'coredis crewai crewai-cli crewai-core crontab cryptography deprecated deprecation distro ' +
    'dnspython:dns docstring-parser durationpy et-xmlfile exceptiongroup fastapi ' +
    'fastapi-standalone-docs filelock flatbuffers frozenlist fsspec google-re2:re2 ' +
    'googleapis-common-protos:google greenlet grpcio:grpc h11 h2 hf-xet hpack httpcore httpcore2 ' +
    'httptools httpx httpx-sse httpx-ws httpx2 huggingface-hub hyperframe idna importlib-resources ' +
    'iniconfig instructor ' +
    'jinja2 jiter jmespath json-repair json5 jsonpatch:jsonpatch,jsonpatch_cli jsonpointer ' +
    'jsonref:jsonref,proxytypes jsonschema jsonschema-specifications kubernetes lance-namespace ' +
    'lance-namespace-urllib3-client lancedb langchain-anthropic langchain-core langchain-protocol ' +
    'langgraph langgraph-checkpoint:langgraph langgraph-prebuilt:langgraph langgraph-sdk langsmith ' +
    'lark librt limits linkify-it-py:linkify_it mako mangum markdown-it-py:markdown_it markupsafe ' +
    'mcp mcp-types mdit-py-plugins mdurl mmh3 multidict mypy:mypy,mypyc mypy-extensions numpy ' +
    'oauthlib onnxruntime openai openpyxl opentelemetry-api:opentelemetry ' +
    'opentelemetry-exporter-http-transport:opentelemetry ' +
    'opentelemetry-exporter-otlp-common:opentelemetry ' +
    'opentelemetry-exporter-otlp-proto-common:opentelemetry ' +
    'opentelemetry-exporter-otlp-proto-grpc:opentelemetry ' +
    'opentelemetry-exporter-otlp-proto-http:opentelemetry ' +
    'opentelemetry-instrumentation:opentelemetry ' +
    'opentelemetry-instrumentation-aiohttp-client:opentelemetry ' +
    'opentelemetry-instrumentation-asgi:opentelemetry ' +
    'opentelemetry-instrumentation-fastapi:opentelemetry ' +
    'opentelemetry-instrumentation-httpx:opentelemetry ' +
    'opentelemetry-instrumentation-redis:opentelemetry ' +
    'opentelemetry-instrumentation-sqlalchemy:opentelemetry opentelemetry-proto:opentelemetry ' +
    'opentelemetry-sdk:opentelemetry opentelemetry-semantic-conventions:opentelemetry ' +
    'opentelemetry-util-http:opentelemetry orjson ormsgpack overrides packaging pathspec ' +
    'pdfminer-six:pdfminer pdfplumber pendulum pillow:PIL platformdirs pluggy portalocker ' +
    'prometheus-client propcache protobuf:google pwdlib pyarrow pybase64 pycparser pydantic ' +
    'pydantic-core pydantic-settings pygments pyjwt:jwt pymongo:bson,gridfs,pymongo ' +
    'pypdfium2:pypdfium2,pypdfium2_cfg,pypdfium2_cli,pypdfium2_raw pypika pyproject-hooks ' +
    'pytest:_pytest,py,pytest pytest-asyncio python-dateutil:dateutil python-dotenv:dotenv ' +
    'python-multipart:multipart,python_multipart pyyaml:_yaml,yaml qdrant-client redis referencing ' +
    'regex requests requests-oauthlib requests-toolbelt rich rpds-py:rpds ruff shellingham sniffio sqlalchemy ' +
    'sse-starlette starlette streaq structlog tenacity textual tokenizers tomli tomli-w tqdm ' +
    'truststore typer typing-extensions typing-inspection tzdata urllib3 uuid-utils uv uvicorn ' +
    'uvloop watchfiles websocket-client:websocket websockets wrapt wsproto xxhash yarl zstandard '
  )
    .split(' ')
    .filter((entry) => entry !== '')
    .map((entry) => {
      const [name = '', modules] = entry.split(':');
      return [name, modules === undefined ? [name.replace(/-/g, '_')] : modules.split(',')];
    }),
);

/** The top-level modules of the distribution `name` (as a requirement or uv.lock names it). */
export function distributionModules(name: string): readonly string[] {
  const normalized = requirementName(name);
  return DISTRIBUTIONS.get(normalized) ?? [normalized.replace(/-/g, '_')];
}

/** The requirements of a pyproject.toml: `[project] dependencies` and every dependency group. */
function requirementsIn(file: string): string[] {
  if (!existsSync(file)) return [];
  const data = parseToml(readFileSync(file, 'utf8'), file) as {
    project?: { dependencies?: unknown[] };
    'dependency-groups'?: Record<string, unknown[]>;
  };
  const lists = [data.project?.dependencies, ...Object.values(data['dependency-groups'] ?? {})];
  return lists.flatMap((list) => (list ?? []).filter((item): item is string => typeof item === 'string'));
}

/**
 * The top-level modules the project at `root` installs: those of every package its uv.lock resolved (the
 * whole dependency closure of its features). The closure of a requirement not locked yet (one its
 * pyproject files name, or one of `adding`, that this run adds) is not known: a project with one, or with
 * no lock yet (`new`, or `adding` undefined), could install any of the distributions above, and all are taken.
 */
export function installedModules(root: string, adding?: readonly string[]): Set<string> {
  const everything = (): Set<string> => new Set([...DISTRIBUTIONS.keys()].flatMap(distributionModules));
  const lock = path.join(root, 'uv.lock');
  if (adding === undefined || !existsSync(lock)) return everything();
  const locked = parseToml(readFileSync(lock, 'utf8'), 'uv.lock') as {
    package?: { name?: unknown; source?: Record<string, unknown> }[];
  };
  const names = new Set(
    (locked.package ?? [])
      // The project's own packages (its members) are its code, not dependencies.
      .filter((entry) => typeof entry.name === 'string' && !entry.source?.editable && !entry.source?.virtual)
      .map((entry) => requirementName(String(entry.name))),
  );
  const pyproject = path.join(root, 'pyproject.toml');
  const members = existsSync(pyproject) ? workspaceMembers(readFileSync(pyproject, 'utf8')) : [];
  const required = [
    ...['.', ...members].flatMap((member) => requirementsIn(path.join(root, member, 'pyproject.toml'))),
    ...adding,
  ].map(requirementName);
  if (required.some((name) => !names.has(name))) return everything();
  return new Set([...names].flatMap(distributionModules));
}
