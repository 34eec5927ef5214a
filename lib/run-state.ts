/**
 * State the generators of one run share. A plugin package's generator loads this package's modules from its
 * install (`dist/lib/`), while the CLI runs from its bundle (`dist/cli.cjs`): one run then holds two copies of
 * each module, and a module-level variable would be two variables. The state is kept where both copies find
 * it: on the environment the run's generators share, or for the process on `globalThis`, under a
 * `Symbol.for` key, which names the same symbol in every copy.
 */

type Holder = { [key: symbol]: Map<string, unknown> | undefined };

const RUN_STATE = Symbol.for('generator-fastapi-forge.run-state');

function stateIn<T>(holder: Holder, name: string, create: () => T): T {
  const states = holder[RUN_STATE] ?? new Map<string, unknown>();
  holder[RUN_STATE] = states;
  if (!states.has(name)) states.set(name, create());
  return states.get(name) as T;
}

/** The state `name` of the run whose generators share `env`, made by `create` the first time. */
export const runState = <T>(env: object, name: string, create: () => T): T =>
  stateIn(env as Holder, name, create);

/** The state `name` of this process, made by `create` the first time. */
export const processState = <T>(name: string, create: () => T): T =>
  stateIn(globalThis as unknown as Holder, name, create);
