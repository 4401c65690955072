/**
 * kill -9 at a random moment during `cpv add`, `cpv checkout` and `cpv gc` (spawned from
 * dist/cli.js), then run the same command again. After recovery:
 * - every object in the cache hashes to its name and is read-only (no corrupt object, ever);
 * - the workspace is identical to the tracked version;
 * - `status` is truthful: clean now, and it notices a later edit (no wrong hash was remembered).
 * Delays come from a seeded generator so a failure names its seed; each scenario runs a few times.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { seeded } from '../helpers/seeded.js';
import { gitCli, gitRepo, tempDir } from '../helpers/tmp.js';

const projectRoot = path.resolve(import.meta.dirname, '../..');
/**
 * A private copy of dist/ (with package.json and a node_modules link beside it): other people
 * rebuilding dist/ while these tests run must not swap modules under a running cpv.
 */
let bin = path.join(projectRoot, 'dist', 'cli.js');
beforeAll(() => {
  if (!fs.existsSync(bin)) return;
  const snap = tempDir('cpv-crash-dist-');
  fs.cpSync(path.join(projectRoot, 'dist'), path.join(snap, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(projectRoot, 'package.json'), path.join(snap, 'package.json'));
  fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(snap, 'node_modules'));
  bin = path.join(snap, 'dist', 'cli.js');
});
const ROUNDS = 3;

function cpv(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cpvOk(cwd: string, ...args: string[]): string {
  const r = cpv(cwd, ...args);
  if (r.status !== 0) throw new Error(`cpv ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Starts cpv and SIGKILLs it after `delayMs` (or lets it finish if it is faster). */
function runAndKill(cwd: string, args: string[], delayMs: number): Promise<{ killed: boolean }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [bin, ...args], { cwd, stdio: 'ignore' });
    let killed = false;
    const timer = setTimeout(() => {
      killed = child.kill('SIGKILL');
    }, delayMs);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ killed: killed && signal === 'SIGKILL' });
    });
  });
}

function timed(fn: () => void): number {
  const t0 = Date.now();
  fn();
  return Date.now() - t0;
}

/** Writes a data set: many small files and a few larger ones, contents derived from `seed`. */
function writeData(root: string, seed: number, files = 160): void {
  const next = seeded(seed);
  for (let i = 0; i < files; i++) {
    const p = path.join(root, 'data', `d${i % 8}`, `f${i}.bin`);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const size = i % 60 === 0 ? 128 * 1024 : 1 + Math.floor(next() * 2048);
    const buf = Buffer.alloc(size);
    for (let j = 0; j < size; j++) buf[j] = Math.floor(next() * 256);
    fs.writeFileSync(p, buf);
  }
  const big = Buffer.alloc(6 << 20);
  for (let j = 0; j < big.length; j += 4096) big.writeUInt32LE((seed * 7919 + j) >>> 0, j);
  fs.writeFileSync(path.join(root, 'model.bin'), big);
}

/** relpath → md5 of every file under data/ and model.bin (the tracked workspace). */
function workspace(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) visit(abs);
      else out[path.relative(root, abs)] = md5(fs.readFileSync(abs));
    }
  };
  if (fs.existsSync(path.join(root, 'data'))) visit(path.join(root, 'data'));
  if (fs.existsSync(path.join(root, 'model.bin')))
    out['model.bin'] = md5(fs.readFileSync(path.join(root, 'model.bin')));
  return out;
}

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** Every cache object must hash to its name and be 0444; temp files are allowed (garbage). */
function assertCacheIntact(root: string, label: string): number {
  const base = path.join(root, '.dvc/cache/files/md5');
  let objects = 0;
  if (!fs.existsSync(base)) return 0;
  for (const d of fs.readdirSync(base)) {
    const dir = path.join(base, d);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const name of fs.readdirSync(dir)) {
      if (name.startsWith('.tmp-')) continue;
      const p = path.join(dir, name);
      const oid = d + name;
      expect(md5(fs.readFileSync(p)), `${label}: object ${oid}`).toBe(oid.replace(/\.dir$/, ''));
      expect(fs.statSync(p).mode & 0o777, `${label}: mode of ${oid}`).toBe(0o444);
      objects++;
    }
  }
  return objects;
}

function assertStatusTruthful(root: string, label: string): void {
  expect(cpvOk(root, 'status', '--json').trim(), `${label}: status`).toBe('{}');
  const f = path.join(root, 'data', 'd1', 'f1.bin');
  const old = fs.readFileSync(f);
  fs.writeFileSync(f, Buffer.concat([old, Buffer.from('x')]));
  expect(JSON.parse(cpvOk(root, 'status', '--json')), `${label}: status sees an edit`).toEqual({
    'data.dvc': [{ 'changed outs': { data: 'modified' } }],
  });
  fs.writeFileSync(f, old);
}

function freshRepo(seed: number): string {
  const root = gitRepo();
  cpvOk(root, 'init');
  writeData(root, seed);
  return root;
}

describe('kill -9, then rerun', () => {
  it('dist/cli.js is built', () => {
    expect(fs.existsSync(path.join(projectRoot, 'dist', 'cli.js')), 'run `npm run build` first').toBe(true);
  });

  it.each(Array.from({ length: ROUNDS }, (_, i) => 1000 + i))('add (seed %i)', async (seed) => {
    const root = freshRepo(seed);
    const expected = workspace(root);
    // Measure a clean add on a twin repo to know the window to kill in.
    const twin = freshRepo(seed);
    const full = timed(() => cpvOk(twin, 'add', 'data', 'model.bin'));
    const delay = 40 + Math.floor(seeded(seed)() * full);
    const { killed } = await runAndKill(root, ['add', 'data', 'model.bin'], delay);
    const label = `add seed ${seed} delay ${delay}/${full}ms killed=${killed}`;
    assertCacheIntact(root, `${label} (after kill)`);
    cpvOk(root, 'add', 'data', 'model.bin');
    expect(workspace(root), label).toEqual(expected);
    expect(assertCacheIntact(root, label)).toBeGreaterThan(160);
    expect(fs.readFileSync(path.join(root, 'data.dvc'), 'utf8')).toBe(
      fs.readFileSync(path.join(twin, 'data.dvc'), 'utf8'),
    );
    assertStatusTruthful(root, label);
  });

  it.each(Array.from({ length: ROUNDS }, (_, i) => 2000 + i))('checkout (seed %i)', async (seed) => {
    const root = freshRepo(seed);
    cpvOk(root, 'add', 'data', 'model.bin');
    const expected = workspace(root);
    fs.rmSync(path.join(root, 'data'), { recursive: true });
    fs.rmSync(path.join(root, 'model.bin'));
    const full = timed(() => cpvOk(root, 'checkout'));
    expect(workspace(root)).toEqual(expected);
    fs.rmSync(path.join(root, 'data'), { recursive: true });
    fs.rmSync(path.join(root, 'model.bin'));
    const delay = 40 + Math.floor(seeded(seed)() * full);
    const { killed } = await runAndKill(root, ['checkout'], delay);
    const label = `checkout seed ${seed} delay ${delay}/${full}ms killed=${killed}`;
    cpvOk(root, 'checkout');
    expect(workspace(root), label).toEqual(expected);
    assertCacheIntact(root, label);
    assertStatusTruthful(root, label);
  });

  it.each(Array.from({ length: ROUNDS }, (_, i) => 3000 + i))('gc (seed %i)', async (seed) => {
    const root = freshRepo(seed);
    cpvOk(root, 'add', 'data', 'model.bin');
    gitCli(root, 'add', '-A');
    gitCli(root, 'commit', '-qm', 'v1');
    // A second version whose objects become garbage for `gc -w` after going back to v1's files.
    fs.rmSync(path.join(root, 'data'), { recursive: true });
    writeData(root, seed + 500, 240);
    cpvOk(root, 'add', 'data', 'model.bin');
    gitCli(root, 'checkout', '-q', '--', 'data.dvc', 'model.bin.dvc');
    cpvOk(root, 'checkout', '--force');
    const expected = workspace(root);
    // The window to kill in: a dry run reads everything a real run reads.
    const full = 2 * timed(() => cpvOk(root, 'gc', '-w', '--dry'));
    const delay = 40 + Math.floor(seeded(seed)() * full);
    const { killed } = await runAndKill(root, ['gc', '-w', '-f'], delay);
    const label = `gc seed ${seed} delay ${delay}/${full}ms killed=${killed}`;
    assertCacheIntact(root, `${label} (after kill)`);
    // Whatever was deleted, the workspace's data must all still be there.
    expect(JSON.parse(cpvOk(root, 'status', '--json')), label).toEqual({});
    cpvOk(root, 'gc', '-w', '-f');
    assertCacheIntact(root, label);
    expect(cpvOk(root, 'gc', '-w', '--dry'), label).toMatch(/^No unused 'repo' cache to remove\./);
    fs.rmSync(path.join(root, 'data'), { recursive: true });
    cpvOk(root, 'checkout');
    expect(workspace(root), label).toEqual(expected);
    assertStatusTruthful(root, label);
  });
});
