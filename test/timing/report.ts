import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type Timing, TIMINGS_FILE } from './record.js';

/**
 * `node dist/test/timing/report.js start` empties the timings file and notes the start;
 * `node dist/test/timing/report.js report` prints the slowest 15 test files or scenarios (a file that
 * recorded scenarios is shown as its scenarios) and the wall time since `start`.
 */
const SHOWN = 15;

function report(file: string): void {
  if (!existsSync(file)) {
    console.log(`no test timings in ${file}`);
    return;
  }
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const started = Number(JSON.parse(lines[0] ?? '{}').started ?? Date.now());
  const timings = lines.map((line) => JSON.parse(line) as Timing).filter((timing) => timing.file);
  const withScenarios = new Set(timings.filter((t) => t.scenario).map((t) => t.file));
  const rows = timings
    .filter((timing) => timing.scenario !== undefined || !withScenarios.has(timing.file))
    .map((timing) => ({
      name: timing.scenario ? `${timing.file} › ${timing.scenario}` : timing.file,
      seconds: timing.seconds,
    }))
    .sort((a, b) => b.seconds - a.seconds);
  const files = timings.filter((timing) => timing.scenario === undefined);
  const busy = files.reduce((sum, timing) => sum + timing.seconds, 0);
  const wall = (Date.now() - started) / 1000;
  console.log(`\nSlowest ${Math.min(SHOWN, rows.length)} of ${rows.length} test files or scenarios`);
  console.log('  seconds  test file or scenario');
  for (const row of rows.slice(0, SHOWN)) {
    console.log(`  ${row.seconds.toFixed(0).padStart(7)}  ${row.name}`);
  }
  console.log(
    `  ${files.length} test files: ${busy.toFixed(0)} s of test time in ${wall.toFixed(0)} s of wall time`,
  );
}

const [command] = process.argv.slice(2);
if (command === 'start') writeFileSync(TIMINGS_FILE, `${JSON.stringify({ started: Date.now() })}\n`);
else if (command === 'report') report(TIMINGS_FILE);
else {
  console.error('usage: report.js start|report');
  process.exitCode = 2;
}
