import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  expectUserError,
  makeTempDir,
  readConfig,
  runForge,
  snapshotTree,
  updateConfig,
} from '../helpers.js';
import { declarationTests } from './declaration.js';

const PKG = 'src/demo_svc';

/** A microservice project (no agents), generated with `app`. */
const newProject = (options: Record<string, unknown>) =>
  runForge('app', { appType: 'microservice', ...options })
    .cd(makeTempDir('db'))
    .withArguments(['demo-svc']);

const SQL_FILES = [
  'alembic.ini',
  `${PKG}/settings/database.py`,
  `${PKG}/db/__init__.py`,
  `${PKG}/db/session.py`,
  `${PKG}/db/migrations.py`,
  `${PKG}/models/database.py`,
  `${PKG}/migrations/env.py`,
  `${PKG}/migrations/script.py.mako`,
  `${PKG}/migrations/versions/0001_notes.py`,
  `${PKG}/repositories/notes.py`,
  'tests/db_support.py',
  'tests/test_migrations.py',
];
const NOTES_FILES = [
  `${PKG}/models/note.py`,
  `${PKG}/repositories/base.py`,
  `${PKG}/services/note_service.py`,
  `${PKG}/routes/notes.py`,
  'tests/test_notes.py',
  'tests/test_note_repository.py',
];
const USERS_FILES = [
  `${PKG}/settings/tokens.py`,
  `${PKG}/auth/tokens.py`,
  `${PKG}/auth/passwords.py`,
  `${PKG}/routes/users.py`,
  `${PKG}/users_cli.py`,
  `${PKG}/migrations/versions/0002_users.py`,
  'tests/test_users.py',
];

describe('db generator', () => {
  declarationTests('db');

  it('writes PostgreSQL with migrations, notes and stored users (jwt), and wires them into the core', async () => {
    const result = await newProject({ db: 'postgres', auth: 'jwt' });
    result.assertFile([...SQL_FILES, ...NOTES_FILES, ...USERS_FILES]);
    for (const requirement of ['sqlalchemy[asyncio]', 'asyncpg', 'aiosqlite', 'alembic', 'pwdlib[argon2]']) {
      result.assertFileContent('pyproject.toml', `"${requirement}>=`);
    }
    result.assertFileContent('.env.example', /^DATABASE_URL=$/m);
    result.assertFileContent('.env.example', /^JWT_PRIVATE_KEY=$/m);
    result.assertFileContent(`${PKG}/lifespan.py`, 'database_resource(settings, readiness)');
    result.assertFileContent(
      `${PKG}/settings/__init__.py`,
      /class ForgeSettings\(TokenSettings, JwtSettings, DatabaseSettings, CoreSettings\)/,
    );
    result.assertFileContent(`${PKG}/db/session.py`, /^SessionDep = /m);
    result.assertFileContent(`${PKG}/routes/__init__.py`, 'app.include_router(users.router');
    result.assertFileContent('tests/conftest.py', '"tests.db_support"');
    result.assertFileContent(`${PKG}/models/database.py`, 'class UserRow(Base)');
    expect(readConfig(result.cwd)).to.include({ db: 'postgres', dbGenerated: true });
  });

  it('writes PostgreSQL without users when authentication is not jwt', async () => {
    const result = await newProject({ db: 'postgres', auth: 'apikey' });
    result.assertFile([...SQL_FILES, ...NOTES_FILES]);
    result.assertNoFile(USERS_FILES);
    result.assertNoFileContent(`${PKG}/models/database.py`, 'UserRow');
    result.assertNoFileContent('pyproject.toml', 'pwdlib');
  });

  it('writes MongoDB with the same repository interface and an in-memory implementation', async () => {
    const result = await newProject({ db: 'mongo', auth: 'jwt' });
    result.assertFile([
      ...NOTES_FILES,
      `${PKG}/db/__init__.py`,
      `${PKG}/repositories/notes.py`,
      `${PKG}/repositories/memory.py`,
      'tests/db_support.py',
    ]);
    result.assertNoFile(['alembic.ini', `${PKG}/db/session.py`, ...USERS_FILES]);
    result.assertFileContent('pyproject.toml', '"pymongo>=');
    result.assertNoFileContent('pyproject.toml', /sqlalchemy|motor/);
    result.assertFileContent(`${PKG}/db/__init__.py`, 'AsyncMongoClient');
    result.assertFileContent('.env.example', /^MONGODB_URL=$/m);
    expect(readConfig(result.cwd)).to.include({ db: 'mongo', dbGenerated: true });
  });

  it('writes Redis caching and pub/sub on the core REDIS_URL', async () => {
    const result = await newProject({ db: 'redis', auth: 'none' });
    result.assertFile([
      `${PKG}/db/cache.py`,
      `${PKG}/db/pubsub.py`,
      `${PKG}/routes/cache.py`,
      'tests/test_store.py',
    ]);
    result.assertNoFile([...NOTES_FILES, 'alembic.ini']);
    result.assertFileContent('.env.example', /^CACHE_PREFIX=/m);
    result.assertFileContent(`${PKG}/routes/__init__.py`, 'app.include_router(cache.router');
    result.assertNoFileContent('pyproject.toml', /sqlalchemy|pymongo/);
  });

  it('writes nothing of a database with --db none', async () => {
    const result = await newProject({ db: 'none', auth: 'jwt' });
    result.assertNoFile([`${PKG}/db/__init__.py`, `${PKG}/settings/database.py`, 'tests/db_support.py']);
    result.assertNoFileContent(`${PKG}/lifespan.py`, 'database');
    result.assertNoFileContent('tests/conftest.py', 'db_support');
    expect(readConfig(result.cwd)).to.include({ db: 'none' });
    expect(readConfig(result.cwd)).to.not.have.property('dbGenerated');
  });

  it('adds a database to a project made without one; a second run changes nothing; user files are kept', async () => {
    const first = await newProject({ db: 'none', auth: 'jwt' });
    const main = path.join(first.cwd, `${PKG}/main.py`);
    const edited = `${readFileSync(main, 'utf8')}\n\n# my own change\n`;
    writeFileSync(main, edited);

    const added = await runForge('db', { db: 'postgres' }).cd(first.cwd);
    expect(added.askedQuestions).to.deep.equal([]);
    added.assertFile([...SQL_FILES, ...NOTES_FILES, ...USERS_FILES]);
    added.assertFileContent(`${PKG}/lifespan.py`, 'database_resource');
    added.assertFileContent('.env.example', /^DATABASE_URL=/m);
    expect(readFileSync(main, 'utf8')).to.equal(edited);
    expect(readConfig(first.cwd)).to.include({ db: 'postgres', dbGenerated: true });

    const before = snapshotTree(first.cwd);
    await runForge('db').cd(first.cwd);
    await runForge('db', { db: 'postgres' }).cd(first.cwd);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
  });

  it('generates the stored answer of a project made before the db generator existed', async () => {
    const first = await newProject({ db: 'none', auth: 'none' });
    updateConfig(first.cwd, { db: 'postgres' }); // what the previous version stored, with no code
    const grown = await runForge('db').cd(first.cwd);
    grown.assertFile([...SQL_FILES, ...NOTES_FILES]);
    expect(readConfig(first.cwd)).to.include({ db: 'postgres', dbGenerated: true });
  });

  it('lets a stored answer with no code yet change kind', async () => {
    const first = await newProject({ db: 'none', auth: 'none' });
    updateConfig(first.cwd, { db: 'postgres' });
    const grown = await runForge('db', { db: 'redis' }).cd(first.cwd);
    grown.assertFile(`${PKG}/db/cache.py`);
    grown.assertNoFile(`${PKG}/db/session.py`);
    expect(readConfig(first.cwd)).to.include({ db: 'redis', dbGenerated: true });
  });

  it('re-renders core wiring of a stored answer with no code yet without importing what is missing', async () => {
    const first = await newProject({ db: 'none', auth: 'none' });
    updateConfig(first.cwd, { db: 'postgres' });
    await runForge('api').cd(first.cwd);
    expect(readFileSync(path.join(first.cwd, `${PKG}/lifespan.py`), 'utf8')).to.not.include('database');
  });

  it('adds stored users when jwt auth is added to a PostgreSQL project', async () => {
    const first = await newProject({ db: 'postgres', auth: 'none' });
    const added = await runForge('auth', { auth: 'jwt' }).cd(first.cwd);
    added.assertFile(USERS_FILES);
    added.assertFileContent(`${PKG}/models/database.py`, 'class UserRow(Base)');
  });

  it('asks before replacing a database file the user edited, and keeps the edit when told to skip', async () => {
    const first = await newProject({ db: 'postgres', auth: 'none' });
    const repository = path.join(first.cwd, `${PKG}/repositories/notes.py`);
    const edited = `${readFileSync(repository, 'utf8')}\n# my own query\n`;
    writeFileSync(repository, edited);
    const again = await runForge('db').cd(first.cwd).withAnswers({ action: 'skip' });
    expect(again.askedQuestions.map((question) => question.name)).to.deep.equal(['action']);
    expect(readFileSync(repository, 'utf8')).to.equal(edited);
  });

  describe('agent run history: PostgreSQL with agents', () => {
    const HISTORY_FILES = [
      `${PKG}/agents/jobs/sql_store.py`,
      `${PKG}/migrations/versions/0003_agent_jobs.py`,
      `${PKG}/migrations/versions/0004_agent_job_owners.py`,
      'tests/test_agent_job_records.py',
    ];
    /** A project of the agents type (the default), so the agents generator runs too. */
    const agentsProject = (options: Record<string, unknown>) =>
      runForge('app', { agentSdk: 'none', ...options })
        .cd(makeTempDir('db-agents'))
        .withArguments(['demo-svc']);
    const parentOf = (dir: string, file: string): string =>
      /^down_revision: .* = "(\d+)"$/m.exec(readFileSync(path.join(dir, file), 'utf8'))?.[1] ?? '';

    it('records runs and jobs in SQL when both are generated at once, after the users migration', async () => {
      const result = await agentsProject({ db: 'postgres', auth: 'jwt' });
      result.assertFile([...SQL_FILES, ...USERS_FILES, ...HISTORY_FILES]);
      result.assertFileContent(`${PKG}/models/database.py`, 'class AgentJobRow(Base)');
      result.assertFileContent(`${PKG}/models/database.py`, '__tablename__ = "agent_jobs"');
      result.assertFileContent(`${PKG}/lifespan.py`, 'agent_service_resource(settings, readiness, database)');
      result.assertFileContent(`${PKG}/agents/service.py`, 'SqlJobStore(database.sessions)');
      result.assertNoFileContent(`${PKG}/agents/service.py`, 'RedisJobStore');
      result.assertFileContent(`${PKG}/worker.py`, 'database_resource(settings, readiness)');
      result.assertFileContent('tests/agents_support.py', '"sql",');
      result.assertFileContent('docs/agents.md', '`agent_jobs` table');
      expect(parentOf(result.cwd, `${PKG}/migrations/versions/0002_users.py`)).to.equal('0001');
      expect(parentOf(result.cwd, `${PKG}/migrations/versions/0003_agent_jobs.py`)).to.equal('0002');
      expect(parentOf(result.cwd, `${PKG}/migrations/versions/0004_agent_job_owners.py`)).to.equal('0003');
      expect(readConfig(result.cwd)).to.deep.include({
        migrations: ['users', 'agent_jobs', 'agent_job_owners'],
      });
    });

    it('chains the history migration after the initial one without stored users', async () => {
      const result = await agentsProject({ db: 'postgres', auth: 'apikey' });
      result.assertFile(HISTORY_FILES);
      result.assertNoFile(USERS_FILES);
      expect(parentOf(result.cwd, `${PKG}/migrations/versions/0003_agent_jobs.py`)).to.equal('0001');
      expect(readConfig(result.cwd)).to.deep.include({ migrations: ['agent_jobs', 'agent_job_owners'] });
    });

    it('leaks nothing of it without agents, or without PostgreSQL', async () => {
      const withoutAgents = await newProject({ db: 'postgres', auth: 'jwt' });
      withoutAgents.assertNoFile([...HISTORY_FILES, `${PKG}/agents/service.py`]);
      withoutAgents.assertNoFileContent(`${PKG}/models/database.py`, /AgentJobRow|JSONB/);
      expect(readConfig(withoutAgents.cwd)).to.deep.include({ migrations: ['users'] });
      for (const db of ['none', 'mongo', 'redis']) {
        const result = await agentsProject({ db, auth: 'jwt' });
        result.assertFile(`${PKG}/agents/service.py`);
        result.assertNoFile(HISTORY_FILES);
        result.assertNoFileContent(`${PKG}/agents/service.py`, /SqlJobStore|Database/);
        result.assertFileContent(`${PKG}/agents/service.py`, 'RedisJobStore(redis');
        result.assertNoFileContent(`${PKG}/worker.py`, 'database');
        result.assertFileContent(`${PKG}/lifespan.py`, 'agent_service_resource(settings, readiness)');
        result.assertNoFileContent('tests/agents_support.py', /"sql"|SqlJobStore/);
        expect(readConfig(result.cwd), db).to.not.have.property('migrations');
      }
    });

    it('add db wires it into an agents project; a second run changes nothing; user files are kept', async () => {
      const first = await agentsProject({ db: 'none', auth: 'jwt' });
      const main = path.join(first.cwd, `${PKG}/main.py`);
      const edited = `${readFileSync(main, 'utf8')}\n\n# my own change\n`;
      writeFileSync(main, edited);

      const added = await runForge('db', { db: 'postgres' }).cd(first.cwd);
      expect(added.askedQuestions).to.deep.equal([]);
      added.assertFile([...SQL_FILES, ...USERS_FILES, ...HISTORY_FILES]);
      added.assertFileContent(`${PKG}/lifespan.py`, 'agent_service_resource(settings, readiness, database)');
      added.assertFileContent(`${PKG}/agents/service.py`, 'SqlJobStore(database.sessions)');
      added.assertFileContent(`${PKG}/worker.py`, 'database_resource(settings, readiness)');
      added.assertFileContent(`${PKG}/settings/__init__.py`, 'DatabaseSettings');
      added.assertFileContent(`${PKG}/db/session.py`, /^SessionDep = /m);
      added.assertFileContent(`${PKG}/db/__init__.py`, 'readiness.register("database"');
      added.assertFileContent('.env.example', /^DATABASE_URL=/m);
      expect(readFileSync(main, 'utf8')).to.equal(edited);

      const before = snapshotTree(first.cwd);
      await runForge('db').cd(first.cwd);
      await runForge('db', { db: 'postgres' }).cd(first.cwd);
      await runForge('agents').cd(first.cwd);
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });

    it('add agents to a PostgreSQL project brings the history table and its migration', async () => {
      const first = await newProject({ db: 'postgres', auth: 'jwt' });
      const added = await runForge('agents', { agentSdk: 'none' }).cd(first.cwd);
      added.assertFile(HISTORY_FILES);
      added.assertFileContent(`${PKG}/models/database.py`, 'class AgentJobRow(Base)');
      added.assertFileContent(`${PKG}/models/database.py`, 'class UserRow(Base)');
      expect(parentOf(first.cwd, `${PKG}/migrations/versions/0003_agent_jobs.py`)).to.equal('0002');
    });

    it('keeps an applied migration where it is: users added later chain after the history', async () => {
      const first = await agentsProject({ db: 'postgres', auth: 'none' });
      const history = readFileSync(
        path.join(first.cwd, `${PKG}/migrations/versions/0003_agent_jobs.py`),
        'utf8',
      );
      const added = await runForge('auth', { auth: 'jwt' }).cd(first.cwd);
      added.assertFile(USERS_FILES);
      expect(
        readFileSync(path.join(first.cwd, `${PKG}/migrations/versions/0003_agent_jobs.py`), 'utf8'),
      ).to.equal(history);
      expect(parentOf(first.cwd, `${PKG}/migrations/versions/0002_users.py`)).to.equal('0004');
      // Its own test goes below it to the revision it follows, whatever chains after it now.
      const parent = parentOf(first.cwd, `${PKG}/migrations/versions/0003_agent_jobs.py`);
      added.assertFileContent('tests/test_agent_job_records.py', `PARENT = "${parent}"`);
      expect(readConfig(first.cwd)).to.deep.include({
        migrations: ['agent_jobs', 'agent_job_owners', 'users'],
      });
      const before = snapshotTree(first.cwd);
      await runForge('db').cd(first.cwd);
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });

    it('refuses a broken migration order in .yo-rc.json in one line', async () => {
      const first = await agentsProject({ db: 'postgres', auth: 'none' });
      updateConfig(first.cwd, { migrations: ['agent_jobs', 'agent_jobs'] });
      const before = snapshotTree(first.cwd);
      await expectUserError(
        runForge('db').cd(first.cwd).run(),
        /migrations must list each of users, agent_jobs/,
      );
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });
  });

  describe('bad input writes nothing', () => {
    it('rejects an unknown --db value in one line', async () => {
      const first = await newProject({ db: 'none', auth: 'none' });
      const before = snapshotTree(first.cwd);
      await expectUserError(runForge('db', { db: 'mysql' }).cd(first.cwd).run(), /invalid --db "mysql"/);
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });

    it('refuses to switch a database whose code is generated', async () => {
      const first = await newProject({ db: 'postgres', auth: 'none' });
      const before = snapshotTree(first.cwd);
      await expectUserError(runForge('db', { db: 'mongo' }).cd(first.cwd).run(), /already "postgres"/);
      expect(snapshotTree(first.cwd)).to.deep.equal(before);
    });

    it('refuses to run outside a forge project', async () => {
      const dir = makeTempDir('db-outside');
      await expectUserError(runForge('db', { db: 'postgres' }).cd(dir).run(), /not a fastapi-forge project/);
      expect(snapshotTree(dir)).to.deep.equal({});
    });
  });
});
