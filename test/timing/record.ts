import { appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../lib/templates.js';

/**
 * Where the time of a test run goes: every test file, and the scenarios some files hold (a matrix
 * combination), appended as JSON lines to TIMINGS_FILE once `report.js start` has created it. Appends of
 * one short line are atomic, so the workers of a parallel run share the file.
 */
export const TIMINGS_FILE = path.join(PACKAGE_ROOT, '.test-timings.jsonl');

export interface Timing {
  /** The test file, relative to the package root, as its TypeScript source. */
  file: string;
  /** A scenario of that file; absent for the file as a whole. */
  scenario?: string;
  seconds: number;
}

export function recordTiming(timing: Timing): void {
  if (existsSync(TIMINGS_FILE)) appendFileSync(TIMINGS_FILE, `${JSON.stringify(timing)}\n`);
}
