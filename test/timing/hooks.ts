import path from 'node:path';
import { format } from 'node:util';
import type { Context } from 'mocha';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { recordTiming } from './record.js';

/**
 * Root hooks (mocha --require). In parallel mode they run once per test file, in the worker that runs it:
 * the time between them is that file's wall time, which goes to the timing table.
 *
 * What a file logs is held until the file ends, then printed under its name: the reporter prints a file's
 * results only once it has finished, and two files run at once, so lines printed as they come would
 * interleave with no sign of which file they belong to.
 */
let started = 0;
let held: string[] = [];
const log = console.log;

/** The test file a root hook runs for, relative to the package root, as its TypeScript source. */
function testFile(context: Context): string {
  const file = context.test?.parent?.suites.find((suite) => suite.file)?.file ?? 'unknown';
  return path.relative(path.join(PACKAGE_ROOT, 'dist'), file).replace(/\.js$/, '.ts');
}

export const mochaHooks = {
  beforeAll(): void {
    started = Date.now();
    held = [];
    console.log = (...args: unknown[]) => void held.push(format(...args));
  },
  afterAll(this: Context): void {
    const seconds = (Date.now() - started) / 1000;
    console.log = log;
    const file = testFile(this);
    recordTiming({ file, seconds });
    if (held.length > 0) log(`\n── ${file}: its output (${seconds.toFixed(0)} s) ──\n${held.join('\n')}`);
  },
};
