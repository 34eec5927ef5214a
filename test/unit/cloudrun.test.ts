import { expect } from 'chai';
import { readConfig } from '../helpers.js';
import { DOCKER_FILES, newProject, readYaml } from './deploy-support.js';
import { declarationTests } from './declaration.js';

describe('cloudrun generator', () => {
  declarationTests('cloudrun');

  it('cloudrun: a Knative service for the image, with its docs', async () => {
    const result = await newProject({ deploy: 'cloudrun' });
    result.assertFile([...DOCKER_FILES, 'deploy/cloudrun/service.yaml', 'deploy/cloudrun/README.md']);
    const service = readYaml(result.cwd, 'deploy/cloudrun/service.yaml');
    expect(service).to.include({ apiVersion: 'serving.knative.dev/v1', kind: 'Service' });
    expect(service.spec.template.spec.containers[0].ports).to.deep.equal([
      { name: 'http1', containerPort: 8000 },
    ]);
    expect(readConfig(result.cwd).deployment).to.deep.equal({ targets: ['compose', 'cloudrun'] });
  });
});
