import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { makeTempDir, runForge } from '../helpers.js';

export const DOCKER_FILES = ['Dockerfile', '.dockerignore', 'docker-compose.yml', 'deploy/README.md'];
export const K8S_BASE = [
  'kustomization.yaml',
  'serviceaccount.yaml',
  'configmap.yaml',
  'secret.yaml',
  'deployment.yaml',
  'service.yaml',
  'hpa.yaml',
  'pdb.yaml',
  'ingress.yaml',
  'networkpolicy.yaml',
].map((name) => `deploy/k8s/base/${name}`);
export const K8S_OVERLAYS = ['dev', 'prod'].map(
  (overlay) => `deploy/k8s/overlays/${overlay}/kustomization.yaml`,
);

export type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const readYaml = (dir: string, file: string): Yaml =>
  parse(readFileSync(path.join(dir, file), 'utf8')) as Yaml;

/** A project holding only its config: the deployment generators read nothing else they need. */
export function configuredProject(values: Record<string, unknown>): string {
  const dir = makeTempDir('deploy');
  const config = {
    projectName: 'demo-svc',
    packageName: 'demo_svc',
    description: 'demo',
    appType: 'microservice',
    tier: 1,
    db: 'none',
    auth: 'none',
    agentSdk: 'none',
    deploy: 'compose',
    services: [],
    ...values,
  };
  writeFileSync(
    path.join(dir, '.yo-rc.json'),
    JSON.stringify({ 'generator-fastapi-forge': config }, null, 2),
  );
  return dir;
}

export const newProject = (options: Record<string, unknown> = {}) =>
  runForge('app', { auth: 'none', db: 'none', appType: 'microservice', ...options })
    .cd(makeTempDir('deploy'))
    .withArguments(['demo-svc']);
