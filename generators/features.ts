import { Contributions } from '../lib/contributions.js';
import type { ResourceView } from '../lib/resource-views.js';
import { nextSteps, type SampleRequest } from '../lib/next-steps.js';
import { agentsWiring, JOBS_REQUEST } from './agents/wiring.js';
import { type SharedSettings, coreContribution, ECHO_REQUEST, wiringView } from './api/wiring.js';
import { authenticatedRequest, authWiring } from './auth/wiring.js';
import { DEPLOYMENT, dbWiring, SAMPLE_REQUESTS } from './db/wiring.js';
import { observabilityWiring } from './observability/wiring.js';

/**
 * The core's wiring for a template context, from each built-in feature's pure contribution function. A run
 * collects the same contributions from its generators; this is for modules rendered outside the core's own
 * run, such as the shared package of a workspace, whose context turns features off.
 */
export function wiringFromContext(context: Record<string, unknown>): ReturnType<typeof wiringView> {
  const contributions = contributionsFromContext(context);
  return wiringView(contributions, String(context.packageName), (context.resources ?? []) as ResourceView[]);
}

/** What the built-in features contribute for a template context, as their generators would in a run. */
export function contributionsFromContext(context: Record<string, unknown>): Contributions {
  const contributions = new Contributions();
  const features = context as never;
  contributions.add('api', coreContribution());
  contributions.add('auth', authWiring(features));
  contributions.add('agents', agentsWiring(features));
  contributions.add('db', dbWiring(features));
  contributions.add('observability', observabilityWiring(features));
  return contributions;
}

/**
 * The protected request the final message and the README show: the example route, else the database's
 * example routes, else the agents' jobs; none when nothing is protected yet.
 */
export function sampleRequest(context: {
  examples?: boolean;
  agents?: boolean;
  db: string;
}): SampleRequest | undefined {
  if (context.examples === true) return ECHO_REQUEST;
  return SAMPLE_REQUESTS[context.db] ?? (context.agents === true ? JOBS_REQUEST : undefined);
}

/** The context of the final message of `new`: the project's config and the database its code is wired to. */
export interface FinalMessageContext {
  packageName: string;
  services: string[];
  auth: string;
  db: string;
  users: boolean;
  examples?: boolean;
  agents?: boolean;
}

/** The final message's commands for a project (lib/next-steps.ts), with each feature's part. */
export function finalSteps(context: FinalMessageContext, where: string, installed: boolean): string[] {
  return nextSteps({
    config: context,
    where,
    installed,
    migrated: DEPLOYMENT[context.db]?.migrated === true,
    ...authenticatedRequest(context, sampleRequest(context)),
  });
}

/**
 * The settings of a workspace's shared package, as its generator renders them (lib/workspace-generator.ts,
 * memberContext): no database, agents or users of its own; metrics and tracing when the workspace has them.
 * The root's ForgeSettings extends them, so the root passes its settings to libs' modules as any member does.
 */
export function sharedSettings(context: Record<string, unknown>, libsPackage: string): SharedSettings {
  const libs = {
    ...context,
    db: 'none',
    agents: false,
    users: false,
    agentJobs: false,
    resources: [],
    packageName: libsPackage,
    libs: true,
  };
  const classes = contributionsFromContext(libs)
    .ordered('settings')
    .map((mixin) => mixin.className);
  return { libsPackage, classes };
}
