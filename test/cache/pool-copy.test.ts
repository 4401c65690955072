/**
 * Copy-out on the worker pool (checkout with cache.type copy, many files): each copy lands whole
 * with its mode and stamp, and a failure names its file and leaves no temp behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { checkout } from '../../src/api/checkout.js';
import { initRepo } from '../../src/api/init.js';
import { repoStatus } from '../../src/api/status.js';
import { WorkerPool } from '../../src/cache/pool.js';
import { CpvError } from '../../src/errors.js';
import { gitRepo, tempDir } from '../helpers/tmp.js';

const pool = new WorkerPool({ jobs: 2 });
afterAll(() => pool.close());

function sources(dir: string, n: number): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return Array.from({ length: n }, (_, i) => {
    const p = path.join(dir, `s${i}`);
    fs.writeFileSync(p, `content ${i}`.repeat(i % 7));
    fs.chmodSync(p, 0o444);
    return p;
  });
}

describe('WorkerPool.copy', () => {
  it('copies each source to its target with the given mode and reports the new stat', async () => {
    const root = tempDir();
    const src = sources(path.join(root, 'src'), 40);
    fs.mkdirSync(path.join(root, 'out'));
    const targets = src.map((_, i) => path.join(root, 'out', `t${i}`));
    fs.writeFileSync(targets[3]!, 'old bytes, replaced');
    const got = await pool.copy(src, targets, 0o640);
    for (let i = 0; i < src.length; i++) {
      const st = fs.statSync(targets[i]!, { bigint: true });
      expect(fs.readFileSync(targets[i]!, 'utf8')).toBe(fs.readFileSync(src[i]!, 'utf8'));
      expect(Number(st.mode) & 0o777).toBe(0o640 & ~process.umask());
      expect(got[i]).toEqual({ ino: st.ino, mtimeNs: st.mtimeNs, size: Number(st.size) });
    }
    expect(fs.readdirSync(path.join(root, 'out')).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('onResult reports each copy as its batch comes back, the same stat the call returns', async () => {
    const root = tempDir();
    const src = sources(path.join(root, 'src'), 300);
    fs.mkdirSync(path.join(root, 'out'));
    const targets = src.map((_, i) => path.join(root, 'out', `t${i}`));
    const seen: unknown[] = [];
    const got = await pool.copy(src, targets, 0o644, { onResult: (i, file) => (seen[i] = file) });
    expect(seen.length).toBe(src.length);
    expect(seen).toEqual(got);
  });

  it('names a missing source as a read error and a missing target directory as a write error', async () => {
    const root = tempDir();
    const src = sources(path.join(root, 'src'), 3);
    fs.mkdirSync(path.join(root, 'out'));
    fs.rmSync(src[1]!);
    const targets = src.map((_, i) => path.join(root, 'out', `t${i}`));
    const readErr = await pool.copy(src, targets, 0o644).catch((e: unknown) => e);
    expect(readErr).toBeInstanceOf(CpvError);
    expect(String((readErr as Error).message)).toContain(src[1]!);

    const good = sources(path.join(root, 'src2'), 2);
    const writeErr = await pool
      .copy(good, [path.join(root, 'out', 'a'), path.join(root, 'no-such-dir', 'b')], 0o644)
      .catch((e: unknown) => e);
    expect(writeErr).toBeInstanceOf(CpvError);
    expect((writeErr as CpvError).code).toBe('E_IO');
    expect((writeErr as Error).message).toContain(path.join(root, 'no-such-dir', 'b'));
    expect(fs.readdirSync(path.join(root, 'out')).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('WorkerPool.copy of fresh targets (created in place)', () => {
  it('writes each in place with its mode, no temp, and falls back to temp + rename when one exists', async () => {
    const root = tempDir();
    const src = sources(path.join(root, 'src'), 30);
    fs.mkdirSync(path.join(root, 'out'));
    const targets = src.map((_, i) => path.join(root, 'out', `t${i}`));
    fs.writeFileSync(targets[7]!, 'appeared after planning');
    const got = await pool.copy(src, targets, 0o644, { fresh: src.map(() => true) });
    for (let i = 0; i < src.length; i++) {
      const st = fs.statSync(targets[i]!, { bigint: true });
      expect(fs.readFileSync(targets[i]!, 'utf8')).toBe(fs.readFileSync(src[i]!, 'utf8'));
      expect(Number(st.mode) & 0o7777).toBe(0o644);
      expect(got[i]).toEqual({ ino: st.ino, mtimeNs: st.mtimeNs, size: Number(st.size) });
    }
    expect(fs.readdirSync(path.join(root, 'out')).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('removes the file it was writing when a copy fails', async () => {
    const root = tempDir();
    const src = sources(path.join(root, 'src'), 3);
    fs.mkdirSync(path.join(root, 'out'));
    // A directory as a source: open works, read fails (EISDIR) after the target was created.
    fs.rmSync(src[1]!);
    fs.mkdirSync(src[1]!);
    const targets = src.map((_, i) => path.join(root, 'out', `t${i}`));
    const err = await pool.copy(src, targets, 0o644, { fresh: [true, true, true] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CpvError);
    expect(fs.existsSync(targets[1]!)).toBe(false);
    expect(fs.readFileSync(targets[0]!, 'utf8')).toBe(fs.readFileSync(src[0]!, 'utf8'));
  });
});

describe('checkout copies a large directory on the pool', () => {
  it('restores every file with the workspace mode, and status is clean', async () => {
    const dir = gitRepo();
    const files = 600; // above the parallel threshold
    for (let i = 0; i < files; i++) {
      const sub = path.join(dir, 'data', `d${i % 5}`);
      fs.mkdirSync(sub, { recursive: true });
      fs.writeFileSync(path.join(sub, `f${i}`), `file ${i}\n`);
    }
    await initRepo(dir);
    fs.appendFileSync(path.join(dir, '.dvc/config'), '[cache]\n    type = copy\n');
    await addTargets(['data'], { cwd: dir });
    fs.rmSync(path.join(dir, 'data'), { recursive: true });
    const events: Array<{ target: string; done: number; total: number }> = [];
    const result = await checkout([], { cwd: dir, onProgress: (e) => events.push(e) });
    expect(result.linkType).toBe('copy');
    expect(events.at(-1)).toEqual({ target: 'data/', done: files, total: files });
    expect(events.every((e, i) => i === 0 || e.done >= events[i - 1]!.done)).toBe(true);
    for (let i = 0; i < files; i++) {
      const p = path.join(dir, 'data', `d${i % 5}`, `f${i}`);
      expect(fs.readFileSync(p, 'utf8')).toBe(`file ${i}\n`);
      expect(fs.statSync(p).mode & 0o777).toBe(0o666 & ~process.umask());
    }
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });
});
