import { readFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, runForge } from '../helpers.js';

/** A tier-1 project without agents (fast), generated with `app`. */
export const tier1 = () =>
  runForge('app', { appType: 'microservice' }).cd(makeTempDir('tier2')).withArguments(['demo-svc']);

export const read = (dir: string, file: string): string => readFileSync(path.join(dir, file), 'utf8');

export const SERVICE_FILES = (name: string): string[] =>
  [
    'pyproject.toml',
    'README.md',
    '.env.example',
    'Dockerfile',
    `src/${name}/main.py`,
    `src/${name}/config.py`,
    `src/${name}/settings.py`,
    `src/${name}/tables.py`,
    `src/${name}/models.py`,
    `src/${name}/events.py`,
    `src/${name}/routes/items.py`,
    `src/${name}/migrations/env.py`,
    'tests/conftest.py',
    'tests/auth_support.py',
    'tests/test_items.py',
    'tests/test_events.py',
    'tests/test_preflight.py',
  ].map((file) => `services/${name}/${file}`);

export const LIBS_FILES = [
  'logging',
  'errors',
  'settings/__init__',
  'client',
  'resilience',
  'events',
  'db/session',
  'preflight',
  'service/__init__',
  'service/lifespan',
  'service/testing',
  'member/testing',
].map((module) => `libs/src/demo_svc_libs/${module}.py`);
