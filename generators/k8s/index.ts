import path from 'node:path';
import { deploymentNeeds, deploymentSettings, dnsName, k8sName } from '../../lib/deploy.js';
import { DeployGenerator, withPartials } from '../../lib/deploy-generator.js';
import { destinationFor, listTemplates, renderTemplate } from '../../lib/templates.js';
import { GATEWAY_DIR, SERVICES_DIR, consumerPort, envPrefix, gatewayPackage } from '../../lib/workspace.js';
import command from './command.js';
import { files } from './files.js';
import { contributionsFromContext } from '../features.js';

/** A process of a workload that serves no API: a Deployment of its own with `python -m <module>`. */
interface K8sProcess {
  name: string;
  module: string;
  purpose: string;
  shutdown: string;
  /** The port of its own small HTTP server (probes, metrics), if it has one: probes and a PDB follow. */
  statusPort?: number;
}

/**
 * One workload of the system: the project's own service, each service of the workspace, the gateway. Its
 * manifests live in deploy/k8s/base/<prefix> and its patches in deploy/k8s/overlays/<env>/<prefix>.
 */
interface K8sUnit {
  prefix: string;
  /** Its Kubernetes name (see k8sName). */
  app: string;
  /** Its image, named as the build names it: image names have no 63-character bound. */
  image: string;
  processes: K8sProcess[];
  migration: boolean;
  context: Record<string, unknown>;
}

/** Manifests of the whole system, rendered once: the kustomizations and the Ingress. */
const SYSTEM_FILES = new Set(['kustomization.yaml', 'ingress.yaml']);
/** Templates rendered once per process of a workload, `worker` replaced with the process's name. */
const PROCESS_FILE = /^worker-/;

/**
 * Kubernetes manifests under deploy/k8s: a kustomize base (Deployment, Service, HPA, PDB, ConfigMap, a
 * Secret template, Ingress, NetworkPolicy, ServiceAccount, plus a worker Deployment when agents run jobs
 * and a migration Job with PostgreSQL) and dev/prod overlays. In a workspace every service and the gateway
 * get the same set in a folder of their own, each tier-3 service a Deployment for its event consumer, and
 * the Ingress routes to the gateway only. Composes `docker` for the image. Every manifest is merged, never
 * overwritten.
 */
export default class K8sGenerator extends DeployGenerator {
  protected override featureContributions = contributionsFromContext;

  protected readonly target = 'k8s';

  static override readonly command = command;

  deploymentWriting(): void {
    const root = this.templateContext();
    const units = this.units(root);
    // The Ingress reaches the one workload no other workload fronts: the gateway, or the app without one.
    const front = units.find((unit) => !unit.context.caller) ?? units[0];
    const system = { ...root, units, ingressBackend: front?.app };
    // Written with the manifests, once every generator of the run has added its settings.
    this.writeSections(files, system);
    for (const template of listTemplates('k8s/manifests')) {
      const relative = destinationFor(template.relative, String(root.packageName));
      const dir = path.posix.dirname(relative);
      const file = path.posix.basename(relative);
      if (SYSTEM_FILES.has(file)) {
        this.mergeYamlFile(relative, renderTemplate(template.source, system), 'k8s');
        continue;
      }
      for (const unit of units) {
        const processes = PROCESS_FILE.test(file) ? unit.processes : [undefined];
        for (const process of processes) {
          const content = renderTemplate(template.source, { ...unit.context, process });
          if (content.trim() === '') continue;
          const name = process ? file.replace(PROCESS_FILE, `${process.name}-`) : file;
          this.mergeYamlFile(path.posix.join(dir, unit.prefix, name), content, 'k8s');
        }
      }
    }
  }

  /** The workloads in a stable order: the project's own service, the services as added, the gateway. */
  private units(root: Record<string, unknown>): K8sUnit[] {
    const config = this.answers;
    const system = String(root.app);
    const gateway = config.gateway && config.services.length > 0;
    const gatewayApp = k8sName(system, 'gateway');
    const own: K8sUnit = {
      prefix: '',
      app: system,
      image: system,
      processes: config.agents
        ? [
            {
              name: 'worker',
              module: `${config.packageName}.worker`,
              purpose: 'Runs the agent jobs the API queues in Redis',
              shutdown: 'Long enough for running jobs to finish or be handed back to the queue.',
            },
          ]
        : [],
      migration: root.migrated === true,
      // Partials bound to this context, which has the image.
      context: withPartials({
        ...root,
        image: system,
        caller: gateway ? gatewayApp : '',
        migration: root.migrated === true,
      }),
    };
    const units = [own];
    for (const [index, name] of config.services.entries()) {
      const dir = `${SERVICES_DIR}/${name}`;
      const consumer = this.fs.exists(this.destinationPath(dir, 'src', name, 'consumer.py'));
      units.push(
        this.memberUnit(root, dir, name, {
          // Services are internal: the gateway calls them, or the project's own service without one.
          caller: gateway ? gatewayApp : system,
          // Each service migrates its own database (its alembic.ini is in its image).
          migration: true,
          processes: consumer
            ? [
                {
                  name: 'consumer',
                  module: `${name}.consumer`,
                  purpose: "Applies the events of the services' streams to the read model",
                  shutdown:
                    'Long enough for the events being handled to be acknowledged or left for a retry.',
                  statusPort: consumerPort(index),
                },
              ]
            : [],
        }),
      );
    }
    if (gateway) {
      // In the cluster the gateway reaches each service through its Service (port 80).
      const upstreams: Record<string, string> = {
        [envPrefix(`${config.packageName}_url`)]: `http://${system}`,
        ...Object.fromEntries(
          config.services.map((name) => [
            envPrefix(`${name}_url`),
            `http://${k8sName(system, dnsName(name))}`,
          ]),
        ),
      };
      units.push(
        this.memberUnit(root, GATEWAY_DIR, gatewayPackage(config.packageName), {
          caller: '',
          processes: [],
          migration: false,
          upstreams,
        }),
      );
    }
    return units;
  }

  /** A member of the workspace: named after its folder, configured from its own .env.example. */
  private memberUnit(
    root: Record<string, unknown>,
    dir: string,
    packageName: string,
    options: {
      caller: string;
      processes: K8sProcess[];
      migration: boolean;
      upstreams?: Record<string, string>;
    },
  ): K8sUnit {
    const folder = dnsName(path.posix.basename(dir));
    const image = `${String(root.app)}-${folder}`;
    const app = k8sName(String(root.app), folder);
    const envPath = this.destinationPath(dir, '.env.example');
    const envExample = this.fs.exists(envPath) ? this.fs.read(envPath) : '';
    // A member keeps its data in the database its own settings name, not the root service's.
    const needs = deploymentNeeds(
      this.deploymentContributions().map((need) =>
        need.rootService ? { ...need, requiredSecrets: [] } : need,
      ),
      packageName,
    );
    const secrets = needs.secretSettings(envExample);
    const settings = deploymentSettings(envExample, secrets).map((setting) => {
      const upstream = options.upstreams?.[setting.name];
      return upstream ? { ...setting, value: upstream } : setting;
    });
    const context = withPartials({
      ...root,
      app,
      image,
      packageName,
      // Members keep their data in the database their own settings name.
      db: 'none',
      agents: false,
      secrets,
      settings,
      secretExample: needs.secretExample,
      caller: options.caller,
      migration: options.migration,
    });
    return {
      prefix: `${folder}/`,
      app,
      image,
      processes: options.processes,
      migration: options.migration,
      context,
    };
  }
}
