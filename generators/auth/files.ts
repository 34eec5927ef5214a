import type { FileSection } from '../../lib/files.js';
import { libsPackage } from '../../lib/workspace.js';

const authenticated = (context: Record<string, unknown>): boolean => context.auth !== 'none';

/**
 * Authentication's files, in the order their variables are listed in .env.example. The agents' SSE stream
 * and WebSocket, behind authentication, take single-use tickets from browsers.
 */
export const files: readonly FileSection[] = [
  {
    families: ['auth/tickets'],
    when: (context) => authenticated(context) && context.agents === true,
    manifest: 'browser tickets',
  },
  { families: ['auth/common'], when: authenticated, manifest: 'authentication' },
  {
    families: (context) => [`auth/${String(context.auth)}`],
    when: authenticated,
    manifest: (context) => `authentication (${String(context.auth)})`,
  },
  {
    // The authentication dependency of routes (it takes browser tickets where agents are served). The root
    // of a workspace builds it from the shared package's, as every member does.
    families: ['auth/dependency'],
    when: authenticated,
    context: (context) => ({
      ...context,
      sharedLibs: context.sharedCore === true ? libsPackage(String(context.packageName)) : undefined,
    }),
  },
];
