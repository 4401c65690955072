// `npm run bench`: cpv against plain baselines on the same data in the same run (see
// ../shared/benchmarks.md for how the targets are read). Prints a table; exits non-zero only when
// something could not run, never because a target was missed (targets are read by people).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { best, cli, here, makeFiles, printTable, cpv as runCpv, sh } from './lib.mjs';

const root = path.resolve(here, '..');
const work = process.env.CPV_BENCH_DIR ?? path.join(here, '.work');
const bigSize = Number(process.env.CPV_BENCH_BIG_MB ?? 2048) * 1024 * 1024;
const smallCount = Number(process.env.CPV_BENCH_FILES ?? 10_000);

const rows = [];
const row = (name, value, baseline, ratio, target, rss) =>
  rows.push({ name, value, baseline, ratio, target, rss });

const cpv = (args, cwd) => runCpv(args, cwd, work);

function baselineRss(cmd, args, cwd) {
  if (!fs.existsSync('/usr/bin/time')) return undefined;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return Number(r.stderr.trim().split('\n').pop()) / 1024;
}

function makeBigFile(file) {
  if (fs.existsSync(file) && fs.statSync(file).size === bigSize) return;
  const chunk = Buffer.alloc(8 << 20);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  const fd = fs.openSync(file, 'w');
  for (let written = 0; written < bigSize; written += chunk.length) {
    fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bigSize - written));
  }
  fs.closeSync(fd);
}

function makeSmallFiles(dir) {
  makeFiles(dir, smallCount, 4096, 100);
}

function benchMd5() {
  const big = path.join(work, 'big.bin');
  makeBigFile(big);
  sh('md5sum', [big]); // warm the page cache for both sides
  const tMd5sum = best(() => sh('md5sum', [big]));
  const hashScript = `import('${path.join(root, 'dist', 'index.js')}').then(m => m.hashFile(process.argv[1])).then(r => console.log(r.md5))`;
  const rssFile = path.join(work, 'rss.txt');
  const run = () =>
    sh(process.execPath, ['--require', path.join(here, 'rss-report.cjs'), '-e', hashScript, big], {
      env: { ...process.env, CPV_BENCH_RSS_FILE: rssFile },
    });
  const tCpv = best(run);
  const rss = Number(fs.readFileSync(rssFile, 'utf8')) / 1024;
  const mbps = (ms) => (bigSize / 1048576 / (ms / 1000)).toFixed(0);
  row(
    `MD5 of ${Math.round(bigSize / 1048576)} MiB file (MiB/s)`,
    mbps(tCpv),
    `md5sum ${mbps(tMd5sum)}`,
    (tMd5sum / tCpv).toFixed(2),
    '≥ 0.95',
    rss,
  );
  row('  peak RSS md5sum (MiB)', '', '', '', '', baselineRss('md5sum', [big]));
}

function benchAdd() {
  const repo = path.join(work, 'repo');
  const data = path.join(repo, 'data');
  fs.rmSync(repo, { recursive: true, force: true });
  fs.mkdirSync(repo, { recursive: true });
  cpv(['init', '--no-scm'], repo);
  makeSmallFiles(data);
  const md5sumFiles = () =>
    sh('sh', ['-c', 'find data -type f -print0 | xargs -0 md5sum > /dev/null'], { cwd: repo });
  const tMd5sum = best(md5sumFiles);
  // Deleting 10,000 files right before a timed run slows it (ext4 with discard): move old trees
  // to a trash directory with one rename and delete them after all timings.
  const trash = path.join(work, 'trash');
  fs.mkdirSync(trash, { recursive: true });
  const toTrash = (p) =>
    fs.existsSync(p) && fs.renameSync(p, path.join(trash, `${Date.now()}-${Math.random()}`));
  const tCp = best(
    () => sh('cp', ['-r', 'data', 'data-copy'], { cwd: repo }),
    () => toTrash(path.join(repo, 'data-copy')),
  );
  toTrash(path.join(repo, 'data-copy'));
  let rss = 0;
  // The state store: per-file hashes, and per-directory fingerprints (a hit skips all hashing).
  const forgetState = () => {
    for (const log of ['cpv-state.log', 'cpv-state-trees.log']) {
      fs.rmSync(path.join(repo, '.dvc', 'tmp', log), { force: true });
    }
  };
  const resetRepo = () => {
    toTrash(path.join(repo, '.dvc', 'cache'));
    forgetState();
    fs.rmSync(path.join(repo, 'data.dvc'), { force: true });
  };
  const tAdd = best(() => {
    rss = cpv(['add', 'data'], repo);
  }, resetRepo);
  const n = smallCount.toLocaleString('en');
  // benchmarks.md: add both hashes and writes the cache, so its baseline is md5sum + cp -r.
  row(
    `cpv add ${n} × 4 KiB vs md5sum + cp -r (ms)`,
    tAdd.toFixed(0),
    `${(tMd5sum + tCp).toFixed(0)} (${tMd5sum.toFixed(0)} + ${tCp.toFixed(0)})`,
    (tAdd / (tMd5sum + tCp)).toFixed(2),
    '≤ 1.0×',
    rss,
  );
  row(
    '  peak RSS md5sum (MiB)',
    '',
    '',
    '',
    '',
    baselineRss('sh', ['-c', 'find data -type f -print0 | xargs -0 md5sum > /dev/null'], repo),
  );
  // Hashing alone: the cache is complete, the state store forgotten, so every file is re-hashed.
  let rssHash = 0;
  const tColdStatus = best(() => {
    rssHash = cpv(['status'], repo);
  }, forgetState);
  row(
    `cold cpv status ${n} files (hash only) vs md5sum (ms)`,
    tColdStatus.toFixed(0),
    `md5sum ${tMd5sum.toFixed(0)}`,
    `${(tMd5sum / tColdStatus).toFixed(2)}× faster`,
    '≥ 1.5× faster',
    rssHash,
  );
  const tCachedAdd = best(() => cpv(['add', 'data'], repo), forgetState);
  row(
    `cpv add of already-cached ${n} files vs md5sum (ms)`,
    tCachedAdd.toFixed(0),
    `md5sum ${tMd5sum.toFixed(0)}`,
    `${(tMd5sum / tCachedAdd).toFixed(2)}× faster`,
    '≥ 1.5× faster',
    undefined,
  );
  return repo;
}

function benchStartup(repo) {
  const tNode = best(() => sh(process.execPath, ['-e', '0']));
  const tVersion = best(() => sh(process.execPath, [cli, '--version']));
  row(
    'cpv --version start-up (ms)',
    tVersion.toFixed(0),
    `node -e 0 ${tNode.toFixed(0)}`,
    (tVersion / tNode).toFixed(2),
    '< 150 ms, ≤ 2×',
    undefined,
  );
  // No-op status: the state store answers for every file, so this is a stat walk plus start-up.
  cpv(['status'], repo); // refresh the state after the timings above
  const tWalk = best(() =>
    sh('sh', ['-c', "find data -type f -printf '%s %T@\\n' > /dev/null"], { cwd: repo }),
  );
  const tStatus = best(() => sh(process.execPath, [cli, 'status'], { cwd: repo }));
  row(
    `no-op cpv status, ${smallCount.toLocaleString('en')} files vs find stat walk (ms)`,
    tStatus.toFixed(0),
    `find ${tWalk.toFixed(0)}`,
    (tStatus / tWalk).toFixed(2),
    'report (≤ 3× at 100k)',
    cpv(['status'], repo),
  );
}

fs.mkdirSync(work, { recursive: true });
if (!fs.existsSync(cli)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
const only = process.argv.slice(2);
const want = (name) => only.length === 0 || only.includes(name);
if (want('md5')) benchMd5();
let repo;
if (want('add') || want('startup')) repo = benchAdd();
if (want('startup')) benchStartup(repo);
if (want('workspace')) (await import('./workspace.mjs')).benchWorkspace(row);
printTable(rows);
