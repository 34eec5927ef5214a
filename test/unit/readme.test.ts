import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Command } from 'commander';
import { CHOICES, defaultHelpOf } from '../../lib/config.js';
import { COMMANDS, buildProgram } from '../../cli/main.js';
import { PACKAGE_ROOT } from '../../lib/templates.js';

const README = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');

/** The rows of the first markdown table after `heading`, as arrays of cells. */
function tableAfter(heading: string): string[][] {
  const start = README.indexOf(heading);
  expect(start, `README.md has a "${heading}" section`).to.be.greaterThan(-1);
  const lines = README.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    // Cells are split at pipes that are not escaped (`\|` inside a cell is a literal pipe).
    const cells = line.split(/(?<!\\)\|/).slice(1, -1);
    rows.push(cells.map((cell) => cell.replace(/\\\|/g, '|').trim()));
  }
  return rows;
}

const flagsOf = (command: Command): string[] =>
  command.options.map((option) => option.long ?? '').filter((flag) => flag && flag !== '--help');

const codeSpans = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? '');

describe('README matches the CLI', () => {
  const program = buildProgram();

  it('lists every option of `fastapi-forge new`, with the values and defaults of --help', () => {
    const rows = tableAfter('### `fastapi-forge new <name>`');
    const documented = rows.map((row) => codeSpans(row[0] ?? '')[0]);
    const create = program.commands.find((command) => command.name() === 'new');
    expect(create).to.not.equal(undefined);
    expect([...documented].sort()).to.deep.equal(flagsOf(create as Command).sort());
    for (const spec of CHOICES) {
      const row = rows.find((cells) => codeSpans(cells[0] ?? '')[0] === `--${spec.flag}`) ?? [];
      expect(codeSpans(row[1] ?? ''), `values of --${spec.flag}`).to.deep.equal(
        spec.choices.map((choice) => String(choice.value)),
      );
      // A default that depends on the tier is stated as --help states it.
      expect((row[2] ?? '').replace(/`/g, ''), `default of --${spec.flag}`).to.equal(defaultHelpOf(spec));
    }
  });

  it('uses only commands and flags the CLI has in its shell examples (quick start, growth path)', () => {
    const blocks = [...README.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```/gm)].map((match) => match[1] ?? '');
    const commands = blocks
      .flatMap((block) => block.split('\n'))
      .map((line) => line.replace(/\s#.*$/, '').trim())
      .filter((line) => line.startsWith('fastapi-forge '));
    expect(commands.length, 'fastapi-forge commands in the README').to.be.greaterThan(10);
    const add = program.commands.find((command) => command.name() === 'add') as Command;
    for (const line of commands) {
      const [, verb = '', target = ''] = line.split(/\s+/);
      const command =
        verb === 'add'
          ? add.commands.find((sub) => sub.name() === target)
          : program.commands.find((sub) => sub.name() === verb);
      expect(command, `\`${line}\`: no such command`).to.not.equal(undefined);
      const flags = flagsOf(command as Command);
      for (const flag of line.match(/--[a-z][a-z0-9-]*/g) ?? []) {
        expect(flags, `\`${line}\`: ${flag}`).to.include(flag);
      }
    }
  });

  it('lists every sub-generator `add` offers, with its declared description and its options', () => {
    const rows = tableAfter('### `fastapi-forge add <generator>`');
    const add = program.commands.find((command) => command.name() === 'add') as Command;
    const available = COMMANDS.filter((command) => command.name !== 'app').map((command) => command.name);
    expect(rows.map((row) => codeSpans(row[0] ?? '')[0]).sort()).to.deep.equal([...available].sort());
    for (const row of rows) {
      const name = codeSpans(row[0] ?? '')[0] ?? '';
      const sub = add.commands.find((command) => command.name() === name) as Command;
      // What it does begins with the description its declaration gives `list` and `--help`.
      const declared = COMMANDS.find((command) => command.name === name)?.description ?? '';
      expect((row[1] ?? '').replaceAll('`', ''), `description of add ${name}`).to.match(
        new RegExp(`^${declared.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(;|$)`),
      );
      const common = ['--path', '--yes', '--skip-install', '--dry-run', '--force', '--restore'];
      const own = flagsOf(sub).filter((flag) => !common.includes(flag));
      const documented = codeSpans(row[2] ?? '')
        .filter((span) => span.startsWith('--'))
        .map((span) => span.split(' ')[0]);
      expect(documented.sort(), `options of add ${name}`).to.deep.equal(own.sort());
    }
  });
});
