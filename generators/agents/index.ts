import { ForgeGenerator, type ForgeOptions } from '../../lib/base-generator.js';
import { type AgentSdk, choiceSpec, parseChoice } from '../../lib/config.js';

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

/**
 * Agent orchestration: a registry of named agents with typed tools, one provider interface chosen with
 * `--agent-sdk`, REST/SSE/WebSocket endpoints and durable background jobs (Redis + a worker process, or
 * in process without Redis). The core's composition modules wire it in when `api` re-renders them.
 */
export default class AgentsGenerator extends ForgeGenerator {
  constructor(args: string[], options: ForgeOptions) {
    super(args, options);
    this.description = 'Agent orchestration endpoints over REST, SSE and WebSocket, with background jobs';
    this.choiceOptions(['agentSdk']);
  }

  initializing(): void {
    this.requireConfiguredProject();
    const flag = choiceSpec('agentSdk').flag;
    const raw = this.options[flag];
    if (!this.forge.agents && raw !== undefined && raw !== null && raw !== '') {
      // The stored SDK is only a default until agents are generated: the first `add agents` may pick another.
      this.config.set('agentSdk', parseChoice('agentSdk', raw, `--${flag}`) as AgentSdk);
      return;
    }
    this.applyChoiceOptions(['agentSdk']);
  }

  async prompting(): Promise<void> {
    await this.askMissing(['agentSdk']);
  }

  async configuring(): Promise<void> {
    this.config.set('agents', true);
    // The core's wiring modules (settings, lifespan, routes, dependencies, test fixtures) include agents.
    await this.composeForge('api');
    // With a database, runs and jobs are recorded there: its models and migrations gain a table.
    if (this.answers.dbGenerated) await this.composeForge('db');
  }

  writing(): void {
    this.renderFamily('agents/common', new Set([`src/${this.answers.packageName}/agents/catalog.py`]));
    for (const family of SDK_FAMILIES[this.answers.agentSdk]) this.renderFamily(`agents/${family}`);
  }

  postWriting(): void {
    const sdk = this.answers.agentSdk;
    this.mergeFamilyManifest('agents/common', 'agents');
    for (const family of SDK_FAMILIES[sdk]) this.mergeFamilyManifest(`agents/${family}`, `agents (${sdk})`);
  }
}
