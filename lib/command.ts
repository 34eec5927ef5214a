import { type ChoiceKey, choiceSpec, defaultHelpOf } from './config.js';
import { DEPLOYMENT_FLAGS, type DeploymentFlag } from './deploy.js';

/** A positional argument of a generator, e.g. the service name of `microservice`. */
export interface CommandArgument {
  name: string;
  description: string;
  /** The CLI takes the command without it (`new --spec` reads the project name from the spec). */
  optional?: boolean;
}

/**
 * An option of a generator's own: `value` takes `--<flag> <placeholder>`, `list` takes it repeatedly,
 * `switch` is a boolean whose `--no-<flag>` is offered when `negation` says what it does.
 */
export interface CommandOption {
  flag: string;
  type: 'value' | 'list' | 'switch';
  description: string;
  placeholder?: string;
  negation?: string;
}

/**
 * Everything a user can learn about a generator without running it: its description, arguments and
 * options. Each generator declares it once, in `generators/<name>/command.ts`; its constructor registers the
 * options with Yeoman from it, and the CLI builds `add <name>`, `list` and `--help` from it.
 */
export interface GeneratorCommand {
  name: string;
  description: string;
  args?: readonly CommandArgument[];
  /** Config choices the generator takes as `--<flag>` options and asks for when unanswered (lib/config.ts). */
  choices?: readonly ChoiceKey[];
  /** Deployment settings the generator takes as `--<flag>` options (lib/deploy.ts). */
  deployment?: readonly DeploymentFlag[];
  options?: readonly CommandOption[];
}

/**
 * Every option a generator takes, spelled out as help shows it: the config choices with their values and
 * default, the deployment settings, then the generator's own options.
 */
export function commandOptions(command: GeneratorCommand): CommandOption[] {
  const choices = (command.choices ?? []).map((key): CommandOption => {
    const spec = choiceSpec(key);
    const values = spec.choices.map((choice) => choice.value).join('|');
    return {
      flag: spec.flag,
      type: 'value',
      placeholder: spec.type === 'number' ? 'n' : 'value',
      description: `${spec.description}: ${values} (default: ${defaultHelpOf(spec)})`,
    };
  });
  const deployment = (command.deployment ?? []).map((flag): CommandOption => ({
    flag,
    type: 'value',
    placeholder: 'value',
    description: DEPLOYMENT_FLAGS[flag].description,
  }));
  return [...choices, ...deployment, ...(command.options ?? [])];
}

/** Options every generator takes besides its own, for the CLI and Yeoman alike. */
export const YES_OPTION: CommandOption = {
  flag: 'yes',
  type: 'switch',
  description: 'take the default for every unanswered question; never wait for input (default: false)',
};

/** Run options Yeoman's environment acts on; declared so that `yo fastapi-forge:<g> --help` lists them too. */
export const DRY_RUN_OPTION: CommandOption = {
  flag: 'dry-run',
  type: 'switch',
  description: 'show what would change, write nothing (default: false)',
};

export const FORCE_OPTION: CommandOption = {
  flag: 'force',
  type: 'switch',
  description: 'overwrite files you have edited, without asking (default: false)',
};

export const RESTORE_OPTION: CommandOption = {
  flag: 'restore',
  type: 'list',
  placeholder: 'path',
  description:
    'write again a generated file you deleted (kept deleted otherwise, recorded in .yo-resolve); repeatable',
};

/** A repeatable option's values as the CLI passes them, or as `yo` parses them (one value or several). */
export const asList = (value: unknown): string[] =>
  value === undefined || value === null || value === ''
    ? []
    : Array.isArray(value)
      ? value.map(String)
      : [String(value)];
