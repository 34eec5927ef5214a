import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { makeTempDir, runForge, snapshotTree } from '../helpers.js';

type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const readYaml = (dir: string, file: string): Yaml =>
  parse(readFileSync(path.join(dir, file), 'utf8')) as Yaml;

/** The kinds every API workload has in its folder of the base (no Ingress: only the gateway is exposed). */
const API_KINDS =
  'ConfigMap Deployment HorizontalPodAutoscaler NetworkPolicy PodDisruptionBudget Secret Service ServiceAccount';

/** Who may connect to a workload, as its NetworkPolicy says. */
function allowedFrom(dir: string, file: string): unknown[] {
  const policy = readYaml(dir, file);
  expect(policy.spec.policyTypes).to.deep.equal(['Ingress']);
  return ((policy.spec.ingress ?? []) as { from: unknown[] }[]).flatMap((rule) => rule.from);
}

const fromGateway = {
  podSelector: {
    matchLabels: { 'app.kubernetes.io/name': 'demo-svc-gateway', 'app.kubernetes.io/component': 'api' },
  },
};
const fromIngressController = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
};

describe('k8s generator in a workspace', () => {
  let dir: string;

  before(async function () {
    this.timeout(300_000);
    // A tier-1 project with k8s, then grown: two services, then the gateway, as a user would.
    const first = await runForge('app', { appType: 'microservice', deploy: 'k8s', db: 'postgres' })
      .cd(makeTempDir('k8s-ws'))
      .withArguments(['demo-svc']);
    dir = first.cwd;
    await runForge('microservice').cd(dir).withArguments(['orders']);
    await runForge('microservice').cd(dir).withArguments(['billing']);
    await runForge('gateway').cd(dir);
  });

  it('gives every service and the gateway its own manifests and overlay patches', () => {
    for (const member of ['orders', 'billing', 'gateway']) {
      const folder = path.join(dir, 'deploy/k8s/base', member);
      const kinds = readdirSync(folder).map((file) => readYaml(folder, file).kind as string);
      // A service migrates its own database with a Job; the gateway has none.
      const service = member !== 'gateway';
      const expected = service ? `${API_KINDS} Job`.split(' ').sort().join(' ') : API_KINDS;
      expect(kinds.sort().join(' '), member).to.equal(expected);
      const deployment = readYaml(dir, `deploy/k8s/base/${member}/deployment.yaml`);
      expect(deployment.metadata.name).to.equal(`demo-svc-${member}`);
      const container = deployment.spec.template.spec.containers[0];
      expect(container.image).to.equal(`demo-svc-${member}`);
      expect(container.envFrom).to.deep.equal([
        { configMapRef: { name: `demo-svc-${member}-config` } },
        { secretRef: { name: `demo-svc-${member}-secrets` } },
      ]);
      expect(deployment.spec.template.spec.serviceAccountName).to.equal(`demo-svc-${member}`);
      expect(deployment.metadata.labels['app.kubernetes.io/part-of']).to.equal('demo-svc');
      expect(readYaml(dir, `deploy/k8s/overlays/prod/${member}/hpa.yaml`).metadata.name).to.equal(
        `demo-svc-${member}`,
      );
      if (service) {
        const job = readYaml(dir, `deploy/k8s/base/${member}/migration-job.yaml`);
        expect(job.metadata.name).to.equal(`demo-svc-${member}-migrate`);
        const container = job.spec.template.spec.containers[0];
        expect(container.image).to.equal(`demo-svc-${member}`);
        expect(container.args).to.deep.equal(['alembic', 'upgrade', 'head']);
        expect(container.envFrom).to.deep.equal(deployment.spec.template.spec.containers[0].envFrom);
      }
      // No consumer before tier 3.
      expect(existsSync(path.join(dir, 'deploy/k8s/base', member, 'consumer-deployment.yaml'))).to.equal(
        false,
      );
    }
    const resources = readYaml(dir, 'deploy/k8s/base/kustomization.yaml').resources as string[];
    expect(resources).to.include.members([
      'migration-job.yaml',
      'orders/migration-job.yaml',
      'billing/migration-job.yaml',
      'orders/deployment.yaml',
      'gateway/pdb.yaml',
    ]);
    expect(resources).not.to.include('gateway/migration-job.yaml');
    const images = readYaml(dir, 'deploy/k8s/overlays/prod/kustomization.yaml').images as { name: string }[];
    expect(images.map((image) => image.name)).to.deep.equal([
      'demo-svc',
      'demo-svc-orders',
      'demo-svc-billing',
      'demo-svc-gateway',
    ]);
  });

  it('each member is configured from its own .env.example, the gateway reaching the services in the cluster', () => {
    const orders = readYaml(dir, 'deploy/k8s/base/orders/secret.yaml').stringData as Record<string, string>;
    expect(orders.ORDERS_DATABASE_URL).to.match(/^postgresql\+asyncpg:\/\/.*\/orders$/);
    expect(readYaml(dir, 'deploy/k8s/base/orders/configmap.yaml').data).to.not.have.property(
      'ORDERS_DATABASE_URL',
    );
    const gateway = readYaml(dir, 'deploy/k8s/base/gateway/configmap.yaml').data as Record<string, string>;
    expect(gateway).to.include({
      DEMO_SVC_URL: 'http://demo-svc',
      ORDERS_URL: 'http://demo-svc-orders',
      BILLING_URL: 'http://demo-svc-billing',
    });
  });

  it('routes the Ingress to the gateway only; services accept only the gateway', () => {
    const ingress = readYaml(dir, 'deploy/k8s/base/ingress.yaml');
    expect(ingress.spec.rules[0].http.paths.map((p: Yaml) => p.backend.service.name)).to.deep.equal([
      'demo-svc-gateway',
    ]);
    expect(allowedFrom(dir, 'deploy/k8s/base/gateway/networkpolicy.yaml')).to.deep.equal([
      fromIngressController,
    ]);
    for (const file of ['networkpolicy.yaml', 'orders/networkpolicy.yaml', 'billing/networkpolicy.yaml']) {
      expect(allowedFrom(dir, `deploy/k8s/base/${file}`), file).to.deep.equal([fromGateway]);
    }
  });

  it('at tier 3 every service gets a consumer Deployment with probes and a PDB, nothing may connect to it, and one in compose', async function () {
    this.timeout(300_000);
    expect(Object.keys(readYaml(dir, 'docker-compose.yml').services)).not.to.include('orders-consumer');
    await runForge('events').cd(dir);
    const compose = readYaml(dir, 'docker-compose.yml').services as Yaml;
    // The consumers' own HTTP ports, as each service's .env.example sets them: 9001 beside 8001.
    const ports = { orders: 9001, billing: 9002 };
    for (const [member, port] of Object.entries(ports)) {
      const consumer = compose[`${member}-consumer`] as Yaml;
      expect(consumer.command, member).to.deep.equal(['python', '-m', `${member}.consumer`]);
      expect(consumer.image).to.equal(compose[member].image);
      expect(consumer.environment).to.deep.equal({
        ...compose[member].environment,
        EVENTS_CONSUMER_HOST: '0.0.0.0',
      });
      // Started, as the service is, once its one-shot migration has succeeded.
      expect(consumer.depends_on).to.deep.equal(compose[member].depends_on);
      expect(consumer.depends_on[`${member}-migrate`]).to.deep.equal({
        condition: 'service_completed_successfully',
      });
      expect(compose[`${member}-migrate`].command).to.deep.equal(['alembic', 'upgrade', 'head']);
      expect(compose[`${member}-migrate`].image).to.equal(compose[member].image);
      expect(consumer.healthcheck.test.join(' ')).to.include(`http://127.0.0.1:${port}/health/ready`);
      expect(readFileSync(path.join(dir, 'services', member, '.env.example'), 'utf8')).to.match(
        new RegExp(`^EVENTS_CONSUMER_PORT=${port}$`, 'm'),
      );
    }
    for (const [member, port] of Object.entries(ports)) {
      const consumer = readYaml(dir, `deploy/k8s/base/${member}/consumer-deployment.yaml`);
      const container = consumer.spec.template.spec.containers[0];
      expect(container.args).to.deep.equal(['python', '-m', `${member}.consumer`]);
      expect(container.image).to.equal(`demo-svc-${member}`);
      expect(container.ports).to.deep.equal([{ name: 'status', containerPort: port }]);
      expect(container.env).to.deep.equal([{ name: 'EVENTS_CONSUMER_HOST', value: '0.0.0.0' }]);
      expect(
        ['startupProbe', 'livenessProbe', 'readinessProbe'].map((probe) => container[probe].httpGet),
      ).to.deep.equal([
        { path: '/health', port: 'status' },
        { path: '/health', port: 'status' },
        { path: '/health/ready', port: 'status' },
      ]);
      // Only the kubelet's probes reach it, from the node, which a NetworkPolicy always lets through.
      expect(allowedFrom(dir, `deploy/k8s/base/${member}/consumer-networkpolicy.yaml`)).to.deep.equal([]);
      const budget = readYaml(dir, `deploy/k8s/base/${member}/consumer-pdb.yaml`);
      expect(budget.spec).to.deep.include({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
      expect(budget.spec.selector.matchLabels).to.deep.equal(consumer.spec.selector.matchLabels);
    }
    const resources = readYaml(dir, 'deploy/k8s/base/kustomization.yaml').resources as string[];
    expect(resources).to.include.members([
      'orders/consumer-deployment.yaml',
      'billing/consumer-networkpolicy.yaml',
      'orders/consumer-pdb.yaml',
      'billing/consumer-pdb.yaml',
    ]);
  });

  it('a re-run changes nothing; an edit of a member manifest survives adding a service', async function () {
    this.timeout(300_000);
    const before = snapshotTree(dir);
    await runForge('k8s').cd(dir);
    expect(snapshotTree(dir)).to.deep.equal(before);

    const file = path.join(dir, 'deploy/k8s/base/orders/consumer-deployment.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('replicas: 2', 'replicas: 6 # measured'));
    await runForge('microservice').cd(dir).withArguments(['payments']);
    expect(readYaml(dir, 'deploy/k8s/base/orders/consumer-deployment.yaml').spec.replicas).to.equal(6);
    expect(readFileSync(file, 'utf8')).to.include('# measured');
    expect(readYaml(dir, 'deploy/k8s/base/payments/consumer-deployment.yaml').metadata.name).to.equal(
      'demo-svc-payments-consumer',
    );
    expect(readYaml(dir, 'deploy/k8s/base/gateway/configmap.yaml').data.PAYMENTS_URL).to.equal(
      'http://demo-svc-payments',
    );
    expect(readYaml(dir, 'deploy/k8s/overlays/dev/kustomization.yaml').patches).to.deep.include({
      path: 'payments/configmap.yaml',
    });
  });
});
