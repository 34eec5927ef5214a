/**
 * The public API of generator-fastapi-forge, what `import ... from 'generator-fastapi-forge'` gives a plugin
 * package (docs/contributions.md): the base generator, whose `contribute` adds routers, settings,
 * dependencies and the rest to the project's wiring, and the types of a contribution and a declaration.
 */
export { ForgeGenerator, type ForgeOptions, type WriteMode } from './base-generator.js';
export type {
  Contribution,
  Dependency,
  ImportSection,
  LifespanResource,
  Middleware,
  PyImport,
  Router,
  WiringModule,
} from './contributions.js';
export type { CommandArgument, CommandOption, GeneratorCommand } from './command.js';
export type { ForgeConfig } from './config.js';
export { ForgeUserError } from './errors.js';
