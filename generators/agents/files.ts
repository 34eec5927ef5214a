import type { AgentSdk } from '../../lib/config.js';
import type { FileSection } from '../../lib/files.js';

/**
 * Template families of each SDK, after `agents/common`. A `wire/<api>` family holds what every SDK speaking
 * that provider API shares: its settings, its error mapping, and the fake server the tests run the real SDK
 * against over HTTP on loopback. `wire/<api>-tool-loop` tests the SDKs that drive the API with the service's
 * own tool loop, turn by turn.
 */
export const SDK_FAMILIES: Record<AgentSdk, string[]> = {
  anthropic: ['wire/server', 'wire/anthropic', 'wire/anthropic-tool-loop', 'anthropic'],
  openai: ['wire/server', 'wire/openai', 'wire/openai-tool-loop', 'openai'],
  langgraph: ['wire/server', 'wire/anthropic', 'wire/anthropic-tool-loop', 'langgraph'],
  crewai: ['wire/server', 'wire/openai', 'crewai'],
  'claude-agent-sdk': ['wire/server', 'wire/anthropic', 'claude-agent-sdk'],
  none: ['none'],
};

/** The agents' files: the catalog of agents is the user's; the SDK's families follow `agents/common`. */
export const files: readonly FileSection[] = [
  { families: ['agents/common'], once: ['src/<package>/agents/catalog.py'], manifest: 'agents' },
  {
    families: (context) => SDK_FAMILIES[context.agentSdk as AgentSdk].map((family) => `agents/${family}`),
    manifest: (context) => `agents (${String(context.agentSdk)})`,
  },
];
