import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse, parseAllDocuments } from 'yaml';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { buildOverlay, validateKubernetes } from '../e2e/deploy-support.js';
import { atLengthLimit } from '../matrix/combinations.js';
import { CLI, makeTempDir, runForge, snapshotTree } from '../helpers.js';

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

/** A DNS-1123 label: what Kubernetes requires of the names of Services, containers and most objects. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A label value. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/**
 * Every name in `value`, by where it is: `name` fields (environment variable names and the like excepted),
 * the names that refer to other objects, and label values (labels, selectors).
 */
function namesIn(value: unknown, where: string, found: [string, string][] = []): [string, string][] {
  if (Array.isArray(value)) value.forEach((item, index) => namesIn(item, `${where}[${index}]`, found));
  if (typeof value !== 'object' || value === null) return found;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const at = `${where}.${key}`;
    // Environment variables and ConfigMap or Secret data are keyed by setting, not by object name.
    if (['env', 'data', 'stringData', 'annotations'].includes(key)) continue;
    if (['labels', 'matchLabels', 'selector'].includes(key) && typeof item === 'object' && item !== null) {
      for (const [label, text] of Object.entries(item as Record<string, unknown>)) {
        if (typeof text === 'string') found.push([`${at}.${label}`, text]);
      }
    }
    if (
      ['name', 'serviceName', 'secretName', 'serviceAccountName'].includes(key) &&
      typeof item === 'string'
    ) {
      found.push([at, item]);
    }
    namesIn(item, at, found);
  }
  return found;
}

describe('k8s names with the longest accepted project and service names', function () {
  this.timeout(300_000);

  it('are at most 63 characters, distinct, and every reference names an object that exists', function () {
    if (!existsSync(path.join(PACKAGE_ROOT, '.tools/deploy/bin/kubectl'))) this.skip(); // scripts/setup.sh
    const project = atLengthLimit(['a', 'project'], '-');
    const services = [atLengthLimit(['first'], '_'), atLengthLimit(['second'], '_')];
    expect([project, ...services].map((name) => name.length)).to.deep.equal([40, 40, 40]);
    const parent = makeTempDir('k8s-long');
    const flags = ['--tier', '3', '--services', services.join(','), '--db', 'postgres', '--deploy', 'k8s'];
    const run = spawnSync(process.execPath, [CLI, 'new', project, '--yes', '--skip-install', ...flags], {
      cwd: parent,
      encoding: 'utf8',
      input: '',
    });
    expect(run.status, run.stderr).to.equal(0);
    for (const overlay of ['dev', 'prod']) {
      const built = buildOverlay(path.join(parent, project, 'deploy/k8s/overlays', overlay));
      validateKubernetes([built]);
      const documents = parseAllDocuments(readFileSync(built, 'utf8')).map((doc) => doc.toJS() as Yaml);
      const names = documents.flatMap((doc) => namesIn(doc, `${doc.kind}/${doc.metadata.name}`));
      const invalid = names.filter(([where, name]) =>
        where.includes('.metadata.labels.') || where.includes('.matchLabels.') || where.includes('.selector.')
          ? !LABEL_VALUE.test(name)
          : !DNS_LABEL.test(name) && !where.endsWith('.ports[0].name'),
      );
      expect(invalid, overlay).to.deep.equal([]);
      // Cut names stay distinct: one Deployment per service and process, each of its own name.
      const objects = documents.map((doc) => `${doc.kind}/${doc.metadata.name}`);
      expect(new Set(objects).size, overlay).to.equal(objects.length);
      const named = (kind: string) =>
        documents.filter((doc) => doc.kind === kind).map((doc) => doc.metadata.name);
      // The api and consumer Deployments of both services: four names cut, each ending with its own hash.
      const cut = named('Deployment').filter((name: string) => /-[0-9a-f]{8}$/.test(name));
      expect(new Set(cut).size).to.equal(4);
      // Images keep the names the build gives them (image names have no 63-character bound).
      const images = documents
        .flatMap((doc) => (doc.spec?.template?.spec?.containers ?? []) as { image: string }[])
        .map((container) => container.image.replace(/:[^:/]+$/, ''));
      const members = [...services.map((name) => name.replace(/_/g, '-')), 'gateway'];
      expect([...new Set(images)].sort()).to.deep.equal(
        [project, ...members.map((member) => `${project}-${member}`)]
          .map((name) => `registry.example.com/${name}`)
          .sort(),
      );
      // References: config and secrets of every container, HPA targets, the gateway's service URLs.
      const refs = names.filter(([where]) => /\.(configMapRef|secretRef)\.name$/.test(where));
      expect(refs).to.have.length.greaterThan(0);
      for (const [where, name] of refs) {
        const kind = where.includes('configMapRef') ? 'ConfigMap' : 'Secret';
        expect(named(kind), where).to.include(name);
      }
      for (const hpa of documents.filter((doc) => doc.kind === 'HorizontalPodAutoscaler'))
        expect(named('Deployment')).to.include(hpa.spec.scaleTargetRef.name);
      const urls = documents
        .filter((doc) => doc.kind === 'ConfigMap')
        .flatMap((doc) => Object.values(doc.data as Record<string, string>))
        .flatMap((text) => [...String(text).matchAll(/^http:\/\/([a-z0-9-]+)$/g)].map((match) => match[1]));
      expect(urls).to.have.length.at.least(3);
      for (const host of urls) expect(named('Service')).to.include(host);
      // Every Service and PDB selects the pods of a Deployment.
      const podLabels = documents
        .filter((doc) => doc.kind === 'Deployment')
        .map((doc) => doc.spec.template.metadata.labels as Record<string, string>);
      for (const doc of documents.filter((item) => ['Service', 'PodDisruptionBudget'].includes(item.kind))) {
        const selector = (doc.spec.selector.matchLabels ?? doc.spec.selector) as Record<string, string>;
        const matches = podLabels.some((labels) =>
          Object.entries(selector).every(([key, text]) => labels[key] === text),
        );
        expect(matches, `${doc.kind}/${doc.metadata.name}`).to.equal(true);
      }
    }
  });
});
