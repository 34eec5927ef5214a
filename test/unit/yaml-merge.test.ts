import { expect } from 'chai';
import { parse } from 'yaml';
import { isForgeUserError } from '../../lib/errors.js';
import { mergeYaml } from '../../lib/yaml-merge.js';

const FILE = { file: 'docker-compose.yml' };

const GENERATED_V1 = `# Local development.
services:
  app:
    image: demo:dev
    ports:
      - "8000:8000"
    environment:
      ENVIRONMENT: development
      REDIS_URL: redis://redis:6379/0
    command: ["uvicorn", "demo.main:app"]

  redis:
    image: redis:8-alpine
`;

/** The first merge writes the generated text and returns its data as the next base. */
function firstWrite(generated: string) {
  return mergeYaml(undefined, generated, undefined, FILE);
}

describe('mergeYaml', () => {
  it('writes the generated text as it is when the file does not exist', () => {
    const result = firstWrite(GENERATED_V1);
    expect(result.content).to.equal(GENERATED_V1);
    expect(result.generated).to.deep.equal(parse(GENERATED_V1));
    expect(result.kept).to.deep.equal([]);
  });

  it('changes nothing when neither side changed', () => {
    const base = firstWrite(GENERATED_V1).generated;
    const result = mergeYaml(GENERATED_V1, GENERATED_V1, base, FILE);
    expect(result.content).to.equal(GENERATED_V1);
    expect(result.kept).to.deep.equal([]);
  });

  it('keeps a service, a key and comments the user added, and applies generator changes around them', () => {
    const base = firstWrite(GENERATED_V1).generated;
    const edited = GENERATED_V1.replace(
      '  redis:\n',
      '  # my own mail catcher\n  mailpit:\n    image: axllent/mailpit\n\n  redis:\n',
    ).replace(
      '      ENVIRONMENT: development\n',
      '      ENVIRONMENT: development\n      MY_FLAG: "1" # mine\n',
    );
    const generatedV2 = GENERATED_V1.replace('redis:8-alpine', 'redis:8.2-alpine');
    const result = mergeYaml(edited, generatedV2, base, FILE);
    const data = parse(result.content);
    expect(data.services.mailpit).to.deep.equal({ image: 'axllent/mailpit' });
    expect(data.services.app.environment.MY_FLAG).to.equal('1');
    expect(data.services.redis.image).to.equal('redis:8.2-alpine');
    expect(result.content).to.include('# my own mail catcher');
    expect(result.content).to.include('MY_FLAG: "1" # mine');
    expect(result.content).to.include('# Local development.');
    expect(result.kept).to.deep.equal([]);
  });

  it('adds a generated key after the one before it in the generated file, not at the end', () => {
    const base = firstWrite(GENERATED_V1).generated;
    const generatedV2 = GENERATED_V1.replace('  redis:\n', '  worker:\n    image: demo:dev\n\n  redis:\n');
    const result = mergeYaml(GENERATED_V1, generatedV2, base, FILE);
    expect(Object.keys(parse(result.content).services)).to.deep.equal(['app', 'worker', 'redis']);
  });

  it('lets the comment atop the file follow the generator, unless the user rewrote it', () => {
    const first = firstWrite(GENERATED_V1);
    const generatedV2 = GENERATED_V1.replace('# Local development.', '# Local development, with a worker.');
    const options = { ...FILE, baseComment: first.comment };
    const followed = mergeYaml(GENERATED_V1, generatedV2, first.generated, options);
    expect(followed.content).to.equal(generatedV2);
    expect(followed.comment).to.equal(' Local development, with a worker.');
    const rewritten = GENERATED_V1.replace('# Local development.', '# Our stack.');
    expect(mergeYaml(rewritten, generatedV2, first.generated, options).content).to.equal(rewritten);
    // Without a stored comment (a project made before it was kept), the file's comment stays.
    expect(mergeYaml(GENERATED_V1, generatedV2, first.generated, FILE).content).to.equal(GENERATED_V1);
  });

  it("keeps the user's edit of a value the generator changes, and reports it", () => {
    const base = firstWrite(GENERATED_V1).generated;
    const edited = GENERATED_V1.replace('image: demo:dev', 'image: demo:mine');
    const generatedV2 = GENERATED_V1.replace('image: demo:dev', 'image: demo:next');
    const result = mergeYaml(edited, generatedV2, base, FILE);
    expect(parse(result.content).services.app.image).to.equal('demo:mine');
    expect(result.kept).to.deep.equal(['services.app.image']);
    expect(result.content).to.equal(edited);
  });

  it('takes the generated value on a conflict when told to (--force)', () => {
    const base = firstWrite(GENERATED_V1).generated;
    const edited = GENERATED_V1.replace('image: demo:dev', 'image: demo:mine');
    const generatedV2 = GENERATED_V1.replace('image: demo:dev', 'image: demo:next');
    const result = mergeYaml(edited, generatedV2, base, { ...FILE, preferGenerated: true });
    expect(parse(result.content).services.app.image).to.equal('demo:next');
    expect(result.overwritten).to.deep.equal(['services.app.image']);
  });

  it("keeps the user's edit silently while the generator does not change that value", () => {
    const base = firstWrite(GENERATED_V1).generated;
    const edited = GENERATED_V1.replace('image: demo:dev', 'image: demo:mine');
    const result = mergeYaml(edited, GENERATED_V1, base, FILE);
    expect(result.content).to.equal(edited);
    expect(result.kept).to.deep.equal([]);
  });

  it('removes what the generator no longer writes, unless the user changed it', () => {
    const withWorker = GENERATED_V1.replace(
      '  redis:\n',
      '  worker:\n    image: demo:dev\n    command: ["python", "-m", "demo.worker"]\n\n  redis:\n',
    );
    const base = firstWrite(withWorker).generated;
    expect(parse(mergeYaml(withWorker, GENERATED_V1, base, FILE).content).services).to.not.have.key('worker');
    const edited = withWorker.replace('"demo.worker"]', '"demo.worker", "--verbose"]');
    const kept = parse(mergeYaml(edited, GENERATED_V1, base, FILE).content);
    expect(kept.services.worker.command).to.deep.equal(['python', '-m', 'demo.worker', '--verbose']);
  });

  it('leaves a key the user removed removed, and reports it when the generator changes it', () => {
    const base = firstWrite(GENERATED_V1).generated;
    const edited = GENERATED_V1.replace('    ports:\n      - "8000:8000"\n', '');
    expect(mergeYaml(edited, GENERATED_V1, base, FILE).content).to.equal(edited);
    const generatedV2 = GENERATED_V1.replace('"8000:8000"', '"8080:8000"');
    const result = mergeYaml(edited, generatedV2, base, FILE);
    expect(parse(result.content).services.app).to.not.have.key('ports');
    expect(result.kept).to.deep.equal(['services.app.ports (removed by you)']);
  });

  it('merges lists of scalars item by item', () => {
    const base = firstWrite(GENERATED_V1).generated;
    const edited = GENERATED_V1.replace(
      '      - "8000:8000"\n',
      '      - "8000:8000"\n      - "5678:5678"\n',
    );
    const generatedV2 = GENERATED_V1.replace('      - "8000:8000"\n', '      - "9000:9000"\n');
    const result = mergeYaml(edited, generatedV2, base, FILE);
    expect(parse(result.content).services.app.ports).to.deep.equal(['5678:5678', '9000:9000']);
    expect(result.kept).to.deep.equal([]);
  });

  it('treats an ordered list (a command) as one value', () => {
    const base = firstWrite(GENERATED_V1).generated;
    const edited = GENERATED_V1.replace('"demo.main:app"]', '"demo.main:app", "--reload"]');
    const generatedV2 = GENERATED_V1.replace('"demo.main:app"]', '"demo.main:create_app", "--factory"]');
    const result = mergeYaml(edited, generatedV2, base, FILE);
    expect(parse(result.content).services.app.command).to.deep.equal([
      'uvicorn',
      'demo.main:app',
      '--reload',
    ]);
    expect(result.kept).to.deep.equal(['services.app.command']);
  });

  it('merges lists of named maps (containers, env) by name', () => {
    const manifest = (image: string) => `spec:
  containers:
    - name: app
      image: ${image}
      env:
        - name: LOG_LEVEL
          value: INFO
`;
    const base = firstWrite(manifest('demo:1')).generated;
    const edited = manifest('demo:1')
      .replace(
        '          value: INFO\n',
        '          value: INFO\n        - name: MINE\n          value: "yes"\n',
      )
      .concat('    - name: sidecar\n      image: envoy:1\n');
    const result = mergeYaml(edited, manifest('demo:2'), base, { file: 'deployment.yaml' });
    const containers = parse(result.content).spec.containers;
    expect(containers.map((container: { name: string }) => container.name)).to.deep.equal(['app', 'sidecar']);
    expect(containers[0].image).to.equal('demo:2');
    expect(containers[0].env).to.deep.equal([
      { name: 'LOG_LEVEL', value: 'INFO' },
      { name: 'MINE', value: 'yes' },
    ]);
    expect(result.kept).to.deep.equal([]);
  });

  it('merges into a file written by hand (no base): adds what is missing, keeps and reports the rest', () => {
    const own = 'services:\n  app:\n    image: hand-made\n  db:\n    image: postgres:16\n';
    const result = mergeYaml(own, GENERATED_V1, undefined, FILE);
    const data = parse(result.content);
    expect(data.services.app.image).to.equal('hand-made');
    expect(data.services.app.ports).to.deep.equal(['8000:8000']);
    expect(data.services.db.image).to.equal('postgres:16');
    expect(data.services.redis.image).to.equal('redis:8-alpine');
    expect(result.kept).to.deep.equal(['services.app.image']);
  });

  it('refuses a file that is not YAML with a one-line user error', () => {
    let caught: unknown;
    try {
      mergeYaml('services:\n  app: [unclosed\n', GENERATED_V1, undefined, FILE);
    } catch (error) {
      caught = error;
    }
    expect(isForgeUserError(caught)).to.equal(true);
    expect((caught as Error).message).to.match(
      /^docker-compose\.yml is not valid YAML \(.+\); fix it and run again$/,
    );
  });
});
