import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from './templates.js';

/** This package's version, recorded in every project's config as `generatorVersion`. */
export const PACKAGE_VERSION = (
  JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
