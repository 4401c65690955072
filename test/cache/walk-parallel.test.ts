/**
 * The walk with its stats taken on every core (walkTreeAsync / lstatMany) must be the plain walk
 * exactly: same entries, same fields, same order, and the same errors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DvcIgnore } from '../../src/cache/dvcignore.js';
import { STAT_FIELDS } from '../../src/cache/stat-fields.js';
import { lstatMany, PARALLEL_STAT_MIN, StatStream } from '../../src/cache/stat-pool.js';
import { treeFingerprint } from '../../src/cache/tree-stamp.js';
import { type WalkEntry, walkTree, walkTreeAsync } from '../../src/cache/walk.js';
import { tempDir } from '../helpers/tmp.js';

function bigTree(root: string, files: number): string {
  const d = path.join(root, 'd');
  for (let i = 0; i < files; i++) {
    const sub = path.join(d, `s${i % 37}`);
    if (i < 37) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}`), String(i));
  }
  fs.symlinkSync(path.join(d, 's0', 'f0'), path.join(d, 'link-to-f0'));
  fs.writeFileSync(path.join(d, 'skip.tmp'), 'ignored');
  return d;
}

/** An entry's fields as plain data (walkTreeAsync's regular files read theirs from a shared table). */
const plainOf = (entries: WalkEntry[]) =>
  entries.map(({ relpath, path, size, mtimeNs, ino, mode, isLink }) => ({
    relpath,
    path,
    size,
    mtimeNs,
    ino,
    mode,
    isLink,
  }));

describe('walkTreeAsync', () => {
  it('equals walkTree on a tree big enough for helper threads (symlink and .dvcignore included)', async () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, '.dvcignore'), '*.tmp\n');
    const d = bigTree(root, PARALLEL_STAT_MIN + 500);
    const opts = { ignore: await DvcIgnore.load(root), repoRoot: root };
    const plain = walkTree(d, opts);
    const parallel = await walkTreeAsync(d, opts);
    expect(parallel.length).toBe(PARALLEL_STAT_MIN + 501);
    expect(plainOf(parallel)).toEqual(plain);
    // The fingerprint copies the shared table's bytes for these entries: the same as from the fields.
    expect(treeFingerprint(parallel)).toBe(treeFingerprint(plain));
    expect(parallel.find((e) => e.relpath === 'link-to-f0')?.isLink).toBe(true);
  });

  it('calls onFileCount once, when the walk has found that many files, and not for fewer', async () => {
    const d = bigTree(tempDir(), 50);
    let calls = 0;
    const notify = () => calls++;
    await walkTreeAsync(d, { onFileCount: { atLeast: 10, notify } });
    expect(calls).toBe(1);
    await walkTreeAsync(d, { onFileCount: { atLeast: 52, notify } }); // 50 files + the symlink = 51
    expect(calls).toBe(1);
  });

  it('has the fingerprint of its fields when hashed straight from the stat table (no links)', async () => {
    const d = path.join(tempDir(), 'plain');
    for (let i = 0; i < 300; i++) {
      fs.mkdirSync(path.join(d, `s${i % 3}`), { recursive: true });
      fs.writeFileSync(path.join(d, `s${i % 3}`, `f${i}`), String(i));
    }
    const entries = await walkTreeAsync(d);
    expect(treeFingerprint(entries)).toBe(treeFingerprint(plainOf(entries)));
    fs.writeFileSync(path.join(d, 's1', 'f1'), 'changed size');
    expect(treeFingerprint(await walkTreeAsync(d))).not.toBe(treeFingerprint(entries));
  });

  it('takes expectedFiles as a hint only: helper threads from the start, the same entries', async () => {
    const small = bigTree(tempDir(), 50);
    expect(plainOf(await walkTreeAsync(small, { expectedFiles: PARALLEL_STAT_MIN }))).toEqual(
      walkTree(small),
    );
    const big = bigTree(tempDir(), PARALLEL_STAT_MIN + 300);
    const entries = await walkTreeAsync(big, { expectedFiles: 10 * PARALLEL_STAT_MIN });
    expect(plainOf(entries)).toEqual(walkTree(big));
  });

  it('equals walkTree on a small tree (no threads)', async () => {
    const d = bigTree(tempDir(), 50);
    expect(plainOf(await walkTreeAsync(d))).toEqual(walkTree(d));
  });
});

describe('lstatMany', () => {
  it('reports the paths it could not stat and fills every other slot', async () => {
    const root = tempDir();
    const d = bigTree(root, PARALLEL_STAT_MIN + 100);
    const paths = walkTree(d).map((e) => e.path);
    const gone = 1234;
    paths.splice(gone, 0, path.join(d, 'no-such-file'));
    const { values, failures } = await lstatMany(paths);
    expect([...failures.keys()]).toEqual([gone]);
    expect(failures.get(gone)?.code).toBe('ENOENT');
    for (const i of [0, gone + 1, paths.length - 1]) {
      const st = fs.lstatSync(paths[i]!, { bigint: true });
      expect(values.slice(STAT_FIELDS * i, STAT_FIELDS * i + 4)).toEqual(
        BigInt64Array.from([st.ino, st.mtimeNs, st.size, st.mode]),
      );
    }
  });
});

describe('StatStream', () => {
  it('stats paths handed over in chunks while they are added, each exactly once, failures where they are', async () => {
    const root = tempDir();
    const d = bigTree(root, 3 * 4096 + 700); // three chunks for the helpers and a tail
    const paths = walkTree(d).map((e) => e.path);
    // In the first chunk, in the second, and in the tail (inserted in this order, so each index holds).
    const missing = [5, 4096 + 17, paths.length + 2 - 10];
    for (const i of missing) paths.splice(i, 0, path.join(d, `gone-${i}`));
    const stream = StatStream.start();
    for (const p of paths) stream.add(p);
    // finish at once: helpers still booting leave most chunks to this thread, newest first.
    const { values, failures } = await stream.finish();
    expect([...failures.keys()].sort((a, b) => a - b)).toEqual(missing);
    for (let i = 0; i < paths.length; i++) {
      if (missing.includes(i)) continue;
      const st = fs.lstatSync(paths[i]!, { bigint: true });
      const got = values.slice(STAT_FIELDS * i, STAT_FIELDS * i + 4);
      if (got[0] !== st.ino || got[1] !== st.mtimeNs || got[2] !== st.size || got[3] !== st.mode) {
        throw new Error(`slot ${i} (${paths[i]}) holds other stats`);
      }
    }
  });
});
