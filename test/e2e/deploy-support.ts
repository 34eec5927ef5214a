import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse, parseAllDocuments } from 'yaml';
import { PACKAGE_ROOT } from '../../lib/templates.js';
import { makeTempDir } from '../helpers.js';
import { run, UV } from './processes.js';

// ---- The validators scripts/setup.sh installs into .tools/deploy (see scripts/deploy-tools.txt). ----

const TOOLS_BIN = path.join(PACKAGE_ROOT, '.tools', 'deploy', 'bin');

export function deployTool(name: string): string {
  const tool = path.join(TOOLS_BIN, name);
  if (!existsSync(tool)) throw new Error(`${tool} is missing: run scripts/setup.sh`);
  return tool;
}

/** The Kubernetes version manifests are validated against (the newest kubernetes-validate 1.37.0 knows). */
export const KUBERNETES_VERSION = '1.37.0';

/** Runs a validator; returns its exit status and output instead of throwing, for negative controls. */
export function check(
  tool: string,
  args: string[],
  cwd = PACKAGE_ROOT,
): { status: number | null; output: string } {
  const result = spawnSync(deployTool(tool), args, { cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function mustPass(tool: string, args: string[], what: string): string {
  const result = check(tool, args);
  if (result.status !== 0) throw new Error(`${tool} rejected ${what}:\n${result.output}`);
  return result.output;
}

export const hadolint = (dockerfile: string): string =>
  mustPass('hadolint', ['--no-color', dockerfile], dockerfile);

export const validateCompose = (file: string): string =>
  mustPass('check-jsonschema', ['--builtin-schema', 'vendor.compose-spec', file], file);

export const cfnLint = (template: string): string => mustPass('cfn-lint', [template], template);

/** Validates manifests strictly (unknown fields are errors); returns the `kind/name` of every resource checked. */
export function validateKubernetes(files: string[]): string[] {
  const output = mustPass(
    'kubernetes-validate',
    ['--strict', '--kubernetes-version', KUBERNETES_VERSION, ...files],
    files.join(', '),
  );
  const resources = [...output.matchAll(/passed for resource (\S+) against version/g)].map(
    (match) => match[1] ?? '',
  );
  const documents = files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).filter((doc) => doc.contents),
  );
  expect(resources.length, `every resource must be validated:\n${output}`).to.equal(documents.length);
  return resources;
}

/** `kubectl kustomize <overlay>` (kustomize built into kubectl; no cluster is contacted), written to a file. */
export function buildOverlay(overlay: string): string {
  const output = mustPass('kubectl', ['kustomize', overlay], overlay);
  const file = path.join(makeTempDir('overlay'), `${path.basename(overlay)}.yaml`);
  writeFileSync(file, output);
  return file;
}

type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Cloud Run's service.yaml. kubernetes-validate has no Knative schema, so this checks it two ways:
 * structured assertions from the Knative serving v1 API and Cloud Run's documented limits, and the
 * container spec (a subset of core/v1 PodSpec in Knative) validated as a Pod by kubernetes-validate.
 */
export function validateCloudRun(file: string): string[] {
  const service = parse(readFileSync(file, 'utf8')) as Yaml;
  expect(service.apiVersion).to.equal('serving.knative.dev/v1');
  expect(service.kind).to.equal('Service');
  expect(service.metadata.name).to.match(/^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$/);
  const template = service.spec.template;
  const annotations = { ...service.metadata.annotations, ...template.metadata.annotations } as Record<
    string,
    unknown
  >;
  for (const [key, value] of Object.entries(annotations)) {
    expect(value, `annotation ${key} must be a string`).to.be.a('string');
  }
  const minScale = Number(annotations['autoscaling.knative.dev/minScale'] ?? 0);
  const maxScale = Number(annotations['autoscaling.knative.dev/maxScale'] ?? 100);
  expect(minScale).to.be.at.least(0).and.at.most(maxScale);
  const { containerConcurrency, timeoutSeconds, ...podSpec } = template.spec as Yaml;
  expect(containerConcurrency).to.be.a('number').within(1, 1000);
  expect(timeoutSeconds).to.be.a('number').within(1, 3600);
  expect(podSpec.containers).to.have.length(1);
  const container = podSpec.containers[0] as Yaml;
  expect(container.ports, 'Cloud Run routes to exactly one port').to.have.length(1);
  const port = container.ports[0].containerPort as number;
  expect(container.ports[0].name).to.be.oneOf(['http1', 'h2c']);
  expect(container.readinessProbe, 'Cloud Run has no readiness probes').to.equal(undefined);
  for (const probe of [container.startupProbe, container.livenessProbe]) {
    expect(probe.httpGet.port).to.equal(port);
  }
  const names = (container.env as { name: string }[]).map((variable) => variable.name);
  expect(new Set(names).size, 'environment variables are unique').to.equal(names.length);
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: service.metadata.name }, spec: podSpec };
  const podFile = path.join(makeTempDir('cloudrun'), 'pod.yaml');
  writeFileSync(podFile, JSON.stringify(pod));
  return validateKubernetes([podFile]);
}

// ---- Docker without a Docker engine: the build context and the Dockerfile's own steps. ----

/** A `.dockerignore` matcher with Docker's rules: Go globs with `**`, `!` exceptions, last match wins. */
/** `NAME=value` lines of a dotenv file, taken literally, as `docker run --env-file` and compose's env_file read them. */
export function readEnvFile(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1]) values[match[1]] = match[2] ?? '';
  }
  return values;
}

export function dockerignore(text: string): (relative: string) => boolean {
  const patterns = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const exclusion = line.startsWith('!');
      const glob = path.posix.normalize((exclusion ? line.slice(1) : line).trim()).replace(/^\/+/, '');
      return { exclusion, regex: globToRegex(glob) };
    });
  return (relative) => {
    const parents = relative.split('/').map((_, index, parts) => parts.slice(0, index + 1).join('/'));
    let excluded = false;
    for (const pattern of patterns) {
      if (parents.some((candidate) => pattern.regex.test(candidate))) excluded = !pattern.exclusion;
    }
    return excluded;
  };
}

function globToRegex(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index] ?? '';
    if (char === '*' && glob[index + 1] === '*') {
      index++;
      if (glob[index + 1] === '/') {
        index++;
        source += '(?:.*/)?';
      } else source += '.*';
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const end = glob.indexOf(']', index);
      source += glob.slice(index, end + 1).replace('[!', '[^');
      index = end;
    } else source += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Copies what `docker build` would send: every file of the project not excluded by its .dockerignore. */
export function buildContext(projectDir: string, destination: string): string[] {
  const ignorePath = path.join(projectDir, '.dockerignore');
  const ignored = dockerignore(existsSync(ignorePath) ? readFileSync(ignorePath, 'utf8') : '');
  const copied: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(path.join(projectDir, relative))) {
      const child = relative ? `${relative}/${entry}` : entry;
      if (ignored(child)) continue;
      const source = path.join(projectDir, child);
      if (statSync(source).isDirectory()) walk(child);
      else {
        mkdirSync(path.dirname(path.join(destination, child)), { recursive: true });
        cpSync(source, path.join(destination, child));
        copied.push(child);
      }
    }
  };
  walk('');
  return copied.sort();
}

interface Instruction {
  keyword: string;
  flags: Record<string, string[]>;
  rest: string;
}

/** Splits a Dockerfile into instructions: continuation lines joined, comments dropped, leading --flags parsed. */
export function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line) || (!current && !line.trim())) continue;
    if (line.endsWith('\\')) current += `${line.slice(0, -1)} `;
    else {
      logical.push(current + line);
      current = '';
    }
  }
  return logical.map((line) => {
    const [, keyword = '', body = ''] = /^\s*(\S+)\s*(.*)$/.exec(line) ?? [];
    const flags: Record<string, string[]> = {};
    let rest = body;
    for (let match = /^--([a-z-]+)=(\S+)\s*/.exec(rest); match; match = /^--([a-z-]+)=(\S+)\s*/.exec(rest)) {
      (flags[match[1] ?? ''] ??= []).push(match[2] ?? '');
      rest = rest.slice(match[0].length);
    }
    return { keyword: keyword.toUpperCase(), flags, rest: rest.trim() };
  });
}

/**
 * `A=1 B="two words"` -> pairs: container paths mapped with `mapPath`, then `$VAR` / `${VAR}` expanded
 * from `env`.
 */
function parseEnv(
  text: string,
  env: Record<string, string>,
  mapPath: (value: string) => string,
): [string, string][] {
  const pairs: [string, string][] = [];
  for (const match of text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const raw = mapPath((match[2] ?? '').replace(/^"(.*)"$/, '$1'));
    pairs.push([
      match[1] ?? '',
      raw.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => env[name] ?? ''),
    ]);
  }
  return pairs;
}

/** How the last stage of a Dockerfile starts: its ENTRYPOINT, CMD and ENV, values as written. */
export function imageStart(dockerfile: string): {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
} {
  const start = { entrypoint: [] as string[], cmd: [] as string[], env: {} as Record<string, string> };
  for (const { keyword, rest } of parseDockerfile(readFileSync(dockerfile, 'utf8'))) {
    if (keyword === 'FROM') start.env = {};
    else if (keyword === 'ENV') {
      for (const [name, value] of parseEnv(rest, start.env, (text) => text)) start.env[name] = value;
    } else if (keyword === 'ENTRYPOINT') start.entrypoint = JSON.parse(rest) as string[];
    else if (keyword === 'CMD') start.cmd = JSON.parse(rest) as string[];
  }
  return start;
}

/** The result of running a Dockerfile's steps: what the final image would start, and where. */
export interface EmulatedImage {
  /** Where container paths live on this machine: `/app` is `<root>/app`. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  cmd: string[];
  /** The ENTRYPOINT the CMD runs under (the settings preflight), empty when the Dockerfile has none. */
  entrypoint: string[];
  healthcheck: string[];
  user: string;
  exposed: string[];
  baseImages: string[];
  /** Steps not run here, with the reason. */
  skipped: string[];
}

/**
 * Runs the Dockerfile's own steps without a Docker engine: the build context is copied as Docker would
 * send it, container paths are mapped under one directory (the same for every stage, so the virtualenv
 * built in one stage works in the next, as it does at the same path in Docker), bind mounts are copied in
 * for their RUN, and the RUN steps that install (`uv ...`) run with the stage's environment. uv comes
 * from this machine, and must be the version the Dockerfile copies from ghcr.io/astral-sh/uv. Steps that
 * need root (creating the image's user) are skipped and listed. The interpreter is this machine's
 * Python, not the base image's.
 */
export function emulateImage(projectDir: string): EmulatedImage {
  const work = makeTempDir('image');
  const context = path.join(work, 'context');
  buildContext(projectDir, context);
  const root = path.join(work, 'root');
  const bin = path.join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  const toHost = (containerPath: string): string => path.join(root, containerPath);
  // Absolute paths the Dockerfile's ENV names inside the image (e.g. /app/.venv/bin in PATH).
  const mapPaths = (value: string): string =>
    value
      .split(':')
      .map((entry) =>
        /^\/[^$]*$/.test(entry) && existsSync(toHost(entry.split('/')[1] ?? '')) ? toHost(entry) : entry,
      )
      .join(':');
  const image: EmulatedImage = {
    root,
    workdir: root,
    env: {},
    cmd: [],
    entrypoint: [],
    healthcheck: [],
    user: '',
    exposed: [],
    baseImages: [],
    skipped: [],
  };
  const args: Record<string, string> = {};
  const baseEnv = { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: work };
  for (const instruction of parseDockerfile(readFileSync(path.join(projectDir, 'Dockerfile'), 'utf8'))) {
    const { keyword, flags, rest } = instruction;
    if (keyword === 'ARG') {
      const [name = '', value = ''] = rest.split('=');
      args[name] = value;
    } else if (keyword === 'FROM') {
      image.baseImages.push(rest.replace(/\$\{?([A-Z_]+)\}?/g, (_, name: string) => args[name] ?? ''));
      image.env = { ...baseEnv };
      image.workdir = root;
    } else if (keyword === 'ENV') {
      for (const [name, value] of parseEnv(rest, image.env, mapPaths)) image.env[name] = value;
    } else if (keyword === 'WORKDIR') {
      image.workdir = toHost(rest);
      mkdirSync(image.workdir, { recursive: true });
    } else if (keyword === 'COPY') {
      const [source = '', target = ''] = rest.split(/\s+/);
      const from = flags.from?.[0];
      if (from?.startsWith('ghcr.io/astral-sh/uv:')) {
        const pinned = from.split(':')[1];
        const local = run(UV, ['--version'], work).output.split(' ')[1];
        expect(local, `uv here must be the version the image copies (${from})`).to.equal(pinned);
        for (const name of rest.split(/\s+/).slice(0, -1)) {
          const tool = path.join(path.dirname(UV), path.basename(name));
          if (!existsSync(path.join(bin, path.basename(name))))
            symlinkSync(tool, path.join(bin, path.basename(name)));
        }
      } else if (from) {
        // Another stage: every stage shares `root`, so the copy is the files already there.
        expect(source, `COPY --from=${from} must keep the path`).to.equal(target);
      } else {
        cpSync(path.join(context, source), toHost(target), { recursive: true });
      }
    } else if (keyword === 'RUN') {
      if (!rest.startsWith('uv ')) {
        image.skipped.push(`RUN ${rest} (needs root on a real image)`);
        continue;
      }
      const mounts = (flags.mount ?? []).map((spec) =>
        Object.fromEntries(spec.split(',').map((part) => part.split('='))),
      );
      const bound: string[] = [];
      for (const mount of mounts.filter((candidate) => candidate.type === 'bind')) {
        const target = path.isAbsolute(mount.target)
          ? toHost(mount.target)
          : path.join(image.workdir, mount.target);
        cpSync(path.join(context, mount.source), target);
        bound.push(target);
      }
      run('sh', ['-c', rest], image.workdir, image.env);
      for (const target of bound) rmSync(target);
    } else if (keyword === 'USER') image.user = rest;
    else if (keyword === 'EXPOSE') image.exposed.push(rest);
    else if (keyword === 'HEALTHCHECK')
      image.healthcheck = JSON.parse(rest.replace(/^.*?CMD\s+/, '')) as string[];
    else if (keyword === 'CMD') image.cmd = JSON.parse(rest) as string[];
    else if (keyword === 'ENTRYPOINT') image.entrypoint = JSON.parse(rest) as string[];
    else throw new Error(`the Dockerfile uses ${keyword}, which this emulation does not know`);
  }
  return image;
}

/** The worker processes uvicorn's supervisor started (multiprocessing's spawn), from /proc. */
export function workerPids(pid: number): number[] {
  return childPids(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('spawn_main');
    } catch {
      return false;
    }
  });
}

/** The pids of a process's children, from /proc. */
function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}
