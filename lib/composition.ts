import type { ForgeConfig } from './config.js';
import { DEPLOY_GENERATORS, generatedTargets } from './deploy.js';

/**
 * The generators a project's stored config calls for, in the order a run composes them: the core, then the
 * features, the deployment targets (docker first, so docker-compose.yml lists its services in one order
 * whatever the target), the workspace, and the resources. The generator the user ran composes these (see
 * `ForgeGenerator`), so every run renders the whole project and each generator only contributes its own part:
 * none composes another back to have it rendered again. Plugins come after them: see {@link configuredPlugins}.
 */
export function configuredGenerators(config: ForgeConfig): string[] {
  const targets = new Set<string>(generatedTargets(config));
  if (targets.size > 0) targets.add('compose');
  const deployment = Object.entries(DEPLOY_GENERATORS)
    .filter(([target]) => targets.has(target))
    .map(([, generator]) => generator);
  const workspace = config.services.length > 0;
  return [
    'api',
    ...(config.auth !== 'none' ? ['auth'] : []),
    ...(config.agents ? ['agents'] : []),
    ...(config.db !== 'none' && config.dbGenerated ? ['db'] : []),
    ...(config.observability ? ['observability'] : []),
    ...deployment,
    ...(workspace ? ['microservice'] : []),
    ...(workspace && config.gateway ? ['gateway'] : []),
    ...(workspace && config.tier >= 3 ? ['events'] : []),
    ...((config.resources ?? []).length > 0 ? ['resource'] : []),
  ];
}

/** The plugins the project uses (lib/plugins.ts), composed after every generator of this package, in the order added. */
export const configuredPlugins = (config: Pick<ForgeConfig, 'plugins'>): string[] => config.plugins ?? [];
