import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import type { Command } from 'commander';
import { createEnv } from 'yeoman-environment';
import { COMMANDS, buildProgram } from '../../cli/main.js';
import {
  type GeneratorCommand,
  DRY_RUN_OPTION,
  FORCE_OPTION,
  YES_OPTION,
  commandOptions,
} from '../../lib/command.js';
import { generatorPath, makeTempDir } from '../helpers.js';

const oneLine = (text: string): string => text.replace(/\s+/g, ' ');

/** The CLI's command for a generator: `add <name>`, or `new` for app. */
function cliCommand(name: string): Command {
  const program = buildProgram();
  const verb = program.commands.find((command) => command.name() === (name === 'app' ? 'new' : 'add'));
  const command = name === 'app' ? verb : verb?.commands.find((sub) => sub.name() === name);
  expect(command, `the CLI has no command for ${name}`).to.not.equal(undefined);
  return command as Command;
}

/** The lines `fastapi-forge list` prints. */
function cliList(): string[] {
  const printed: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => printed.push(chunk) > 0) as typeof write;
  try {
    buildProgram().parse(['node', 'fastapi-forge', 'list']);
  } finally {
    process.stdout.write = write;
  }
  return printed.join('').split('\n');
}

interface YeomanView {
  help: string;
  description: string;
  options: Record<string, { description?: string }>;
  args: { name: string; description?: string }[];
}

/** What `yo fastapi-forge:<name> --help` prints, and the description, options and arguments Yeoman holds. */
async function yeomanView(name: string): Promise<YeomanView> {
  const env = createEnv({ cwd: makeTempDir('declaration') });
  env.register(generatorPath(name), { namespace: `fastapi-forge:${name}` });
  const generator = (await env.create(`fastapi-forge:${name}`, {
    generatorArgs: [],
    generatorOptions: { help: true },
  } as never)) as unknown as {
    help(): string;
    description: string;
    _options: YeomanView['options'];
    _arguments: YeomanView['args'];
  };
  return {
    help: oneLine(generator.help()),
    description: generator.description,
    options: generator._options,
    args: generator._arguments,
  };
}

/**
 * The generator's declaration (generators/<name>/command.ts) is what its class registers with Yeoman and what
 * the CLI builds its command from: each description, argument and option appears, word for word, in both.
 */
export function declarationTests(name: string): void {
  describe(`the declaration of ${name}`, function () {
    this.timeout(60_000);
    let command: GeneratorCommand;

    before(async () => {
      const found = COMMANDS.find((candidate) => candidate.name === name);
      expect(found, `${name} is not in the CLI's list of generators`).to.not.equal(undefined);
      command = found as GeneratorCommand;
      const generatorClass = (
        (await import(pathToFileURL(generatorPath(name)).href)) as { default: { command?: GeneratorCommand } }
      ).default;
      expect(generatorClass.command, 'the class carries the declaration the CLI lists').to.equal(command);
    });

    it('is what `fastapi-forge` offers, in --help and in `list`', () => {
      // `list` shows app as `new`, the verb that runs it.
      expect(cliList()).to.include(`${(name === 'app' ? 'new' : name).padEnd(14)}${command.description}`);
      const cli = cliCommand(name);
      const help = oneLine(cli.helpInformation());
      // `new`, the CLI's verb for app, says what app says.
      expect(cli.description()).to.equal(command.description);
      expect(cli.registeredArguments.map((arg) => [arg.name(), arg.description])).to.deep.equal(
        (command.args ?? []).map((arg) => [arg.name, arg.description]),
      );
      for (const arg of command.args ?? [])
        expect(help).to.include(`${arg.name} ${oneLine(arg.description)}`);
      const described = (flag: string) => cli.options.find((option) => option.long === flag)?.description;
      for (const option of commandOptions(command)) {
        expect(described(`--${option.flag}`), option.flag).to.equal(option.description);
        const value = option.type === 'switch' ? '' : ` <${option.placeholder ?? 'value'}>`;
        expect(help).to.include(`--${option.flag}${value} ${oneLine(option.description)}`);
        if (option.negation) expect(described(`--no-${option.flag}`)).to.equal(option.negation);
      }
    });

    it('is what `yo fastapi-forge:<name>` registers and shows in --help', async () => {
      const yeoman = await yeomanView(name);
      expect(yeoman.description).to.equal(command.description);
      expect(yeoman.help).to.include(oneLine(command.description));
      expect(yeoman.args.map((arg) => [arg.name, arg.description])).to.deep.equal(
        (command.args ?? []).map((arg) => [arg.name, arg.description]),
      );
      // The run options the CLI offers every generator are in yo's help too (Yeoman acts on --dry-run and --force).
      for (const option of [...commandOptions(command), YES_OPTION, DRY_RUN_OPTION, FORCE_OPTION]) {
        const negation = option.negation ? `; --no-${option.flag}: ${option.negation}` : '';
        expect(yeoman.options[option.flag]?.description, option.flag).to.equal(
          `${option.description}${negation}`,
        );
        expect(yeoman.help).to.include(`--${option.flag} # ${oneLine(option.description)}`);
      }
    });
  });
}
