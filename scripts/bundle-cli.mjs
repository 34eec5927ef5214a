// Bundles the CLI (dist/cli/main.js and everything it imports) into dist/cli.cjs. Node resolves and loads
// yeoman's few thousand ES modules one by one, which takes most of a second; one file loads in a fraction.
// The bundle is CommonJS so that bin/fastapi-forge.js can compile it as one script with V8's code cache
// (Node 20 keeps no compiled code of ES modules between runs).
//
// Bundled dependencies read files relative to their own location (their package.json, for instance) through
// `import.meta.url`, `__dirname` or `__filename`. Inside a bundle those would name the bundle, so each use is
// replaced by the module's original location, looked up at run time in the node_modules folders above the
// bundle, the way Node itself would find the package.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `import.meta.url`, `__filename` and `__dirname` of a bundled dependency, as its original file's. */
const originalModuleLocation = {
  name: 'original-module-location',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]node_modules[\\/].*\.(m?js|cjs)$/ }, async (args) => {
      const contents = await readFile(args.path, 'utf8');
      if (!/import\.meta\.url|\b__dirname\b|\b__filename\b/.test(contents)) return undefined;
      const relative = args.path.split(`${path.sep}node_modules${path.sep}`).slice(1).join('/node_modules/');
      const file = `__forgeModulePath(${JSON.stringify(relative)})`;
      const rewritten = contents.replaceAll('import.meta.url', `__forgeToUrl(${file}).href`);
      // CommonJS modules get their own __filename and __dirname; modules that declare them keep theirs.
      const declares = /(const|let|var)\s+__(dirname|filename)\b/.test(contents);
      const locals = declares
        ? ''
        : `var __filename = ${file}; var __dirname = __forgeDirname(__filename);\n`;
      return { contents: `${locals}${rewritten}`, loader: 'js' };
    });
  },
};

/**
 * Yeoman's ways of installing packages from npm, which the CLI never takes: it runs its own generators and
 * plugins already installed. Loading them costs a third of a second at every start (npm's dependency tree
 * tool, and an HTTP client whose first use loads Node's fetch), so the bundle holds stand-ins that refuse.
 */
const NOT_BUNDLED = 'installing packages from npm is not part of fastapi-forge; install them with npm';
const npmInstallers = {
  name: 'npm-installers',
  setup(builder) {
    builder.onResolve({ filter: /^(fly-import|latest-version)$/ }, (args) => ({
      path: args.path,
      namespace: 'npm-installers',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'npm-installers' }, (args) => ({
      contents:
        args.path === 'fly-import'
          ? `export class FlyRepository {
  constructor(options = {}) { this.repositoryPath = options.repositoryPath; }
  async install() { throw new Error(${JSON.stringify(NOT_BUNDLED)}); }
}
export async function flyImport() { throw new Error(${JSON.stringify(NOT_BUNDLED)}); }`
          : `export default async function latestVersion() { throw new Error(${JSON.stringify(NOT_BUNDLED)}); }`,
      loader: 'js',
    }));
  },
};

/** `require`, `__filename` and `__dirname` are the bundle's (bin/fastapi-forge.js gives them); its own
 * modules' `import.meta.url` is the bundle's URL. */
const cjsBanner = `
const { existsSync: __forgeExists } = require('node:fs');
const { dirname: __forgeDirname, join: __forgeJoin } = require('node:path');
const { pathToFileURL: __forgeToUrl } = require('node:url');
var __forgeBundleUrl = __forgeToUrl(__filename).href;
function __forgeModulePath(relative) {
  const bundle = __filename;
  for (let dir = __forgeDirname(bundle); ; dir = __forgeDirname(dir)) {
    const candidate = __forgeJoin(dir, 'node_modules', relative);
    if (__forgeExists(candidate)) return candidate;
    if (__forgeDirname(dir) === dir) return bundle;
  }
}
`;
const outfile = path.join(root, 'dist/cli.cjs');
await build({
  entryPoints: [path.join(root, 'dist/cli/main.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  define: { 'import.meta.url': '__forgeBundleUrl' },
  banner: { js: cjsBanner },
  plugins: [npmInstallers, originalModuleLocation],
  logLevel: 'warning',
});

// The ES modules the bundle imports at run time (plugins' generators) are imported by bin/fastapi-forge.js,
// which passes its `import()` as `__forgeImport`: in a script compiled from V8's code cache, Node 20 loses
// the script's own dynamic import callback.
const bundled = await readFile(outfile, 'utf8');
await writeFile(outfile, bundled.replace(/(?<![\w$.])import\(/g, '__forgeImport('));
