import { expect } from 'chai';
import { DOCKER_FILES, newProject, readYaml } from './deploy-support.js';
import { declarationTests } from './declaration.js';

describe('serverless generator', () => {
  declarationTests('serverless');

  it('serverless: the Mangum handler and its test, the SAM template, mangum in pyproject.toml', async () => {
    const result = await newProject({ deploy: 'serverless' });
    result.assertFile([
      ...DOCKER_FILES,
      'src/demo_svc/lambda_handler.py',
      'tests/test_lambda_handler.py',
      'deploy/serverless/template.yaml',
      'deploy/serverless/Makefile',
      'deploy/serverless/README.md',
    ]);
    result.assertFileContent('pyproject.toml', /"mangum>=0\.22"/);
    result.assertFileContent('deploy/serverless/README.md', /No WebSocket/);
    const template = readYaml(result.cwd, 'deploy/serverless/template.yaml');
    expect(template.Resources.ApiFunction.Properties.Handler).to.equal('demo_svc.lambda_handler.handler');
    expect(template.Resources.ApiFunction.Properties.Runtime).to.equal('python3.13');
  });
});
