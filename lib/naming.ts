import { ForgeUserError } from './errors.js';

const PYTHON_KEYWORDS = new Set([
  'False',
  'None',
  'True',
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'case',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'match',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'type',
  'while',
  'with',
  'yield',
  '_',
]);

/** Top-level modules a generated project imports: a package of the same name would shadow them. */
const SHADOWED_MODULES = new Set([
  'abc',
  'aiohttp',
  'alembic',
  'anyio',
  'asyncio',
  'base64',
  'collections',
  'contextlib',
  'dataclasses',
  'datetime',
  'email',
  'enum',
  'fastapi',
  'functools',
  'hashlib',
  'hmac',
  'http',
  'httpx',
  'inspect',
  'io',
  'json',
  'jwt',
  'limits',
  'logging',
  'math',
  'os',
  'pathlib',
  'pydantic',
  'pydantic_settings',
  'pytest',
  're',
  'redis',
  'secrets',
  'select',
  'signal',
  'socket',
  'sqlalchemy',
  'ssl',
  'starlette',
  'string',
  'structlog',
  'sys',
  'tests',
  'test',
  'threading',
  'time',
  'types',
  'typing',
  'typing_extensions',
  'urllib',
  'uuid',
  'uvicorn',
  'warnings',
]);

/**
 * The longest project, package or service name. Generated code spells these names in imports, event
 * types, settings and docstrings, and every line of it must fit the 100 characters ruff enforces: the
 * templates are written so that they do with every name at this bound (a 40-character project with
 * 40-character services is part of the option matrix).
 */
export const MAX_NAME_LENGTH = 40;

/** Why a name has a bound, said with the error. */
const NAME_BOUND_REASON = "generated code spells it in lines that must fit ruff's 100 characters";

/** PEP 508 project names: letters, digits, and `.-_` between them. */
const PROJECT_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** The Python import name for a project name: `My-App.api` -> `my_app_api`. */
export function toPackageName(projectName: string): string {
  return projectName.toLowerCase().replace(/[-_.]+/g, '_');
}

/** `my-app` -> `My App`, for titles in docs and OpenAPI. */
export function toTitle(projectName: string): string {
  return projectName
    .split(/[-_.\s]+/)
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}

/** Checks a project name and returns its Python package name, or throws a one-line user error. */
export function validateProjectName(name: string | undefined): string {
  if (name === undefined || name.trim() === '') {
    throw new ForgeUserError('a project name is required, e.g. `fastapi-forge new my-service`');
  }
  if (!PROJECT_NAME.test(name)) {
    throw new ForgeUserError(
      `invalid project name ${JSON.stringify(name)}: use letters, digits, "-", "_" or ".", starting and ending with a letter or digit`,
    );
  }
  // The package name is never longer, but "a--b" gives "a_b": the project name has its own bound.
  if (name.length > MAX_NAME_LENGTH) {
    throw new ForgeUserError(
      `project name ${JSON.stringify(name)} is longer than ${MAX_NAME_LENGTH} characters (${NAME_BOUND_REASON})`,
    );
  }
  return validatePackageName(toPackageName(name), `project name ${JSON.stringify(name)}`);
}

/** Checks a Python package name (identifier, not a keyword, not shadowing a module the project imports). */
export function validatePackageName(
  packageName: string,
  origin = `package name ${JSON.stringify(packageName)}`,
): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(packageName)) {
    throw new ForgeUserError(
      `${origin} gives the Python package ${JSON.stringify(packageName)}, which is not a valid identifier (it must not start with a digit)`,
    );
  }
  if (packageName.length > MAX_NAME_LENGTH) {
    throw new ForgeUserError(
      `${origin} gives the Python package ${JSON.stringify(packageName)}, longer than ${MAX_NAME_LENGTH} characters (${NAME_BOUND_REASON})`,
    );
  }
  if (PYTHON_KEYWORDS.has(packageName)) {
    throw new ForgeUserError(
      `${origin} gives the Python package ${JSON.stringify(packageName)}, which is a Python keyword`,
    );
  }
  if (SHADOWED_MODULES.has(packageName)) {
    throw new ForgeUserError(
      `${origin} gives the Python package ${JSON.stringify(packageName)}, which would shadow a module the project imports`,
    );
  }
  return packageName;
}
