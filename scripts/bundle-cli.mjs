// Bundles the CLI (after `tsc`) into dist/bin/, and makes dist/cli.js a one-line entry to it.
//
// Why: every `cpv` command pays for loading its modules before doing anything. Loaded one file
// at a time, our ~150 modules plus yaml's and commander's took ~80 ms of a ~290 ms no-op
// `cpv status` (median of 12, this machine); bundled, they are a few files. The heavy
// dependencies that only some commands need (AWS SDK, isomorphic-git, ssh2, hash-wasm, …) stay
// outside the bundle and are still imported lazily, so they cost nothing until used.
// The library (dist/index.js and its modules) is left as tsc wrote it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const entry = path.join(dist, 'cli.js');
const bundled = path.join(dist, 'bin');

/** Small packages every command loads: inlined. Anything else from node_modules stays external. */
const INLINED = new Set(['commander', 'yaml', 'ignore', 'picocolors', 'p-limit', 'yocto-queue']);

function packageOf(id) {
  const parts = id.split('/');
  return id.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const isBare = (id) => !id.startsWith('.') && !path.isAbsolute(id) && !id.startsWith('\0');

/**
 * In CommonJS output, rolldown turns `import * as fs from 'node:fs'` into `require('node:fs')`
 * wrapped by `__toESM`, which copies every export of the module onto a new object as a getter.
 * For Node's built-in modules that costs ~5 ms per start (68 copies, ~100 getters each) and a
 * getter call on every `fs.*` use, in hot loops too. Our code only ever reads named members of
 * built-ins (checked below), for which the module object itself serves, so the wrapping goes.
 */
const plainBuiltins = {
  name: 'cpv-plain-builtins',
  renderChunk(code, chunk) {
    const out = code.replace(/^(node_[a-z_]+) = (?:require_[a-z_]+\.)?__toESM\(\1, 1\);\n/gm, '');
    const viaDefault = /\bnode_[a-z_]+\.default\b/.exec(out);
    if (viaDefault)
      throw new Error(`bundle-cli: ${chunk.fileName} reads ${viaDefault[0]}; keep __toESM there`);
    return out;
  },
};

fs.rmSync(bundled, { recursive: true, force: true });
// CommonJS, so that dist/cli.cjs can compile these files through V8's code cache (see
// src/cli/compile-cache.ts). Every file name carries a hash of its content: the cache relies on it.
// Lazy imports of external packages become `require()` (`dynamicImportInCjs: false`): code compiled
// through `vm.Script` has no `import()` on Node 20, and the packages we load that way ship CommonJS.
const { output } = await build({
  input: entry,
  platform: 'node',
  logLevel: 'warn',
  external: (id) => id.startsWith('node:') || (isBare(id) && !INLINED.has(packageOf(id))),
  plugins: [plainBuiltins],
  output: {
    dir: bundled,
    format: 'cjs',
    dynamicImportInCjs: false,
    entryFileNames: 'cli-[hash].cjs',
    chunkFileNames: '[name]-[hash].cjs',
  },
});
const cliEntry = output.find((chunk) => chunk.type === 'chunk' && chunk.isEntry);
if (cliEntry === undefined) throw new Error('bundle-cli: rolldown produced no entry chunk');

// dist/cli.cjs: the installed `cpv` executable (package.json `bin`).
await build({
  input: path.join(dist, 'cli-bin.js'),
  platform: 'node',
  logLevel: 'warn',
  external: (id) => id.startsWith('node:'),
  transform: { define: { __CPV_CLI_ENTRY__: JSON.stringify(cliEntry.fileName) } },
  output: { file: path.join(dist, 'cli.cjs'), format: 'cjs' },
});
fs.chmodSync(path.join(dist, 'cli.cjs'), 0o755);
for (const unused of ['cli-bin.js', 'cli-bin.d.ts']) fs.rmSync(path.join(dist, unused), { force: true });

// dist/bin/*.cjs sit at the same depth as dist/cli/main.js, so their `../../package.json` (the
// version) still names the package root. dist/cli.js stays as the ES-module way in, for
// `node dist/cli.js` and for tests.
fs.writeFileSync(entry, "#!/usr/bin/env node\nimport './cli.cjs';\n", { mode: 0o755 });
