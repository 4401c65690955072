// Workspace benchmarks (issue 4), each against a plain baseline on the same data in the same run:
// - no-op `cpv status` on a tracked directory of 100,000 small files vs `find DIR -type f -printf`
//   (target ≤ 3×);
// - `cpv checkout` with cache.type copy of 10,000 files vs `cp -r` (target ≤ 1.5×);
// - second `cpv add` of the unchanged 100k directory (state store hits) vs the first (≥ 10× faster);
// - peak RSS of cpv at 100k files (target < 300 MiB).
// Run alone with `node bench/workspace.mjs` (after `npm run build`), or from bench/run.mjs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { best, here, makeFiles, once, printTable, cpv as runCpv, sh } from './lib.mjs';

const work = path.join(process.env.CPV_BENCH_DIR ?? path.join(here, '.work'), 'workspace');
const bigCount = Number(process.env.CPV_BENCH_WS_FILES ?? 100_000);
const coCount = Number(process.env.CPV_BENCH_CO_FILES ?? 10_000);

const cpv = (args, cwd) => runCpv(args, cwd, work);

const trash = path.join(work, 'trash');
/** Moves a tree out of the way with one rename (deleting many files right before a run skews it). */
function toTrash(p) {
  if (!fs.existsSync(p)) return;
  fs.mkdirSync(trash, { recursive: true });
  fs.renameSync(p, path.join(trash, `${Date.now()}-${Math.random()}`));
}

function benchBigDir(row) {
  const repo = path.join(work, 'big');
  fs.rmSync(repo, { recursive: true, force: true });
  fs.mkdirSync(repo, { recursive: true });
  cpv(['init', '--no-scm'], repo);
  makeFiles(path.join(repo, 'data'), bigCount, 512);
  const n = bigCount.toLocaleString('en');
  let rssFirst = 0;
  const tFirst = once(() => {
    rssFirst = cpv(['add', 'data'], repo);
  });
  let rssSecond = 0;
  const tSecond = best(() => {
    rssSecond = cpv(['add', 'data'], repo);
  });
  row(
    `second cpv add of unchanged ${n} files vs first (ms)`,
    tSecond.toFixed(0),
    `first ${tFirst.toFixed(0)}`,
    `${(tFirst / tSecond).toFixed(1)}× faster`,
    '≥ 10× faster',
    Math.max(rssFirst, rssSecond),
  );
  const find = () => sh('sh', ['-c', "find data -type f -printf '%s %T@\\n' > /dev/null"], { cwd: repo });
  find(); // warm the dentry cache for both sides
  const tFind = best(find);
  let rssStatus = 0;
  const tStatus = best(() => {
    rssStatus = cpv(['status'], repo);
  });
  row(
    `no-op cpv status, ${n} files vs find stat walk (ms)`,
    tStatus.toFixed(0),
    `find ${tFind.toFixed(0)}`,
    (tStatus / tFind).toFixed(2),
    '≤ 3×',
    rssStatus,
  );
  row(`  peak RSS of cpv at ${n} files (MiB)`, '', '', '', '< 300', Math.max(rssFirst, rssSecond, rssStatus));
  toTrash(repo);
}

function benchCheckout(row) {
  const repo = path.join(work, 'co');
  fs.rmSync(repo, { recursive: true, force: true });
  fs.mkdirSync(repo, { recursive: true });
  cpv(['init', '--no-scm'], repo);
  fs.writeFileSync(
    path.join(repo, '.dvc', 'config'),
    '[core]\n    no_scm = True\n[cache]\n    type = copy\n',
  );
  makeFiles(path.join(repo, 'data'), coCount, 4096);
  cpv(['add', 'data'], repo);
  const tCp = best(
    () => sh('cp', ['-r', 'data', 'data-copy'], { cwd: repo }),
    () => toTrash(path.join(repo, 'data-copy')),
  );
  // The baseline's copy must not stay in the repo: every cpv command looks for .dvc files there.
  toTrash(path.join(repo, 'data-copy'));
  let rss = 0;
  const tCheckout = best(
    () => {
      rss = cpv(['checkout'], repo);
    },
    () => toTrash(path.join(repo, 'data')),
  );
  row(
    `cpv checkout (copy) of ${coCount.toLocaleString('en')} × 4 KiB vs cp -r (ms)`,
    tCheckout.toFixed(0),
    `cp -r ${tCp.toFixed(0)}`,
    (tCheckout / tCp).toFixed(2),
    '≤ 1.5×',
    rss,
  );
  toTrash(repo);
}

export function benchWorkspace(row) {
  fs.mkdirSync(work, { recursive: true });
  benchCheckout(row);
  benchBigDir(row);
  fs.rmSync(trash, { recursive: true, force: true });
}

// Standalone: print the rows.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = [];
  benchWorkspace((name, value, baseline, ratio, target, rss) =>
    rows.push({ name, value, baseline, ratio, target, rss }),
  );
  printTable(rows);
}
