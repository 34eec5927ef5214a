import type { Contribution } from '../../lib/contributions.js';
import type { SampleRequest } from '../../lib/next-steps.js';

/** The agents' protected request that the final message and the README show without a better one. */
export const JOBS_REQUEST: SampleRequest = { method: 'GET', path: '/agents/jobs' };

/**
 * The agents' part of the core's wiring: the agent service in the lifespan (recording runs and jobs in the
 * SQL database when there is one), its settings and deployed-provider check, its router and OpenAPI edits,
 * its dependency and its test fixtures.
 */
export function agentsWiring(context: {
  agents: boolean;
  agentJobs: boolean;
  agentSdk?: string;
}): Contribution {
  if (!context.agents) return {};
  return {
    imports: {
      lifespan: [{ module: '<package>.agents', names: ['AgentService', 'agent_service_resource'] }],
      dependencies: [{ module: '<package>.agents', names: ['AgentService'] }],
      routes: [{ module: '<package>.openapi', names: ['edit_openapi'] }],
    },
    lifespan: [
      {
        order: 60,
        state: [{ name: 'agents', type: 'AgentService' }],
        setup: `agents = await resources.enter_async_context(
    agent_service_resource(settings, readiness${context.agentJobs ? ', database' : ''})
)`,
      },
    ],
    settings: [{ className: 'AgentSettings', module: '<package>.settings.agents', order: 10 }],
    deployedChecks: [{ method: 'deployed_provider_problems', order: 20 }],
    redactionProbes: [
      {
        order: 20,
        imports: [
          { module: 'contextlib', section: 'stdlib' },
          { module: 'asgi_lifespan', names: ['LifespanManager'] },
          { module: 'tests.agents_support', names: ['websocket'] },
        ],
        code: `async with LifespanManager(create_app(settings_factory())) as manager:
    for headers in (FORGED, auth_headers):
        with contextlib.suppress(Exception):  # refused, or answered with an error event
            async with websocket(manager.app, headers) as session:
                await session.send_text(f'{{"type": "run", "input": "{TOKEN}", "bad": 1}}')
                await session.receive_text()`,
      },
    ],
    deployed: [
      {
        order: 20,
        services: [
          { setting: 'agent_provider', value: '"local"', comment: 'the local agent needs no API key' },
        ],
        providerKey: context.agentSdk !== undefined && context.agentSdk !== 'none',
      },
    ],
    routers: [
      { order: 20, module: 'agents', protectedRouter: 'agents.router' },
      {
        order: 20,
        stage: 'finally',
        include: 'edit_openapi(app, agents.document_timeout_maximum(settings.agent_max_timeout_seconds))',
      },
    ],
    dependencies: [
      {
        order: 60,
        provider: `# The agents, their runner and the job queue.
get_agent_service = FromState[AgentService]("agents")`,
        alias: 'AgentServiceDep = Annotated[AgentService, Depends(get_agent_service)]',
      },
    ],
    testPlugins: [
      {
        module: 'tests.agents_support',
        comment: 'Agent fixtures: agent_settings, the fake provider server, SSE and WebSocket helpers, ...',
        order: 20,
      },
    ],
    testSettings: [{ fixture: 'agent_settings', order: 20 }],
  };
}
