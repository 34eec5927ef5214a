import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { makeTempDir } from '../helpers.js';
import { yoCommand } from './processes.js';

describe('yo fastapi-forge, with the package linked into node_modules', function () {
  this.timeout(5 * 60_000);

  it('runs the app generator and sub-generators for a non-root user', () => {
    // yo finds generators in node_modules folders above the working directory, as after `npm link`.
    const root = makeTempDir('yo');
    chmodSync(root, 0o777);
    mkdirSync(path.join(root, 'node_modules'));
    symlinkSync(PACKAGE_ROOT, path.join(root, 'node_modules', 'generator-fastapi-forge'));
    const project = path.join(root, 'yo-demo');
    mkdirSync(project, { mode: 0o777 });
    chmodSync(project, 0o777);

    const yo = (args: string[]) => {
      const [command, argv] = yoCommand(args);
      const result = spawnSync(command, argv, {
        cwd: project,
        encoding: 'utf8',
        env: { ...process.env, NO_UPDATE_NOTIFIER: '1', HOME: project },
      });
      return { status: result.status, output: `${result.stdout}${result.stderr}` };
    };

    const created = yo(['fastapi-forge', '--yes', '--skip-install', '--auth', 'none', '--no-insight']);
    expect(created.status, created.output).to.equal(0);
    const config = JSON.parse(readFileSync(path.join(project, '.yo-rc.json'), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    expect(config['generator-fastapi-forge']).to.include({ projectName: 'yo-demo', auth: 'none' });

    const added = yo(['fastapi-forge:auth', '--auth', 'apikey', '--yes', '--skip-install', '--no-insight']);
    expect(added.status, added.output).to.equal(0);
    expect(readFileSync(path.join(project, 'src/yo_demo/dependencies.py'), 'utf8')).to.include(
      'Security(authenticate)',
    );

    // Repeated options reach the generator as yo parses them: enum(new,paid) keeps its comma.
    const resource = yo([
      'fastapi-forge:resource',
      'Order',
      '--field',
      'total:decimal',
      '--field',
      'status:enum(new,paid)',
      '--yes',
      '--skip-install',
      '--no-insight',
    ]);
    expect(resource.status, resource.output).to.equal(0);
    const schemas = readFileSync(path.join(project, 'src/yo_demo/models/order.py'), 'utf8');
    expect(schemas).to.include('total: DecimalText = Field(').and.to.include('PAID = "paid"');
  });
});
