import { ForgeGenerator } from '../../lib/base-generator.js';
import { type AgentSdk, choiceSpec, parseChoice } from '../../lib/config.js';
import command from './command.js';
import { files } from './files.js';
import { agentsWiring } from './wiring.js';

export { SDK_FAMILIES } from './files.js';

/**
 * Agent orchestration: a registry of named agents with typed tools, one provider interface chosen with
 * `--agent-sdk`, REST/SSE/WebSocket endpoints and durable background jobs (Redis + a worker process, or
 * in process without Redis). The core's composition modules wire it in when `api` re-renders them.
 */
export default class AgentsGenerator extends ForgeGenerator {
  static override readonly command = command;

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

  configuring(): void {
    // Stored, so every run composes this generator (lib/composition.ts); with a database, runs and jobs are
    // recorded there, and the database's generator adds their table.
    this.config.set('agents', true);
  }

  contributing(): void {
    this.contribute(agentsWiring(this.templateContext() as Parameters<typeof agentsWiring>[0]));
    // Its part of the README's generated section, from its own partials.
    this.contribute({
      readme: [
        { slot: 'sections', order: 20, text: this.renderPartial('agents/readme/section.md.ejs') },
        { slot: 'make-run', order: 10, text: this.renderPartial('agents/readme/make.md.ejs') },
      ],
    });
  }

  writing(): void {
    // Its tests of scoped and expiring credentials run where the authentication's credentials carry them.
    const credentials = this.contributions.latest('credentials') ?? {};
    this.writeSections(files, { ...this.templateContext(), credentials });
  }

  postWriting(): void {
    this.mergeSectionManifests(files);
  }
}
