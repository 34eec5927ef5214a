import { readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'smol-toml';
import { isForgeUserError } from '../../lib/errors.js';
import {
  addEnvVars,
  addPyprojectDependencies,
  addUvExclusions,
  addUvOverrides,
  excludeForgeFromRuff,
  isRequirement,
  parseToml,
  requirementName,
} from '../../lib/merge.js';
import { TEMPLATES_ROOT, readFamilyManifest } from '../../lib/templates.js';

const PYPROJECT = `[project]
name = "demo"
# the user's comment stays
dependencies = [
    "fastapi>=0.120",
    "PyJWT==2.9.0",  # pinned by the user
]

[dependency-groups]
dev = [
    "pytest>=9",
]
`;

describe('pyproject merge', () => {
  it('normalizes requirement names', () => {
    expect(requirementName('PyJWT[crypto]>=2.10')).to.equal('pyjwt');
    expect(requirementName('pydantic_settings')).to.equal('pydantic-settings');
  });

  it('tells requirements of PEP 508’s shape from other text', () => {
    for (const requirement of [
      'httpx>=0.28',
      'pwdlib[argon2]>=0.2',
      'sqlalchemy[asyncio, mypy] >=2.1, <3',
      'opentelemetry-instrumentation-fastapi>=0.66b1',
      'Django (>=5.0)',
      'pytest',
      "uvloop>=0.21; sys_platform != 'win32' and python_version >= '3.12'",
      'demo-libs @ file:///work/libs',
      'zope.interface==7.*',
    ]) {
      expect(isRequirement(requirement), requirement).to.equal(true);
    }
    for (const text of [
      'not a requirement !!',
      '',
      'httpx 0.28',
      'httpx>=',
      '-e .',
      'httpx[>=0.28',
      'httpx>=0.28;',
      '"httpx"',
    ]) {
      expect(isRequirement(text), text).to.equal(false);
    }
  });

  it('finds every requirement of this package’s forge.json files of PEP 508’s shape', () => {
    const families = readdirSync(TEMPLATES_ROOT, { recursive: true, encoding: 'utf8' })
      .filter((file) => path.basename(file) === 'forge.json')
      .map((file) => path.dirname(file));
    expect(families.length).to.be.greaterThan(10);
    for (const family of families) expect(() => readFamilyManifest(family), family).not.to.throw();
  });

  it('adds missing requirements and keeps pins, comments and order', () => {
    const merged = addPyprojectDependencies(PYPROJECT, ['pyjwt[crypto]>=2.10', 'httpx>=0.28']);
    expect(merged).to.include('"PyJWT==2.9.0",  # pinned by the user');
    expect(merged).to.include("# the user's comment stays");
    expect(merged).not.to.include('pyjwt[crypto]');
    const data = parse(merged) as { project: { dependencies: string[] } };
    expect(data.project.dependencies).to.deep.equal(['fastapi>=0.120', 'httpx>=0.28', 'PyJWT==2.9.0']);
  });

  it('gives the same list whatever order requirements are added in; a comment stays above its requirement', () => {
    const listed = `[project]\nname = "x"\ndependencies = [\n    "fastapi>=1",\n    # why\n    "starlette>=1",\n]\n`;
    const one = addPyprojectDependencies(addPyprojectDependencies(listed, ['uvicorn>=1', 'alembic>=1']), [
      'sqlalchemy>=2',
    ]);
    const other = addPyprojectDependencies(addPyprojectDependencies(listed, ['sqlalchemy>=2']), [
      'alembic>=1',
      'uvicorn>=1',
    ]);
    expect(one).to.equal(other);
    expect(one).to.include('    "sqlalchemy>=2",\n    # why\n    "starlette>=1",\n');
    expect((parse(one) as { project: { dependencies: string[] } }).project.dependencies).to.deep.equal([
      'alembic>=1',
      'fastapi>=1',
      'sqlalchemy>=2',
      'starlette>=1',
      'uvicorn>=1',
    ]);
  });

  it('adds to a dependency group', () => {
    const merged = addPyprojectDependencies(PYPROJECT, ['respx>=0.22'], 'dev');
    const data = parse(merged) as { 'dependency-groups': { dev: string[] } };
    expect(data['dependency-groups'].dev).to.deep.equal(['pytest>=9', 'respx>=0.22']);
  });

  it('is idempotent', () => {
    const once = addPyprojectDependencies(PYPROJECT, ['httpx>=0.28']);
    expect(addPyprojectDependencies(once, ['httpx>=0.28'])).to.equal(once);
  });

  it('rewrites an inline array as a multi-line one', () => {
    const merged = addPyprojectDependencies('[project]\nname = "x"\ndependencies = ["a>=1"]\n', ['b>=2']);
    expect((parse(merged) as { project: { dependencies: string[] } }).project.dependencies).to.deep.equal([
      'a>=1',
      'b>=2',
    ]);
  });
});

describe('.env.example merge', () => {
  it('appends only variables the file does not mention, even commented out', () => {
    const content = 'APP_ENV=development\n# REDIS_URL=redis://localhost:6379/0\n';
    const merged = addEnvVars(
      content,
      [
        { name: 'REDIS_URL', value: 'x' },
        { name: 'JWT_SECRET', value: 'change-me', comment: 'HMAC secret' },
      ],
      'authentication',
    );
    expect(merged).to.equal(`${content}\n# --- authentication ---\n# HMAC secret\nJWT_SECRET=change-me\n`);
    expect(addEnvVars(merged, [{ name: 'JWT_SECRET', value: 'y' }])).to.equal(merged);
  });

  it('places each section by its heading, so the file does not depend on the order features were added in', () => {
    const core = 'APP_ENV=development\n';
    const database = [{ name: 'DATABASE_URL', value: '' }];
    const metrics = [{ name: 'METRICS_TOKEN', value: '' }];
    const agents = [{ name: 'AGENT_MODEL', value: 'x' }];
    const one = addEnvVars(
      addEnvVars(addEnvVars(core, database, 'database'), metrics, 'metrics'),
      agents,
      'agents',
    );
    const other = addEnvVars(
      addEnvVars(addEnvVars(core, metrics, 'metrics'), agents, 'agents'),
      database,
      'database',
    );
    expect(one).to.equal(other);
    expect(one).to.equal(
      `${core}\n# --- agents ---\nAGENT_MODEL=x\n\n# --- database ---\nDATABASE_URL=\n\n# --- metrics ---\nMETRICS_TOKEN=\n`,
    );
  });
});

describe('addUvExclusions', () => {
  const WHY = "a dependency's command line is not used";
  const exclusions = (content: string): unknown =>
    (parse(content) as { tool?: { uv?: Record<string, unknown> } }).tool?.uv?.['exclude-dependencies'];
  const streaq = { package: { name: 'streaq' }, dependencies: ['typer'] };

  it('creates the key with the reason as scoped inline tables, once', () => {
    const once = addUvExclusions(PYPROJECT, { streaq: ['typer'] }, WHY);
    expect(exclusions(once)).to.deep.equal([streaq]);
    expect(once).to.include(
      `# ${WHY}\nexclude-dependencies = [\n    { package = { name = "streaq" }, dependencies = ["typer"] },\n]`,
    );
    expect(addUvExclusions(once, { streaq: ['typer'] }, WHY)).to.equal(once);
  });

  it('creates the table before its sub-tables and their comments, so the order features came in does not show', () => {
    const workspace = `${PYPROJECT}\n# The workspace.\n[tool.uv.workspace]\nmembers = ["libs"]\n`;
    const merged = addUvExclusions(workspace, { streaq: ['typer'] }, WHY);
    expect(merged.indexOf('[tool.uv]\n')).to.be.lessThan(merged.indexOf('# The workspace.'));
    expect(exclusions(merged)).to.deep.equal([streaq]);
    expect((parse(merged) as { tool: { uv: { workspace: unknown } } }).tool.uv.workspace).to.deep.equal({
      members: ['libs'],
    });
  });

  it("keeps the user's exclusions, global and scoped, and the user's own of the same package", () => {
    const user = `${PYPROJECT}\n[tool.uv]\nexclude-dependencies = ["numpy", { package = { name = "streaq" }, dependencies = ["crontab"] }]\n`;
    const merged = addUvExclusions(user, { streaq: ['typer'], other: ['six'] }, WHY);
    expect(exclusions(merged)).to.deep.equal([
      'numpy',
      { package: { name: 'streaq' }, dependencies: ['crontab'] },
      { package: { name: 'other' }, dependencies: ['six'] },
    ]);
  });
});

describe('addUvOverrides', () => {
  const WHY = 'a dependency pins an older pydantic';
  const overrides = (content: string): unknown =>
    (parse(content) as { tool?: { uv?: Record<string, unknown> } }).tool?.uv?.['override-dependencies'];

  it('creates the [tool.uv] table with the reason, once', () => {
    const once = addUvOverrides(PYPROJECT, ['pydantic>=2.14'], WHY);
    expect(overrides(once)).to.deep.equal(['pydantic>=2.14']);
    expect(once).to.include(`# ${WHY}`);
    expect(once.startsWith(PYPROJECT.trimEnd())).to.equal(true);
    expect(addUvOverrides(once, ['pydantic>=2.14'], WHY)).to.equal(once);
  });

  it("adds to the user's overrides and keeps the user's pin of the same package", () => {
    const user = `${PYPROJECT}\n[tool.uv]\noverride-dependencies = ["numpy<3", "pydantic==2.14.1"]\n`;
    const merged = addUvOverrides(user, ['pydantic>=2.14', 'anyio>=4.9'], WHY);
    expect(overrides(merged)).to.deep.equal(['numpy<3', 'pydantic==2.14.1', 'anyio>=4.9']);
  });

  it('adds the key to an existing [tool.uv] table without one', () => {
    const user = `${PYPROJECT}\n[tool.uv]\npackage = true\n`;
    const merged = addUvOverrides(user, ['pydantic>=2.14'], WHY);
    expect(overrides(merged)).to.deep.equal(['pydantic>=2.14']);
    expect((parse(merged) as { tool: { uv: { package: boolean } } }).tool.uv.package).to.equal(true);
  });
});

describe('excludeForgeFromRuff', () => {
  const RUFF = '[tool.ruff]\nline-length = 100\n\n[tool.mypy]\nstrict = true\n';

  it('adds .forge to extend-exclude of [tool.ruff], keeping everything else, once', () => {
    const once = excludeForgeFromRuff(RUFF);
    const data = parse(once) as { tool: { ruff: Record<string, unknown>; mypy: unknown } };
    expect(data.tool.ruff).to.deep.equal({ 'line-length': 100, 'extend-exclude': ['.forge'] });
    expect(data.tool.mypy).to.deep.equal({ strict: true });
    expect(excludeForgeFromRuff(once)).to.equal(once);
  });

  it("keeps the user's exclusions, and leaves a project without ruff settings alone", () => {
    const theirs = '[tool.ruff]\nextend-exclude = ["build"]\n';
    expect(parse(excludeForgeFromRuff(theirs))).to.deep.equal({
      tool: { ruff: { 'extend-exclude': ['build', '.forge'] } },
    });
    const excluded = '[tool.ruff]\nexclude = [".forge/"]\n';
    expect(excludeForgeFromRuff(excluded)).to.equal(excluded);
    expect(excludeForgeFromRuff('[project]\nname = "x"\n')).to.equal('[project]\nname = "x"\n');
  });
});

describe('parseToml', () => {
  it('text that is not TOML is one user error naming the file, the line and the column', () => {
    let caught: unknown;
    try {
      parseToml('[project]\nname = "x"\n[[[\n', 'services/orders/pyproject.toml');
    } catch (error) {
      caught = error;
    }
    expect(isForgeUserError(caught)).to.equal(true);
    expect((caught as Error).message).to.equal(
      'services/orders/pyproject.toml:3: not valid TOML (illegal character in key, column 3); fix it and run again',
    );
  });
});
