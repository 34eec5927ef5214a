import { dnsName } from './deploy.js';
import { parseToml } from './merge.js';

/** The Python of `.python-version`: the lowest the project supports, and the one CI and mypy check. */
export const DEV_PYTHON = '3.11';

/** A Docker image CI builds: its tag and its Dockerfile, from the project root (the build context). */
export interface CiImage {
  name: string;
  dockerfile: string;
}

/** See `ciServices` in lib/contributions.ts. */
export interface CiService {
  name: string;
  /** How the README names it: `PostgreSQL`. */
  label: string;
  order: number;
  service: string;
  env: string;
}

/** The service containers the features contributed, each once (by name), smaller `order` first. */
export function ciServiceList(ciServices: readonly CiService[]): CiService[] {
  return [...new Map(ciServices.map((service) => [service.name, service])).values()].sort(
    (a, b) => a.order - b.order,
  );
}

/** What the tooling templates (CI workflow, pre-commit, Makefile) are rendered from. */
export interface ToolingContext {
  workspace: boolean;
  /** Directories with a pyproject.toml of their own, checked one by one: `.` first. */
  members: string[];
  images: CiImage[];
  /** Service containers CI starts for the tests besides Redis: the features' (`ciServices`), one per name. */
  ciServices: CiService[];
  /** Members with Alembic migrations of their own (an alembic.ini): `make migrate` applies each. */
  migrated: string[];
  migrations: boolean;
  devPython: string;
}

/** The `[tool.uv.workspace]` members of a root pyproject.toml, in their order there; none outside a workspace. */
export function workspaceMembers(pyproject: string): string[] {
  const parsed = parseToml(pyproject) as { tool?: { uv?: { workspace?: { members?: unknown } } } };
  const members = parsed.tool?.uv?.workspace?.members;
  return Array.isArray(members) ? members.map(String) : [];
}

/**
 * The tooling of a project: its workspace members (from the root pyproject.toml) and the service containers
 * its features' tests need. `hasFile` tells which Dockerfiles exist, so CI builds exactly the images the
 * project has.
 */
export function toolingContext(
  projectName: string,
  workspaceMembers: string[],
  ciServices: readonly CiService[],
  hasFile: (relative: string) => boolean,
): ToolingContext {
  const workspace = workspaceMembers.length > 0;
  const members = ['.', ...workspaceMembers];
  const app = dnsName(projectName);
  const images = members
    .map((member) => ({
      name: member === '.' ? app : `${app}-${member.split('/').pop() ?? member}`,
      dockerfile: member === '.' ? 'Dockerfile' : `${member}/Dockerfile`,
    }))
    .filter((image) => hasFile(image.dockerfile));
  const migrated = members.filter((member) =>
    hasFile(member === '.' ? 'alembic.ini' : `${member}/alembic.ini`),
  );
  return {
    workspace,
    members,
    images,
    ciServices: ciServiceList(ciServices),
    migrated,
    migrations: migrated.length > 0,
    devPython: DEV_PYTHON,
  };
}
