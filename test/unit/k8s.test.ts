import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { expectUserError, readConfig, runForge, snapshotTree, updateConfig } from '../helpers.js';
import { DOCKER_FILES, K8S_BASE, K8S_OVERLAYS, readYaml, newProject } from './deploy-support.js';
import { declarationTests } from './declaration.js';

describe('k8s generator', () => {
  declarationTests('k8s');

  it('is composed by app with --deploy k8s, together with docker', async () => {
    const result = await newProject({ deploy: 'k8s' });
    result.assertFile([...DOCKER_FILES, ...K8S_BASE, ...K8S_OVERLAYS, 'deploy/k8s/README.md']);
    expect(readConfig(result.cwd).deployment).to.deep.equal({ targets: ['compose', 'k8s'] });
    const deployment = readYaml(result.cwd, 'deploy/k8s/base/deployment.yaml');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.livenessProbe.httpGet.path).to.equal('/health');
    expect(container.readinessProbe.httpGet.path).to.equal('/health/ready');
    expect(container.securityContext).to.deep.include({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).to.equal(true);
    expect(deployment.spec.strategy.rollingUpdate).to.deep.equal({ maxSurge: 1, maxUnavailable: 0 });
    expect(readYaml(result.cwd, 'deploy/k8s/overlays/prod/kustomization.yaml').namespace).to.equal(
      'demo-svc',
    );
    expect(readYaml(result.cwd, 'deploy/k8s/overlays/dev/kustomization.yaml').namespace).to.equal(
      'demo-svc-dev',
    );
  });

  it('runs alone on a compose project, composing docker, then changes nothing when run again', async () => {
    const first = await newProject();
    const added = await runForge('k8s', { 'k8s-namespace': 'shop', 'ingress-host': 'api.shop.example' }).cd(
      first.cwd,
    );
    added.assertFile([...K8S_BASE, ...K8S_OVERLAYS]);
    expect(readConfig(first.cwd).deployment).to.deep.equal({
      targets: ['compose', 'k8s'],
      namespace: 'shop',
      host: 'api.shop.example',
    });
    expect(readYaml(first.cwd, 'deploy/k8s/base/ingress.yaml').spec.rules[0].host).to.equal(
      'api.shop.example',
    );
    expect(readYaml(first.cwd, 'deploy/k8s/overlays/dev/kustomization.yaml').namespace).to.equal('shop-dev');
    added.assertFileContent('deploy/README.md', /\[`deploy\/k8s\/`\]\(k8s\/README\.md\)/);

    const before = snapshotTree(first.cwd);
    const again = await runForge('k8s').cd(first.cwd);
    expect(snapshotTree(first.cwd)).to.deep.equal(before);
    expect(again.askedQuestions).to.deep.equal([]);
  });

  it('keeps edits to a manifest, and a container the user added, across config changes', async () => {
    const first = await newProject({ deploy: 'k8s' });
    const file = path.join(first.cwd, 'deploy/k8s/base/deployment.yaml');
    const edited = readFileSync(file, 'utf8')
      .replace('              memory: 512Mi', '              memory: 1Gi # measured')
      .concat('        - name: sidecar\n          image: envoyproxy/envoy:v1.34\n');
    writeFileSync(file, edited);
    updateConfig(first.cwd, { agents: true });
    await runForge('api').cd(first.cwd);
    const containers = readYaml(first.cwd, 'deploy/k8s/base/deployment.yaml').spec.template.spec.containers;
    expect(containers.map((container: { name: string }) => container.name)).to.deep.equal(['app', 'sidecar']);
    expect(containers[0].resources.limits.memory).to.equal('1Gi');
    expect(readFileSync(file, 'utf8')).to.include('# measured');
    expect(existsSync(path.join(first.cwd, 'deploy/k8s/base/worker-deployment.yaml'))).to.equal(true);
  });

  describe('bad input writes nothing', () => {
    for (const [option, value, message] of [
      ['k8s-namespace', 'Shop_NS', /^invalid --k8s-namespace "Shop_NS": a Kubernetes namespace is lowercase/],
      [
        'ingress-host',
        'not a host',
        /^invalid --ingress-host "not a host": expected a lowercase DNS host name/,
      ],
    ] as const) {
      it(`rejects --${option} ${value}`, async () => {
        const first = await newProject();
        const before = snapshotTree(first.cwd);
        await expectUserError(
          runForge('k8s', { [option]: value })
            .cd(first.cwd)
            .run(),
          message,
        );
        expect(snapshotTree(first.cwd)).to.deep.equal(before);
      });
    }
  });
});
