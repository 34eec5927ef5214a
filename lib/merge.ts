import { TomlError, parse } from 'smol-toml';
import { ForgeUserError } from './errors.js';
import type { EnvVar } from './templates.js';

/**
 * Parses the TOML text of `file` (a project's pyproject.toml unless named): text that is not TOML, which the
 * user wrote, stops the run in one line naming the file and the line, before anything is written.
 */
export function parseToml(content: string, file = 'pyproject.toml'): Record<string, unknown> {
  try {
    return parse(content);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = error.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '');
    throw new ForgeUserError(
      `${file}:${error.line}: not valid TOML (${reason}, column ${error.column}); fix it and run again`,
    );
  }
}

/** PEP 508's parts of a requirement: a name, extras, version specifiers or a URL, and environment markers. */
const NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?';
const VERSION = '(?:~=|===|==|!=|<=|>=|<|>)\\s*[A-Za-z0-9_.*+!-]+';
const VERSIONS = `${VERSION}(?:\\s*,\\s*${VERSION})*`;
const REQUIREMENT = new RegExp(
  [
    `^\\s*${NAME}`,
    `(?:\\s*\\[\\s*(?:${NAME}(?:\\s*,\\s*${NAME})*)?\\s*\\])?`,
    `(?:\\s*\\(\\s*${VERSIONS}\\s*\\)|\\s*${VERSIONS}|\\s*@\\s*\\S+(?=\\s+;|\\s*$))?`,
    `(?:\\s*;\\s*[\\w\\s.'"<>=!~(),*-]*\\w[\\w\\s.'"<>=!~(),*-]*)?\\s*$`,
  ].join(''),
);

/**
 * True for a requirement of PEP 508's shape (`httpx>=0.28`, `pwdlib[argon2]>=0.2; python_version >= '3.12'`,
 * `pkg @ https://...`). The shape only: uv judges the versions and markers when it locks.
 */
export const isRequirement = (text: string): boolean => REQUIREMENT.test(text);

/** PEP 503 normalized name of a requirement string: `PyJWT[crypto]>=2` -> `pyjwt`. */
export function requirementName(requirement: string): string {
  const match = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(requirement);
  if (!match?.[1]) throw new Error(`not a requirement: ${requirement}`);
  return match[1].toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * Adds requirements to `[project] dependencies` (or to a `[dependency-groups]` group) of a pyproject.toml.
 * Requirements whose package is already listed are left alone, whatever version the user pinned.
 * The text is edited in place, so comments, order and formatting of everything else are kept. Each one
 * goes before the first listed requirement whose name sorts after its own, so a project grows the same
 * list whatever order its features were added in.
 */
export function addPyprojectDependencies(content: string, requirements: string[], group?: string): string {
  const data = parseToml(content) as {
    project?: { dependencies?: string[] };
    'dependency-groups'?: Record<string, unknown[]>;
  };
  const existing = group ? (data['dependency-groups']?.[group] ?? []) : (data.project?.dependencies ?? []);
  const present = new Set(existing.filter((item) => typeof item === 'string').map(requirementName));
  const missing = requirements.filter((requirement) => !present.has(requirementName(requirement)));
  if (missing.length === 0) return content;

  const section = group ? 'dependency-groups' : 'project';
  const key = group ?? 'dependencies';
  const lines = content.split('\n');
  let inSection = false;
  let start = -1;
  for (const [index, line] of lines.entries()) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) inSection = header[1]?.trim() === section;
    else if (inSection && new RegExp(`^\\s*"?${escapeRegExp(key)}"?\\s*=\\s*\\[`).test(line)) {
      start = index;
      break;
    }
  }
  if (start === -1) {
    throw new Error(`pyproject.toml has no multi-line "${key} = [" array in [${section}]`);
  }
  const startLine = lines[start] ?? '';
  if (/\]\s*(#.*)?$/.test(startLine)) {
    // `dependencies = []` or a one-line array: rewrite it as a multi-line array.
    const items = existing.filter((item) => typeof item === 'string');
    for (const requirement of missing) items.splice(sortedPlace(items, requirement), 0, requirement);
    const indent = /^\s*/.exec(startLine)?.[0] ?? '';
    const head = startLine.slice(0, startLine.indexOf('[') + 1);
    lines.splice(
      start,
      1,
      head,
      ...items.map((item) => `${indent}    ${JSON.stringify(item)},`),
      `${indent}]`,
    );
    return lines.join('\n');
  }
  let end = start + 1;
  while (end < lines.length && !/^\s*\]/.test(lines[end] ?? '')) end++;
  const itemIndent = /^\s*/.exec(lines[start + 1] ?? '')?.[0] || '    ';
  for (const requirement of missing) {
    // The array's lines that hold one requirement each; comments and anything else are skipped.
    const listed = lines
      .slice(start + 1, end)
      .map((line, offset) => ({
        line: start + 1 + offset,
        item: /^\s*"([^"]+)",?\s*(#.*)?$/.exec(line)?.[1],
      }))
      .filter((entry): entry is { line: number; item: string } => entry.item !== undefined);
    const place = sortedPlace(
      listed.map((entry) => entry.item),
      requirement,
    );
    let at = listed[place]?.line ?? end;
    // A comment above a requirement stays with it.
    while (at > start + 1 && /^\s*#/.test(lines[at - 1] ?? '')) at--;
    lines.splice(at, 0, `${itemIndent}${JSON.stringify(requirement)},`);
    end++;
  }
  return lines.join('\n');
}

/** Where `requirement` goes in `listed`: before the first requirement whose name sorts after its own. */
function sortedPlace(listed: string[], requirement: string): number {
  const name = requirementName(requirement);
  const after = listed.findIndex((item) => requirementName(item) > name);
  return after === -1 ? listed.length : after;
}

/**
 * Adds requirements to `[tool.uv] override-dependencies` of a pyproject.toml, so uv resolves these versions
 * whatever a dependency declares (for a dependency whose pins lag behind the project's). A package already
 * overridden is left alone; the table is created, with `reason` as a comment, when it does not exist.
 */
export function addUvOverrides(content: string, requirements: string[], reason: string): string {
  const data = parseToml(content) as { tool?: { uv?: { 'override-dependencies'?: unknown[] } } };
  const existing = (data.tool?.uv?.['override-dependencies'] ?? []).filter(
    (item): item is string => typeof item === 'string',
  );
  const present = new Set(existing.map(requirementName));
  const missing = requirements.filter((requirement) => !present.has(requirementName(requirement)));
  if (missing.length === 0) return content;
  return insertTomlArrayItems(content, 'tool.uv', 'override-dependencies', existing, missing, {
    key: reason,
  });
}

/**
 * Adds entries to `[tool.uv] exclude-dependencies` of a pyproject.toml: `exclusions` maps a package to the
 * dependencies of it that are never installed (a dependency the project does not use, which would
 * otherwise be imported at every start by a library that uses it when present). A package with an
 * exclusion already is left alone; the key is created, with `reason` as a comment, when it does not exist.
 */
export function addUvExclusions(
  content: string,
  exclusions: Record<string, string[]>,
  reason: string,
): string {
  const data = parseToml(content) as { tool?: { uv?: { 'exclude-dependencies'?: unknown[] } } };
  const existing = data.tool?.uv?.['exclude-dependencies'] ?? [];
  const excluded = new Set(existing.map(excludedPackage));
  const missing = Object.entries(exclusions)
    .filter(([name]) => !excluded.has(name))
    .map(([name, dependencies]) => ({ package: { name }, dependencies }));
  if (missing.length === 0) return content;
  return insertTomlArrayItems(content, 'tool.uv', 'exclude-dependencies', existing, missing, { key: reason });
}

/** The package an `exclude-dependencies` entry is scoped to (`{ package = { name = ... } }`); none when global. */
function excludedPackage(entry: unknown): string | undefined {
  const target = (entry as { package?: { name?: unknown } } | null)?.package;
  return typeof target?.name === 'string' ? target.name : undefined;
}

/** A value as a TOML inline value: strings quoted, arrays and inline tables on one line. */
function tomlInline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(tomlInline).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const fields = Object.entries(value).map(([key, field]) => `${key} = ${tomlInline(field)}`);
    return `{ ${fields.join(', ')} }`;
  }
  return JSON.stringify(value);
}

/**
 * Adds `.forge` to `[tool.ruff] extend-exclude`, unless ruff's settings there already leave it out: the
 * bases `upgrade` keeps in `.forge/base/` are renderings, not the project's code, and `ruff check .` (the
 * Makefile, CI) must not lint them. Projects made before the setting was in the template get it this way.
 */
export function excludeForgeFromRuff(content: string): string {
  const data = parseToml(content) as { tool?: { ruff?: Record<string, unknown> } };
  const ruff = data.tool?.ruff;
  if (ruff === undefined) return content;
  const listed = (key: string): string[] =>
    Array.isArray(ruff[key]) ? ruff[key].filter((item): item is string => typeof item === 'string') : [];
  if ([...listed('exclude'), ...listed('extend-exclude')].some((item) => /^(\.\/)?\.forge\/?$/.test(item))) {
    return content;
  }
  return insertTomlArrayItems(content, 'tool.ruff', 'extend-exclude', listed('extend-exclude'), ['.forge'], {
    key: 'fastapi-forge keeps the last rendering of generated files there (`fastapi-forge upgrade` merges with it).',
  });
}

/**
 * Adds `missing` to the array `key` of the table `[table]`, as one item per line, editing the text in place
 * (comments and everything else are kept). The table and the key are created when they do not exist, with
 * the given comments above them; a one-line array is rewritten as a multi-line one, `existing` first.
 */
export function insertTomlArrayItems(
  content: string,
  table: string,
  key: string,
  existing: unknown[],
  missing: unknown[],
  comments: { table?: string; key?: string } = {},
): string {
  const items = (list: unknown[]): string[] => list.map((item) => `    ${tomlInline(item)},`);
  const keyLines = [...(comments.key ? [`# ${comments.key}`] : []), `${key} = [`, ...items(missing), ']'];
  const lines = content.split('\n');
  const headerPattern = new RegExp(`^\\s*\\[${escapeRegExp(table)}\\]\\s*(#.*)?$`);
  const header = lines.findIndex((line) => headerPattern.test(line));
  if (header === -1) {
    const block = [...(comments.table ? [`# ${comments.table}`] : []), `[${table}]`, ...keyLines];
    // Before its first sub-table (`[tool.uv]` before `[tool.uv.workspace]`, with the comment above that one),
    // so the file is the same whether the table or its sub-tables came first; else at the end.
    const subTable = new RegExp(`^\\s*\\[${escapeRegExp(table)}\\.`);
    let at = lines.findIndex((line) => subTable.test(line));
    if (at !== -1) {
      while (at > 0 && /^\s*#/.test(lines[at - 1] ?? '')) at--;
      lines.splice(at, 0, ...block, '');
      return lines.join('\n');
    }
    const base = content.endsWith('\n') ? content : `${content}\n`;
    return `${base}\n${block.join('\n')}\n`;
  }
  const keyPattern = new RegExp(`^\\s*"?${escapeRegExp(key)}"?\\s*=\\s*\\[`);
  let found = -1;
  for (let index = header + 1; index < lines.length && !/^\s*\[/.test(lines[index] ?? ''); index++) {
    if (keyPattern.test(lines[index] ?? '')) found = index;
  }
  if (found === -1) {
    lines.splice(header + 1, 0, ...keyLines);
  } else if (/\]\s*(#.*)?$/.test(lines[found] ?? '')) {
    lines.splice(found, 1, `${key} = [`, ...items([...existing, ...missing]), ']');
  } else {
    let end = found + 1;
    while (end < lines.length && !/^\s*\]/.test(lines[end] ?? '')) end++;
    lines.splice(end, 0, ...items(missing));
  }
  return lines.join('\n');
}

/**
 * Adds env vars that `.env.example` does not mention yet (set or commented out), keeping everything else.
 * A block with a heading goes before the first section whose heading sorts after its own, so a project
 * grows the same file whatever order its features were added in; a block without one goes at the end.
 */
export function addEnvVars(content: string, vars: EnvVar[], heading?: string): string {
  const missing = vars.filter(
    (variable) => !new RegExp(`^#?\\s*${escapeRegExp(variable.name)}=`, 'm').test(content),
  );
  if (missing.length === 0) return content;
  const block: string[] = [];
  if (heading) block.push(`# --- ${heading} ---`);
  for (const variable of missing) {
    if (variable.comment) block.push(`# ${variable.comment}`);
    block.push(`${variable.name}=${variable.value}`);
  }
  if (heading) {
    const lines = content.split('\n');
    const next = lines.findIndex((line) => {
      const other = /^# --- (.+) ---$/.exec(line)?.[1];
      return other !== undefined && other > heading;
    });
    if (next !== -1) {
      lines.splice(next, 0, ...block, '');
      return lines.join('\n');
    }
  }
  const base = content.endsWith('\n') || content === '' ? content : `${content}\n`;
  const separator = base === '' ? '' : '\n';
  return `${base}${separator}${block.join('\n')}\n`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The variables of an `.env.example` text, each with the comment line right above it. */
export function envVarsOf(content: string): EnvVar[] {
  const vars: EnvVar[] = [];
  let comment: string | undefined;
  for (const line of content.split(/\r?\n/)) {
    const variable = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (variable?.[1] !== undefined) {
      vars.push({ name: variable[1], value: variable[2] ?? '', ...(comment ? { comment } : {}) });
      comment = undefined;
    } else comment = /^#\s?(.*)$/.exec(line)?.[1];
  }
  return vars;
}

/** The requirements of a pyproject.toml text: `[project] dependencies` and each dependency group. */
export function requirementsOf(content: string): { group?: string; requirements: string[] }[] {
  const data = parseToml(content) as {
    project?: { dependencies?: unknown[] };
    'dependency-groups'?: Record<string, unknown[]>;
  };
  const strings = (items: unknown[] | undefined): string[] =>
    (items ?? []).filter((item): item is string => typeof item === 'string');
  return [
    { requirements: strings(data.project?.dependencies) },
    ...Object.entries(data['dependency-groups'] ?? {}).map(([group, items]) => ({
      group,
      requirements: strings(items),
    })),
  ];
}
