// `npm run bench:s3`: cpv push/fetch against rclone and the aws CLI on the same S3 server, same
// data, same parallelism, in one run (targets: ≥ 1.0× the best peer per row; peak RSS of pushing
// the big file < 256 MiB). Peers come from Debian packages (`apt-get install rclone awscli`); a
// missing peer is reported, not fatal.
//
// Server: $S3_TEST_ENDPOINT (default http://127.0.0.1:7480, e.g. test/setup/start-ceph-rgw.sh),
// keys $S3_TEST_ACCESS_KEY / $S3_TEST_SECRET_KEY (minioadmin). Sizes: CPV_BENCH_S3_BIG_MB (1024),
// CPV_BENCH_S3_FILES (5000) of CPV_BENCH_S3_FILE_KB (16); CPV_BENCH_S3_JOBS (8). CPV_BENCH_S3_ROUNDS (1)
// repeats every row that many times, tools interleaved (each round led by another tool), and
// reports each tool's median and every round's time: on a shared 2-core machine one sample of a
// row varies by ±30 %.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const cli = path.join(root, 'dist', 'cli.cjs');
const work = path.join(process.env.CPV_BENCH_DIR ?? path.join(here, '.work'), 's3');
const endpoint = process.env.S3_TEST_ENDPOINT ?? 'http://127.0.0.1:7480';
const accessKey = process.env.S3_TEST_ACCESS_KEY ?? 'minioadmin';
const secretKey = process.env.S3_TEST_SECRET_KEY ?? 'minioadmin';
const bigSize = Number(process.env.CPV_BENCH_S3_BIG_MB ?? 1024) * 1024 * 1024;
const fileCount = Number(process.env.CPV_BENCH_S3_FILES ?? 5000);
const fileSize = Number(process.env.CPV_BENCH_S3_FILE_KB ?? 16) * 1024;
const jobs = Number(process.env.CPV_BENCH_S3_JOBS ?? 8);
const rounds = Math.max(1, Number(process.env.CPV_BENCH_S3_ROUNDS ?? 1));
const MiB = 1024 * 1024;

// The SDK's notice that future releases need Node 22 (we pin the SDK) would open every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const client = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const bucket = `cpv-bench-${randomBytes(4).toString('hex')}`;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/**
 * Moves a tree out of the way with one rename; the trash is emptied after all timings. Deleting
 * thousands of files right before a timed run slows the file creations of that run (ext4 with
 * discard), whichever tool makes them (bench/run.mjs does the same).
 */
const trash = path.join(work, 'trash');
function toTrash(p) {
  if (!fs.existsSync(p)) return;
  fs.mkdirSync(trash, { recursive: true });
  fs.renameSync(p, path.join(trash, `${Date.now()}-${Math.random()}`));
}

/** Wall time of `fn` in seconds. */
function timed(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Runs the cpv CLI; returns its peak RSS in MiB. */
function cpv(args, cwd) {
  const rssFile = path.join(work, 'rss.txt');
  run(process.execPath, ['--require', path.join(here, 'rss-report.cjs'), cli, ...args], {
    cwd,
    env: { ...process.env, CPV_BENCH_RSS_FILE: rssFile },
  });
  return Number(fs.readFileSync(rssFile, 'utf8')) / 1024;
}

function makeData() {
  const big = path.join(work, 'data-big', 'big.bin');
  if (!fs.existsSync(big) || fs.statSync(big).size !== bigSize) {
    fs.mkdirSync(path.dirname(big), { recursive: true });
    const fd = fs.openSync(big, 'w');
    const block = randomBytes(MiB);
    for (let off = 0; off < bigSize; off += MiB) {
      block.writeUInt32BE(off / MiB, 0); // distinct blocks: no server-side dedup flatters anyone
      fs.writeSync(fd, block, 0, Math.min(MiB, bigSize - off));
    }
    fs.closeSync(fd);
  }
  const small = path.join(work, 'data-small', 'files');
  if (!fs.existsSync(small) || fs.readdirSync(small).length !== fileCount) {
    fs.rmSync(small, { recursive: true, force: true });
    fs.mkdirSync(small, { recursive: true });
    for (let i = 0; i < fileCount; i++)
      fs.writeFileSync(path.join(small, `f${i}.bin`), randomBytes(fileSize));
  }
  return { big, small };
}

/** A DVC repo tracking `target` (a path inside `dataDir`), its remote under `prefix`. */
function cpvRepo(name, dataDir, target, prefix) {
  const repo = path.join(work, `repo-${name}`);
  toTrash(repo);
  fs.mkdirSync(repo);
  fs.cpSync(path.join(dataDir, target), path.join(repo, target), { recursive: true });
  cpv(['init', '--no-scm'], repo);
  cpv(['add', target], repo);
  fs.appendFileSync(
    path.join(repo, '.dvc', 'config'),
    `['remote "bench"']\n    url = s3://${bucket}/${prefix}\n    endpointurl = ${endpoint}\n`,
  );
  fs.writeFileSync(
    path.join(repo, '.dvc', 'config.local'),
    `['remote "bench"']\n    access_key_id = ${accessKey}\n    secret_access_key = ${secretKey}\n`,
  );
  return repo;
}

/**
 * Each tool is a set of row runners (seconds each, set-up untimed). Rows run tool after tool, so
 * all tools meet the server in the same state (a busy server slows whoever runs while it digests
 * the previous gigabyte).
 */
function cpvTool(data) {
  let bigRepo;
  let smallRepo;
  const out = {};
  const push = (repo) => cpv(['push', '-q', '-r', 'bench', '-j', String(jobs)], repo);
  const fetch = (repo) => cpv(['fetch', '-q', '-r', 'bench', '-j', String(jobs)], repo);
  out.rssPush = 0;
  out.rssFetch = 0;
  return {
    out,
    // A fresh remote prefix per round: a push skips what the remote already has.
    upBig(round) {
      bigRepo = cpvRepo('big', path.dirname(data.big), 'big.bin', `cpv-big-${round}`);
      return timed(() => {
        out.rssPush = Math.max(out.rssPush, push(bigRepo));
      });
    },
    downBig() {
      toTrash(path.join(bigRepo, '.dvc', 'cache'));
      return timed(() => {
        out.rssFetch = Math.max(out.rssFetch, fetch(bigRepo));
      });
    },
    upSmall(round) {
      smallRepo = cpvRepo('small', path.dirname(data.small), 'files', `cpv-small-${round}`);
      return timed(() => push(smallRepo));
    },
    downSmall() {
      toTrash(path.join(smallRepo, '.dvc', 'cache'));
      return timed(() => fetch(smallRepo));
    },
  };
}

function rcloneTool(data) {
  const { AWS_CA_BUNDLE: _unused, ...inherited } = process.env; // rclone rejects it on plain http
  const env = {
    ...inherited,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Ceph',
    RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: accessKey,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: secretKey,
  };
  const flags = [
    '--transfers',
    String(jobs),
    '--checkers',
    String(jobs),
    '--s3-upload-concurrency',
    String(jobs),
    '--multi-thread-streams',
    String(jobs),
  ];
  const rc = (...args) => run('rclone', [...args, ...flags], { env });
  const down = path.join(work, 'rclone-down');
  // Fresh places every round: rclone skips files the destination already has.
  const fresh = (p) => {
    toTrash(p);
    return p;
  };
  return {
    upBig: (round) => timed(() => rc('copyto', data.big, `bench:${bucket}/rclone-big-${round}/big.bin`)),
    downBig: (round) => {
      const to = path.join(fresh(down), 'big.bin');
      return timed(() => rc('copyto', `bench:${bucket}/rclone-big-${round}/big.bin`, to));
    },
    upSmall: (round) => timed(() => rc('copy', data.small, `bench:${bucket}/rclone-small-${round}`)),
    downSmall: (round) => {
      const to = path.join(fresh(down), 'small');
      return timed(() => rc('copy', `bench:${bucket}/rclone-small-${round}`, to));
    },
  };
}

function awsTool(data) {
  const config = path.join(work, 'aws-config');
  fs.writeFileSync(
    config,
    `[default]\nregion = us-east-1\ns3 =\n    max_concurrent_requests = ${jobs}\n    addressing_style = path\n`,
  );
  const env = {
    ...process.env,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_ACCESS_KEY_ID: accessKey,
    AWS_SECRET_ACCESS_KEY: secretKey,
  };
  const aws = (...args) =>
    run('aws', ['--endpoint-url', endpoint, 's3', ...args, '--only-show-errors'], { env });
  const down = path.join(work, 'aws-down');
  fs.rmSync(down, { recursive: true, force: true });
  // aws s3 cp always copies; its downloads overwrite the previous round's files.
  return {
    upBig: () => timed(() => aws('cp', data.big, `s3://${bucket}/aws-big/big.bin`)),
    downBig: () => timed(() => aws('cp', `s3://${bucket}/aws-big/big.bin`, path.join(down, 'big.bin'))),
    upSmall: () => timed(() => aws('cp', '--recursive', data.small, `s3://${bucket}/aws-small`)),
    downSmall: () =>
      timed(() => aws('cp', '--recursive', `s3://${bucket}/aws-small`, path.join(down, 'small'))),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function emptyBucket() {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key }));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

function printTable(results) {
  const rate = {
    upBig: (t) => bigSize / MiB / t,
    downBig: (t) => bigSize / MiB / t,
    upSmall: (t) => fileCount / t,
    downSmall: (t) => fileCount / t,
  };
  const names = {
    upBig: `upload 1 × ${bigSize / MiB} MiB (MiB/s)`,
    downBig: `download 1 × ${bigSize / MiB} MiB (MiB/s)`,
    upSmall: `upload ${fileCount} × ${fileSize / 1024} KiB (files/s)`,
    downSmall: `download ${fileCount} × ${fileSize / 1024} KiB (files/s)`,
  };
  const peers = Object.keys(results).filter((k) => k !== 'cpv');
  const header = ['row', 'cpv', ...peers, 'cpv / best peer', 'target'];
  const lines = [header];
  for (const key of Object.keys(names)) {
    const ours = rate[key](results.cpv[key]);
    const theirs = peers.map((p) => (results[p].error ? NaN : rate[key](results[p][key])));
    const best = Math.max(...theirs.filter((v) => Number.isFinite(v)));
    lines.push([
      names[key],
      ours.toFixed(1),
      ...theirs.map((v) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a')),
      Number.isFinite(best) ? `${(ours / best).toFixed(2)}×` : 'n/a',
      '≥ 1.0×',
    ]);
  }
  lines.push([
    'peak RSS cpv push big (MiB)',
    results.cpv.rssPush.toFixed(0),
    ...peers.map(() => ''),
    '',
    '< 256',
  ]);
  lines.push([
    'peak RSS cpv fetch big (MiB)',
    results.cpv.rssFetch.toFixed(0),
    ...peers.map(() => ''),
    '',
    '',
  ]);
  const widths = header.map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  for (const l of lines) console.log(l.map((c, i) => String(c).padEnd(widths[i])).join('  '));
  for (const p of peers) if (results[p].error) console.log(`(${p}: ${results[p].error})`);
}

async function main() {
  if (!fs.existsSync(cli)) throw new Error('dist/cli.cjs is missing: run `npm run build` first');
  fs.mkdirSync(work, { recursive: true });
  const data = makeData();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const results = {};
  const samples = {};
  try {
    console.log(
      `S3 bench: ${endpoint}, bucket ${bucket}, ${jobs} parallel, ${rounds} round(s) (median shown)`,
    );
    const cpvRunner = cpvTool(data);
    const tools = { cpv: cpvRunner };
    results.cpv = cpvRunner.out;
    for (const [name, make] of [
      ['rclone', rcloneTool],
      ['aws', awsTool],
    ]) {
      if (has(name)) {
        tools[name] = make(data);
        results[name] = {};
      } else results[name] = { error: `not installed (apt-get install ${name === 'aws' ? 'awscli' : name})` };
    }
    const toolList = Object.entries(tools);
    for (let round = 0; round < rounds; round++) {
      // Each round starts its rows with another tool: the first to run after a heavy row meets a
      // server still busy with it (compaction, garbage collection), and that should not always be
      // the same tool.
      const shift = round % toolList.length;
      const order = [...toolList.slice(shift), ...toolList.slice(0, shift)];
      for (const row of ['upBig', 'downBig', 'upSmall', 'downSmall']) {
        for (const [name, tool] of order) {
          if (results[name].error) continue;
          try {
            const key = `${name}.${row}`;
            samples[key] ??= [];
            samples[key].push(tool[row](round));
            results[name][row] = median(samples[key]);
          } catch (err) {
            if (name === 'cpv') throw err;
            results[name] = { error: err.message.split('\n')[0] };
          }
        }
      }
    }
  } finally {
    fs.rmSync(trash, { recursive: true, force: true });
    await emptyBucket().catch((err) => console.error(`could not delete bucket ${bucket}: ${err.message}`));
  }
  printTable(results);
  printRounds(samples);
}

/** Every round's time, so the spread behind each median is visible. */
function printRounds(samples) {
  console.log('rounds (seconds, in run order):');
  for (const [key, times] of Object.entries(samples)) {
    console.log(`  ${key.padEnd(18)} ${times.map((t) => t.toFixed(2)).join('  ')}`);
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
