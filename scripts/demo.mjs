// The main job end to end on embedded defaults (local storage directory, local git, no AWS, no git
// host), through the `cpv` CLI as a user types it:
//   1. checkpoints: model init → upload with metrics → tag v1.0 → change → upload → tag v1.1 →
//      versions → download v1.0 → revert to v1.0 → info
//   2. DVC-compatible core in the model repo: status, a data change, status --json, add, push.
// usage: npm run demo  [-- <dir>]   (keeps <dir> if given, else uses and removes a temp dir)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
const keep = process.argv[2];
const dir = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'cpv-demo-'));
fs.mkdirSync(dir, { recursive: true });
// Everything stays inside the demo directory: settings, the storage "remote", the repos.
const env = {
  ...process.env,
  CPV_HOME: path.join(dir, '.cpv-home'),
  GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? 'cpv demo',
  GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? 'demo@example.com',
};

function cpv(cwd, ...args) {
  console.log(`\n$ cpv ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', env });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0) throw new Error(`cpv ${args.join(' ')} exited ${r.status}`);
  return r;
}

/** A deterministic stand-in for a checkpoint: `epoch` changes every byte. */
function writeWeights(file, epoch) {
  const model = Buffer.alloc(2 * 1024 * 1024);
  for (let i = 0; i < model.length; i += 4) model.writeUInt32LE(((i + epoch) * 2654435761) >>> 0, i);
  fs.writeFileSync(file, model);
}

function generateData(root) {
  for (const split of ['train', 'val']) {
    fs.mkdirSync(path.join(root, split), { recursive: true });
    for (let i = 0; i < 50; i++) {
      fs.writeFileSync(path.join(root, split, `sample${i}.csv`), `id,label\n${i},${(i * 7) % 3}\n`);
    }
  }
}

try {
  console.log(`demo directory: ${dir}`);
  const source = path.join(dir, 'incoming-data');
  generateData(source);
  const repo = path.join(dir, 'resnet');

  cpv(dir, 'setup', '--storage-dir', path.join(dir, 'storage'));
  cpv(dir, 'model', 'init', 'vision/resnet', '--data', source);
  writeWeights(path.join(repo, 'model.bin'), 1);
  cpv(dir, 'model', 'upload', 'vision/resnet', '--metrics', '{"loss": 0.42, "epoch": 1}', '-m', 'epoch 1');
  cpv(dir, 'model', 'tag', 'vision/resnet');
  writeWeights(path.join(repo, 'model.bin'), 2);
  cpv(dir, 'model', 'upload', 'vision/resnet', '--metrics', '{"loss": 0.31, "epoch": 2}', '-m', 'epoch 2');
  cpv(dir, 'model', 'tag', 'vision/resnet', '-m', 'lower loss');
  cpv(dir, 'model', 'versions', 'vision/resnet');
  cpv(dir, 'model', 'download', 'vision/resnet', 'v1.0', '-o', path.join(dir, 'resnet-v1.0'));
  cpv(dir, 'model', 'revert', 'vision/resnet', 'v1.0');
  cpv(dir, 'model', 'info', 'vision/resnet');

  console.log('\n--- the model repo is a DVC 3 repository: the DVC commands work on it ---');
  cpv(repo, 'status');
  fs.appendFileSync(path.join(repo, 'data', 'train', 'sample0.csv'), '999,1\n');
  console.log('\n(changed data/train/sample0.csv)');
  cpv(repo, 'status', '--json');
  cpv(repo, 'add', 'data');
  cpv(repo, 'push');
  cpv(repo, 'status', '-c');
  console.log('\ndemo finished: every step ran locally; Python DVC can use these repositories as they are.');
} finally {
  if (!keep) fs.rmSync(dir, { recursive: true, force: true });
}
