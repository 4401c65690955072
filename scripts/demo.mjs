// The main job end to end on embedded defaults (local storage, no AWS, no git host):
// a fresh git repo in a temp dir, a generated model checkpoint and data set, then
// `cpv init`, `cpv add`, `cpv status`, a change, and `cpv status` again.
// usage: npm run demo  [-- <dir>]   (keeps <dir> if given, else uses and removes a temp dir)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import git from 'isomorphic-git';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
const keep = process.argv[2];
const dir = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'cpv-demo-'));
fs.mkdirSync(dir, { recursive: true });

function cpv(...args) {
  console.log(`\n$ cpv ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0 && !(args[0] === 'status' && args.includes('-q'))) {
    throw new Error(`cpv ${args.join(' ')} exited ${r.status}`);
  }
  return r;
}

function generateSample() {
  const model = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < model.length; i += 4) model.writeUInt32LE((i * 2654435761) >>> 0, i);
  fs.writeFileSync(path.join(dir, 'model.bin'), model);
  for (const split of ['train', 'val']) {
    fs.mkdirSync(path.join(dir, 'data', split), { recursive: true });
    for (let i = 0; i < 50; i++) {
      fs.writeFileSync(path.join(dir, 'data', split, `sample${i}.csv`), `id,label\n${i},${(i * 7) % 3}\n`);
    }
  }
}

try {
  console.log(`demo repository: ${dir}`);
  await git.init({ fs, dir, defaultBranch: 'main' });
  generateSample();
  cpv('init');
  cpv('add', 'model.bin', 'data');
  console.log(`\n$ cat data.dvc\n${fs.readFileSync(path.join(dir, 'data.dvc'), 'utf8')}`);
  cpv('status');
  fs.appendFileSync(path.join(dir, 'data', 'train', 'sample0.csv'), '999,1\n');
  console.log('\n(changed data/train/sample0.csv)');
  cpv('status', '--json');
  cpv('add', 'data');
  cpv('status');
  console.log('\ndemo finished: the repository is usable by Python DVC as it is.');
} finally {
  if (!keep) fs.rmSync(dir, { recursive: true, force: true });
}
