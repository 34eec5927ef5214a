#!/usr/bin/env node
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

// Modules of the CLI read the working directory as they load (uv_cwd fails with ENOENT once it is deleted),
// so a deleted one is reported before they are imported.
try {
  process.cwd();
} catch {
  process.stderr.write(
    'fastapi-forge: the current directory no longer exists; change to an existing one and run again\n',
  );
  process.exit(2);
}

const bundle = fileURLToPath(new URL('../dist/cli.cjs', import.meta.url));

/**
 * Where V8's compiled code of the bundle is kept between runs, in the user's own cache folder (code read
 * from a folder others can write to would run as this user); undefined when it is turned off or unknown.
 * Node 20 has no compile cache for modules of its own, and compiling the bundle costs a tenth of a run.
 */
function codeCachePath() {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  try {
    const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
    const { size, mtimeMs } = statSync(bundle);
    // One file per install and set of Node flags (V8 refuses code cached under other flags), named after
    // them, then after the Node version and the build of the bundle it holds.
    const owner = createHash('sha1')
      .update(`${bundle}\0${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`)
      .digest('hex')
      .slice(0, 12);
    const key = `${owner}-${process.version}-${process.arch}-${size}-${Math.trunc(mtimeMs)}`;
    return path.join(base, 'fastapi-forge', `cli-${key}.v8`);
  } catch {
    return undefined;
  }
}

function readCodeCache(file) {
  try {
    return file ? readFileSync(file) : undefined;
  } catch {
    return undefined;
  }
}

/** Kept once the run is over, so the cache holds the functions the run compiled as well. */
function writeCodeCache(file, script) {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
    renameSync(partial, file);
    // The same install's caches of earlier builds or Node versions would only pile up.
    const owner = `${path.basename(file).split('-').slice(0, 2).join('-')}-`;
    for (const name of readdirSync(path.dirname(file))) {
      if (name.startsWith(owner) && name.endsWith('.v8') && name !== path.basename(file))
        rmSync(path.join(path.dirname(file), name), { force: true });
    }
  } catch {
    // A cache that cannot be written only costs the next run its compile time.
  }
}

/** The bundle (CommonJS), compiled with the cached code of an earlier run when it is still valid. */
function loadCli(cacheFile) {
  const cachedData = readCodeCache(cacheFile);
  const source = readFileSync(bundle, 'utf8');
  const wrapper = '(function (exports, require, module, __filename, __dirname, __forgeImport) {';
  const script = new vm.Script(`${wrapper}${source}\n})`, { filename: bundle, cachedData });
  const module = { exports: {} };
  // Plugins' generators are ES modules, which the bundle imports through this module's import().
  const importModule = (specifier) => import(specifier);
  const dirname = path.dirname(bundle);
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname, importModule);
  const stale = cachedData === undefined || script.cachedDataRejected === true;
  return { main: module.exports.main, script, stale };
}

const cacheFile = codeCachePath();
const { main, script, stale } = loadCli(cacheFile);

main(process.argv).then(
  (status) => {
    process.exitCode = status;
    if (cacheFile && stale) writeCodeCache(cacheFile, script);
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
