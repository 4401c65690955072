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
const INLINED = new Set(['commander', 'yaml', 'ignore', 'picocolors']);

function packageOf(id) {
  const parts = id.split('/');
  return id.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const isBare = (id) => !id.startsWith('.') && !path.isAbsolute(id) && !id.startsWith('\0');

fs.rmSync(bundled, { recursive: true, force: true });
await build({
  input: entry,
  platform: 'node',
  logLevel: 'warn',
  external: (id) => id.startsWith('node:') || (isBare(id) && !INLINED.has(packageOf(id))),
  output: { dir: bundled, format: 'esm', entryFileNames: 'cli.js' },
});
// dist/bin/cli.js sits at the same depth as dist/cli/main.js, so its `../../package.json` (the
// version) still names the package root.
fs.writeFileSync(entry, "#!/usr/bin/env node\nimport './bin/cli.js';\n", { mode: 0o755 });
