#!/usr/bin/env node
/**
 * The `cpv` executable as installed (package.json `bin`), built into dist/cli.cjs: it turns on the
 * compile cache for the bundled CLI (see cli/compile-cache.ts), then runs the bundle's entry.
 * CommonJS on purpose: Node compiles CommonJS files through a hook we can route to V8's code
 * cache; its ES-module loader on Node 20 offers no such hook.
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandTag, compileCacheDir, installCompileCache } from './cli/compile-cache.js';

/** The bundle's entry file name (it carries a content hash); set by scripts/bundle-cli.mjs. */
declare const __CPV_CLI_ENTRY__: string;

const here = path.dirname(fileURLToPath(import.meta.url));
const binDir = path.join(here, 'bin');
const cacheDir = compileCacheDir({
  env: process.env,
  homedir: homedirOrEmpty(),
  nodeVersion: process.version,
  arch: process.arch,
  binDir,
});
if (cacheDir !== undefined) {
  const cache = installCompileCache({ binDir, cacheDir, tag: commandTag(process.argv.slice(2)) });
  process.once('exit', () => cache.flush());
}
createRequire(import.meta.url)(`./bin/${__CPV_CLI_ENTRY__}`);

/** `os.homedir()` throws when neither $HOME nor the password database names one. */
function homedirOrEmpty(): string {
  try {
    return os.homedir();
  } catch {
    return '';
  }
}
