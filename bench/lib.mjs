// What every benchmark script needs: running commands, timing them, cpv with its peak RSS,
// generated files, and the table they print.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
// The installed executable (package.json `bin`), not the dist/cli.js way in that tests use.
export const cli = path.join(here, '..', 'dist', 'cli.cjs');
export const repeats = Number(process.env.CPV_BENCH_REPEATS ?? 3);

export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Wall time of one run of `fn`, in ms. */
export function once(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Best wall time of `repeats` runs, in ms; `prepare` runs untimed before each. */
export function best(fn, prepare = () => {}) {
  let min = Infinity;
  for (let i = 0; i < repeats; i++) {
    prepare();
    // Untimed: flush what earlier runs wrote. Otherwise whichever side runs next pays for the
    // writeback of the other's files (seen here: cp -r of 10k files from 260 ms to 2 s).
    sh('sync', []);
    min = Math.min(min, once(fn));
  }
  return min;
}

/** Runs the cpv CLI in `cwd`; returns its peak RSS in MiB (measured by rss-report.cjs). */
export function cpv(args, cwd, work) {
  const rssFile = path.join(work, 'rss.txt');
  sh(process.execPath, ['--require', path.join(here, 'rss-report.cjs'), cli, ...args], {
    cwd,
    env: { ...process.env, CPV_BENCH_RSS_FILE: rssFile },
  });
  return Number(fs.readFileSync(rssFile, 'utf8')) / 1024;
}

/** `count` files of `size` bytes, all different, `perDir` to a subdirectory. */
export function makeFiles(dir, count, size, perDir = 1000) {
  fs.rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, String(Math.floor(i / perDir)).padStart(3, '0'));
    if (i % perDir === 0) fs.mkdirSync(sub, { recursive: true });
    const buf = Buffer.alloc(size, i % 251);
    buf.writeUInt32LE(i, 0);
    fs.writeFileSync(path.join(sub, `f${i}.bin`), buf);
  }
}

/** Prints rows `{ name, value, baseline, ratio, target, rss }` as a Markdown table. */
export function printTable(rows) {
  const head = ['benchmark', 'cpv', 'baseline', 'ratio', 'target', 'peak RSS MiB'];
  const body = rows.map((r) => [
    r.name,
    r.value,
    r.baseline,
    r.ratio,
    r.target,
    r.rss === undefined ? '' : r.rss.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
}
