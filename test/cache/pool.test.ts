import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type HashName, hashFile } from '../../src/cache/hash.js';
import { OBJECT_MODE, ObjectStore, TEMP_PREFIX } from '../../src/cache/odb.js';
import { closePool, hashFiles, SMALL_FILE_LIMIT, storeFiles, WorkerPool } from '../../src/cache/pool.js';
import { isCpvError } from '../../src/errors.js';
import { materialise, tempDir } from '../helpers/tmp.js';
import { loadVectors } from '../helpers/vectors.js';
import { MiB } from './dos2unix-ref.js';

const pool = new WorkerPool({ jobs: 2 });
afterAll(async () => {
  await pool.close();
  await closePool();
});

/** A few hundred files: empty, binary, CRLF text, duplicates, and three past the small-file limit. */
function makeDataset(): string[] {
  const dir = tempDir();
  const paths: string[] = [];
  const add = (name: string, data: Uint8Array | string) => {
    const p = path.join(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
    paths.push(p);
  };
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 16;
  };
  for (let i = 0; i < 300; i++) {
    const size = rnd() % 20_000;
    if (i % 3 === 0) add(`d${i % 7}/text${i}.txt`, 'row,with,crlf\r\n'.repeat(size / 15 + 1));
    else if (i % 3 === 1) add(`d${i % 7}/bin${i}.bin`, Buffer.from(Array.from({ length: size }, rnd)));
    else add(`d${i % 7}/same${i}.txt`, 'duplicate content\r\n'); // many copies of one object
  }
  add('empty', '');
  // Exactly the limit, and past it with a CRLF split over a 1 MiB boundary deep inside the file.
  add('limit.txt', Buffer.alloc(SMALL_FILE_LIMIT, 'a\r\n'));
  const big = Buffer.alloc(SMALL_FILE_LIMIT + 3 * MiB + 11, 'ab\r\n');
  big[9 * MiB - 1] = 0x0d;
  big[9 * MiB] = 0x0a;
  add('big.txt', big);
  add('big.bin', Buffer.concat([Buffer.from([0]), Buffer.alloc(SMALL_FILE_LIMIT + 5, '\r\n')]));
  // Several of the worker's streaming blocks past the limit, a CRLF split in a later one.
  const bigger = Buffer.alloc(SMALL_FILE_LIMIT + 9 * MiB + 3, 'xy\r\n');
  bigger[SMALL_FILE_LIMIT + 8 * MiB - 1] = 0x0d;
  bigger[SMALL_FILE_LIMIT + 8 * MiB] = 0x0a;
  add('bigger.txt', bigger);
  return paths;
}

const dataset = makeDataset();

async function expected(paths: string[], hashName: HashName) {
  return Promise.all(paths.map((p) => hashFile(p, hashName)));
}

function temps(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((p) =>
    path.basename(p).startsWith(TEMP_PREFIX),
  );
}

describe('hashFiles', () => {
  for (const hashName of ['md5', 'md5-dos2unix'] as const) {
    it(`matches hashFile on ${dataset.length} files (${hashName})`, async () => {
      const progress: number[] = [];
      const got = await hashFiles(dataset, hashName, {
        pool,
        onProgress: (done, total) => progress.push(done / total),
      });
      expect(got).toEqual(await expected(dataset, hashName));
      expect(progress.at(-1)).toBe(1);
      expect(progress.length).toBeGreaterThan(1); // batched, not one message for everything
      expect(progress.length).toBeLessThan(dataset.length); // ... nor one message per file
    });
  }

  it('matches every DVC file vector in a worker', async () => {
    const root = tempDir();
    const vectors = loadVectors().filter((v) => v.kind === 'file');
    const paths = vectors.map((v, i) => {
      const sub = path.join(root, String(i));
      materialise(sub, v.tree);
      return path.join(sub, v.target!);
    });
    const md5 = await hashFiles(paths, 'md5', { pool });
    const legacy = await hashFiles(paths, 'md5-dos2unix', { pool });
    vectors.forEach((v, i) => {
      expect(md5[i]!.md5, v.id).toBe(v.expect['md5']);
      if (v.expect['md5_dos2unix'] !== undefined) expect(legacy[i]!.md5, v.id).toBe(v.expect['md5_dos2unix']);
    });
  });

  it('workers forced onto hash-wasm agree', async () => {
    const wasmPool = new WorkerPool({ jobs: 2, forceWasm: true });
    try {
      const some = dataset.filter((_, i) => i % 10 === 0 || i >= dataset.length - 3);
      for (const hashName of ['md5', 'md5-dos2unix'] as const) {
        expect(await hashFiles(some, hashName, { pool: wasmPool })).toEqual(await expected(some, hashName));
      }
    } finally {
      await wasmPool.close();
    }
  });

  it('hashes a few files in-process and many through the shared pool; jobs gives a private pool', async () => {
    const few = dataset.slice(0, 5);
    expect(await hashFiles(few, 'md5')).toEqual(await expected(few, 'md5'));
    const many = dataset.slice(0, 150);
    expect(await hashFiles(many, 'md5-dos2unix')).toEqual(await expected(many, 'md5-dos2unix'));
    expect(await hashFiles(many, 'md5', { jobs: 1 })).toEqual(await expected(many, 'md5'));
    expect(await hashFiles([], 'md5')).toEqual([]);
  });

  it('onResult reports every file once, with its index and the result the call returns', async () => {
    for (const [paths, extra] of [
      [dataset.slice(0, 5), {}], // in-process
      [dataset.slice(0, 150), { pool }], // worker batches, which come back in any order
    ] as const) {
      const seen = new Map<number, unknown>();
      const results = await hashFiles(paths, 'md5', {
        ...extra,
        onResult: (i, r) => {
          expect(seen.has(i)).toBe(false);
          seen.set(i, r);
        },
      });
      expect(seen.size).toBe(paths.length);
      expect(results.map((_, i) => seen.get(i))).toEqual(results);
    }
  });

  it('rejects with the mapped error of a missing file, in-process and in workers', async () => {
    const missing = path.join(tempDir(), 'missing.bin');
    const list = [...dataset.slice(0, 100), missing, ...dataset.slice(100, 200)];
    for (const attempt of [() => hashFiles([missing]), () => hashFiles(list, 'md5', { pool })]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(isCpvError(err) && err.code).toBe('E_TARGET_MISSING');
      expect((err as Error).message).toContain(missing);
    }
    // The pool is still usable afterwards.
    expect(await hashFiles(dataset.slice(0, 3), 'md5', { pool })).toEqual(
      await expected(dataset.slice(0, 3), 'md5'),
    );
  });

  it('a directory among the paths → E_IO', async () => {
    const err = await hashFiles([...dataset.slice(0, 70), tempDir()], 'md5', { pool }).catch(
      (e: unknown) => e,
    );
    expect(isCpvError(err) && err.code).toBe('E_IO');
  });

  it('honours an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort(new Error('user cancelled'));
    await expect(hashFiles(dataset, 'md5', { pool, signal: ac.signal })).rejects.toThrow('user cancelled');
    await expect(hashFiles(dataset.slice(0, 2), 'md5', { signal: ac.signal })).rejects.toThrow(
      'user cancelled',
    );
  });
});

describe('WorkerPool batches', () => {
  it('a one-thread pool runs many batches (two sent at a time) in order; a failure leaves no later write', async () => {
    const one = new WorkerPool({ jobs: 1 });
    try {
      const files = dataset.filter((p) => fs.statSync(p).size < 30_000);
      expect(await one.run('hash', files, 'md5', undefined)).toEqual(await expected(files, 'md5'));
      // A missing file in the first batch: the batch sent after it still runs to its end, and
      // the call rejects only then, so no object of the call appears after the rejection.
      const cache = tempDir();
      const root = path.join(cache, 'files', 'md5');
      const missing = path.join(tempDir(), 'missing.bin');
      const err = await one.run('store', [missing, ...files], 'md5', root).catch((e: unknown) => e);
      expect(isCpvError(err) && err.code).toBe('E_TARGET_MISSING');
      const count = () => (fs.readdirSync(root, { recursive: true }) as string[]).length;
      const after = fs.existsSync(root) ? count() : 0;
      await new Promise((r) => setTimeout(r, 200));
      expect(fs.existsSync(root) ? count() : 0).toBe(after);
      expect(temps(cache)).toEqual([]);
    } finally {
      await one.close();
    }
  });
});

describe('WorkerPool lifecycle', () => {
  it('starts no thread before use, at most `jobs` threads after, none after close', async () => {
    const p = new WorkerPool({ jobs: 3 });
    expect(p.threads).toBe(0);
    await p.run('hash', dataset.slice(0, 40), 'md5', undefined);
    expect(p.threads).toBeGreaterThan(0);
    expect(p.threads).toBeLessThanOrEqual(3);
    await p.close();
    expect(p.threads).toBe(0);
    await expect(p.run('hash', dataset.slice(0, 1), 'md5', undefined)).rejects.toThrow(/after close/);
  });

  it('warm() starts every thread ahead of work; they then hash and copy as usual', async () => {
    const p = new WorkerPool({ jobs: 2 });
    p.warm();
    expect(p.threads).toBe(2);
    p.warm();
    expect(p.threads).toBe(2);
    const [hashed] = await p.run('hash', dataset.slice(0, 1), 'md5', undefined);
    expect(hashed?.md5).toBe((await hashFile(dataset[0]!, 'md5')).md5);
    const target = path.join(tempDir(), 'copied');
    const [copied] = await p.copy(dataset.slice(0, 1), [target], 0o644, { fresh: [true] });
    expect(fs.readFileSync(target).equals(fs.readFileSync(dataset[0]!))).toBe(true);
    expect(copied?.size).toBe(fs.statSync(target).size);
    expect(p.threads).toBe(2);
    await p.close();
    p.warm();
    expect(p.threads).toBe(0);
  });

  it('warmed idle threads do not keep a process alive', () => {
    const pool = path.resolve(import.meta.dirname, '../../dist/cache/pool.js');
    const script = `import('${pool}').then((m) => { m.warmSharedPool(); setTimeout(() => console.log('done'), 300).unref(); });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.signal).toBeNull();
  });

  it('close() fails pending work instead of hanging', async () => {
    const p = new WorkerPool({ jobs: 1 });
    const running = expect(p.run('hash', dataset, 'md5', undefined)).rejects.toThrow(/closed/);
    await p.close();
    await running;
  });
});

describe('storeFiles', () => {
  for (const hashName of ['md5', 'md5-dos2unix'] as const) {
    it(`hashes and caches every file in one pass (${hashName})`, async () => {
      const cacheDir = path.join(tempDir(), 'cache');
      const store = new ObjectStore(cacheDir);
      const got = await storeFiles(dataset, cacheDir, hashName, { pool });
      expect(got).toEqual(await expected(dataset, hashName));
      for (const [i, r] of got.entries()) {
        const obj = store.pathFor(r.md5, hashName);
        expect(fs.statSync(obj).mode & 0o7777).toBe(OBJECT_MODE);
        expect(fs.statSync(obj).size).toBe(r.size);
        if (i % 50 === 0 || r.size > SMALL_FILE_LIMIT) {
          expect(fs.readFileSync(obj).equals(fs.readFileSync(dataset[i]!))).toBe(true);
        }
        expect(await store.check(r.md5, hashName)).toBe('ok');
      }
      expect(temps(cacheDir)).toEqual([]);

      // A second pass finds every object in place and rewrites none of them.
      const inodes = got.map((r) => fs.statSync(store.pathFor(r.md5, hashName)).ino);
      expect(await storeFiles(dataset, cacheDir, hashName, { pool })).toEqual(got);
      expect(got.map((r) => fs.statSync(store.pathFor(r.md5, hashName)).ino)).toEqual(inodes);
      expect(temps(cacheDir)).toEqual([]);
    });
  }

  it('threads racing to store the same large and small content leave one object each, no temps', async () => {
    const dir = tempDir();
    const big = Buffer.alloc(SMALL_FILE_LIMIT + MiB, 'race');
    const paths: string[] = [];
    for (let i = 0; i < 4; i++) {
      paths.push(path.join(dir, `big${i}`), path.join(dir, `small${i}`));
      fs.writeFileSync(paths.at(-2)!, big);
      fs.writeFileSync(paths.at(-1)!, 'small');
    }
    const cacheDir = path.join(dir, 'cache');
    const racer = new WorkerPool({ jobs: 4 });
    try {
      // batches of one file each, so the four threads really do run side by side
      const got = await racer.run('store', paths, 'md5', path.join(cacheDir, 'files', 'md5'));
      expect(new Set(got.map((r) => r.md5)).size).toBe(2);
    } finally {
      await racer.close();
    }
    const objects = (
      fs.readdirSync(cacheDir, { recursive: true, withFileTypes: true }) as fs.Dirent[]
    ).filter((e) => e.isFile());
    expect(objects.length).toBe(2);
    expect(temps(cacheDir)).toEqual([]);
  });

  it('stores a few files in-process the same way', async () => {
    const cacheDir = path.join(tempDir(), 'cache');
    const few = dataset.slice(0, 4);
    const got = await storeFiles(few, cacheDir);
    expect(got).toEqual(await expected(few, 'md5'));
    for (const r of got) expect(await new ObjectStore(cacheDir).check(r.md5)).toBe('ok');
  });

  it('a temp that cannot be created (prefix directory blocked by a file) → E_IO, no temps', async () => {
    const cacheDir = path.join(tempDir(), 'cache');
    const root = path.join(cacheDir, 'files', 'md5');
    fs.mkdirSync(root, { recursive: true });
    for (let i = 0; i < 256; i++) fs.writeFileSync(path.join(root, i.toString(16).padStart(2, '0')), '');
    const err = await storeFiles(dataset.slice(0, 80), cacheDir, 'md5', { pool }).catch((e: unknown) => e);
    expect(isCpvError(err) && err.code).toBe('E_IO');
    expect((err as Error).message).toContain(cacheDir);
    expect(temps(cacheDir)).toEqual([]);
  });

  for (const which of ['small', 'large'] as const) {
    it(`a failed rename of a written ${which} temp (a directory holds the object name) → E_IO, no temps`, async () => {
      const cacheDir = path.join(tempDir(), 'cache');
      const victim = which === 'small' ? dataset[10]! : dataset.find((p) => p.endsWith('big.txt'))!;
      const { md5 } = await hashFile(victim);
      fs.mkdirSync(path.join(new ObjectStore(cacheDir).pathFor(md5), 'occupied'), { recursive: true });
      const paths = [...dataset.slice(0, 70), victim];
      const err = await storeFiles(paths, cacheDir, 'md5', { pool }).catch((e: unknown) => e);
      expect(isCpvError(err) && err.code).toBe('E_IO');
      expect((err as Error).message).toContain(md5.slice(2));
      expect(temps(cacheDir)).toEqual([]);
    });
  }
});
