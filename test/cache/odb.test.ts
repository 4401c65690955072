import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFile } from '../../src/cache/hash.js';
import { OBJECT_MODE, ObjectStore, TEMP_PREFIX } from '../../src/cache/odb.js';
import { isCpvError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { MiB, refMd5, refMd5Dos2unix } from './dos2unix-ref.js';

const FOO_MD5 = 'acbd18db4cc2f85cedef654fccc4a4d8';
const mode = (p: string) => fs.statSync(p).mode & 0o7777;

function setup() {
  const dir = tempDir();
  const cacheDir = path.join(dir, 'cache');
  const store = new ObjectStore(cacheDir);
  const write = (name: string, data: string | Uint8Array) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, data);
    return p;
  };
  return { dir, cacheDir, store, write };
}

/** Every file under `root` whose name marks an unfinished write. */
function temps(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((p) =>
    path.basename(p).startsWith(TEMP_PREFIX),
  );
}

/** Regular files under `root`, relative. */
function files(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

const errCode = (e: unknown) => (isCpvError(e) ? e.code : `not a CpvError: ${String(e)}`);

describe('ObjectStore layout', () => {
  it('puts md5 objects under files/md5 and md5-dos2unix objects at the cache root', () => {
    const store = new ObjectStore('/c');
    expect(store.pathFor(FOO_MD5)).toBe('/c/files/md5/ac/bd18db4cc2f85cedef654fccc4a4d8');
    expect(store.pathFor(`${FOO_MD5}.dir`, 'md5')).toBe('/c/files/md5/ac/bd18db4cc2f85cedef654fccc4a4d8.dir');
    expect(store.pathFor(FOO_MD5, 'md5-dos2unix')).toBe('/c/ac/bd18db4cc2f85cedef654fccc4a4d8');
  });

  it.each(['../../etc/passwd', 'ACBD18DB4CC2F85CEDEF654FCCC4A4D8', 'acbd', `${FOO_MD5}.tmp`])(
    'rejects oid %s',
    (oid) => {
      expect(() => new ObjectStore('/c').pathFor(oid)).toThrow(/invalid object id/);
    },
  );
});

describe('ObjectStore.addFile', () => {
  it('stores a read-only object with the source bytes and reports oid and size', async () => {
    const { store, write, cacheDir } = setup();
    const src = write('foo', 'foo');
    expect(await store.addFile(src)).toEqual({ oid: FOO_MD5, size: 3 });
    const obj = store.pathFor(FOO_MD5);
    expect(fs.readFileSync(obj, 'utf8')).toBe('foo');
    expect(mode(obj)).toBe(OBJECT_MODE);
    expect(await store.exists(FOO_MD5)).toBe(true);
    expect(await store.check(FOO_MD5)).toBe('ok');
    expect(temps(cacheDir)).toEqual([]);
    expect(files(cacheDir)).toEqual(['files/md5/ac/bd18db4cc2f85cedef654fccc4a4d8']);
  });

  it('is idempotent: a second add keeps the existing object (same inode) and leaves no temp', async () => {
    const { store, write, cacheDir } = setup();
    const src = write('foo', 'foo');
    await store.addFile(src);
    const before = fs.statSync(store.pathFor(FOO_MD5));
    expect(await store.addFile(src)).toEqual({ oid: FOO_MD5, size: 3 });
    expect(await store.addFileKnown(src, FOO_MD5)).toEqual({ oid: FOO_MD5, size: 3 });
    expect(fs.statSync(store.pathFor(FOO_MD5)).ino).toBe(before.ino);
    expect(temps(cacheDir)).toEqual([]);
  });

  it('replaces an untrusted (non-0444) object with a verified copy', async () => {
    const { store, write } = setup();
    const obj = store.pathFor(FOO_MD5);
    fs.mkdirSync(path.dirname(obj), { recursive: true });
    fs.writeFileSync(obj, 'garbage', { mode: 0o644 });
    await store.addFile(write('foo', 'foo'));
    expect(fs.readFileSync(obj, 'utf8')).toBe('foo');
    expect(mode(obj)).toBe(OBJECT_MODE);
  });

  it('copies a multi-MiB file exactly; md5-dos2unix goes to the legacy layout with raw bytes', async () => {
    const { store, write, cacheDir } = setup();
    const data = Buffer.from('line\r\n'.repeat(Math.ceil((2.5 * MiB) / 6)));
    const src = write('big.txt', data);
    const md5 = await store.addFile(src, 'md5');
    expect(md5).toEqual({ oid: refMd5(data), size: data.length });
    const legacy = await store.addFile(src, 'md5-dos2unix');
    expect(legacy).toEqual({ oid: refMd5Dos2unix(data), size: data.length });
    expect(fs.readFileSync(store.pathFor(md5.oid)).equals(data)).toBe(true);
    const legacyPath = store.pathFor(legacy.oid, 'md5-dos2unix');
    expect(legacyPath.startsWith(path.join(cacheDir, legacy.oid.slice(0, 2)))).toBe(true);
    expect(fs.readFileSync(legacyPath).equals(data)).toBe(true); // stored as is, hashed as dos2unix
    expect(await store.check(legacy.oid, 'md5-dos2unix')).toBe('ok');
    expect(temps(cacheDir)).toEqual([]);
  });

  it('creates cache directories with 0o777 & ~umask', async () => {
    const { store, write, cacheDir } = setup();
    await store.addFile(write('foo', 'foo'));
    const umask = process.umask();
    const expected = 0o777 & ~umask;
    expect(mode(path.join(cacheDir, 'files', 'md5', 'ac'))).toBe(expected);
    expect(mode(path.join(cacheDir, 'files'))).toBe(expected);
  });

  it('concurrent adds of the same content leave one valid object and no temps', async () => {
    const { store, write, cacheDir } = setup();
    const data = Buffer.alloc(3 * MiB + 7, 'z');
    const sources = Array.from({ length: 8 }, (_, i) => write(`copy${i}`, data));
    // A second store instance on the same directory stands in for another process.
    const other = new ObjectStore(cacheDir);
    const results = await Promise.all(sources.map((s, i) => (i % 2 ? store : other).addFile(s)));
    const oid = refMd5(data);
    for (const r of results) expect(r).toEqual({ oid, size: data.length });
    expect(files(cacheDir)).toEqual([path.join('files', 'md5', oid.slice(0, 2), oid.slice(2))]);
    expect(mode(store.pathFor(oid))).toBe(OBJECT_MODE);
    expect(fs.readFileSync(store.pathFor(oid)).equals(data)).toBe(true);
  });
});

describe('ObjectStore failures leave no temp files', () => {
  it('source disappears (ENOENT) → E_TARGET_MISSING', async () => {
    const { store, dir, cacheDir } = setup();
    const err = await store.addFile(path.join(dir, 'gone')).catch((e: unknown) => e);
    expect(errCode(err)).toBe('E_TARGET_MISSING');
    expect(temps(cacheDir)).toEqual([]);
    expect(files(cacheDir)).toEqual([]);
  });

  it('source is a directory (read fails after the temp exists) → E_IO', async () => {
    const { store, dir, cacheDir } = setup();
    fs.mkdirSync(path.join(dir, 'adir'));
    const err = await store.addFile(path.join(dir, 'adir')).catch((e: unknown) => e);
    expect(errCode(err)).toBe('E_IO');
    expect(temps(cacheDir)).toEqual([]);
    expect(files(cacheDir)).toEqual([]);
  });

  it('unreadable source → E_UNREADABLE (as root, where chmod 000 reads fine, a directory source instead)', async () => {
    const { store, write, dir, cacheDir } = setup();
    let src = write('locked', 'secret');
    fs.chmodSync(src, 0o000);
    let expected = 'E_UNREADABLE';
    try {
      fs.accessSync(src, fs.constants.R_OK);
      src = path.join(dir, 'locked-dir'); // root: mode bits do not stop reads
      fs.mkdirSync(src);
      expected = 'E_IO';
    } catch {}
    const err = await store.addFile(src).catch((e: unknown) => e);
    expect(errCode(err)).toBe(expected);
    expect((err as Error).message).toContain(src);
    expect(temps(cacheDir)).toEqual([]);
  });

  it('the object directory cannot be created (a file is in the way) → E_IO', async () => {
    const { store, write, cacheDir } = setup();
    const blocker = path.join(cacheDir, 'files', 'md5', 'ac');
    fs.mkdirSync(path.dirname(blocker), { recursive: true });
    fs.writeFileSync(blocker, 'not a directory');
    const err = await store.addFile(write('foo', 'foo')).catch((e: unknown) => e);
    expect(errCode(err)).toBe('E_IO');
    expect((err as Error).message).toContain(blocker);
    expect(temps(cacheDir)).toEqual([]);
  });

  it('an aborted add removes its temp', async () => {
    const { store, write, cacheDir } = setup();
    const ac = new AbortController();
    ac.abort(new Error('cancelled'));
    await expect(
      store.addFile(write('big', Buffer.alloc(2 * MiB)), 'md5', { signal: ac.signal }),
    ).rejects.toThrow('cancelled');
    expect(temps(cacheDir)).toEqual([]);
  });

  it('addFileKnown with a wrong oid → E_CACHE_CORRUPT and nothing stored', async () => {
    const { store, write, cacheDir } = setup();
    const wrong = refMd5(Buffer.from('bar'));
    const err = await store.addFileKnown(write('foo', 'foo'), wrong).catch((e: unknown) => e);
    expect(errCode(err)).toBe('E_CACHE_CORRUPT');
    expect(await store.exists(wrong)).toBe(false);
    expect(temps(cacheDir)).toEqual([]);
  });
});

describe('ObjectStore.addFileKnown / addBytes', () => {
  it('addFileKnown copies and verifies', async () => {
    const { store, write } = setup();
    expect(await store.addFileKnown(write('foo', 'foo'), FOO_MD5)).toEqual({ oid: FOO_MD5, size: 3 });
    expect(fs.readFileSync(store.pathFor(FOO_MD5), 'utf8')).toBe('foo');
    expect(mode(store.pathFor(FOO_MD5))).toBe(OBJECT_MODE);
  });

  it('addFileKnown keeps the .dir suffix of a manifest oid (it used to store the bare md5)', async () => {
    const { store, write, cacheDir } = setup();
    const text = '[{"md5": "acbd18db4cc2f85cedef654fccc4a4d8", "relpath": "foo"}]';
    const oid = `${refMd5(Buffer.from(text))}.dir`;
    expect(await store.addFileKnown(write('m.dir', text), oid)).toEqual({ oid, size: text.length });
    expect(files(cacheDir)).toEqual([`files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`]);
    expect(fs.readFileSync(store.pathFor(oid), 'utf8')).toBe(text);
  });

  it('addBytes stores a .dir manifest under its md5 with the suffix kept', async () => {
    const { store, cacheDir } = setup();
    const manifest = Buffer.from('[{"md5": "acbd18db4cc2f85cedef654fccc4a4d8", "relpath": "foo"}]');
    const oid = `${refMd5(manifest)}.dir`;
    await store.addBytes(manifest, oid);
    await store.addBytes(manifest, oid); // idempotent
    const p = store.pathFor(oid);
    expect(p.endsWith('.dir')).toBe(true);
    expect(fs.readFileSync(p).equals(manifest)).toBe(true);
    expect(mode(p)).toBe(OBJECT_MODE);
    expect(await store.check(oid)).toBe('ok');
    expect(temps(cacheDir)).toEqual([]);
  });

  it('addBytes refuses bytes that do not match the oid', async () => {
    const { store, cacheDir } = setup();
    const err = await store
      .addBytes(Buffer.from('foo'), `${refMd5(Buffer.from('bar'))}.dir`)
      .catch((e: unknown) => e);
    expect(errCode(err)).toBe('E_CACHE_CORRUPT');
    expect(fs.existsSync(cacheDir)).toBe(false);
  });
});

describe('ObjectStore.storeVerified', () => {
  it('stores 0o444 bytes under the oid and leaves an intact object where it is', async () => {
    const { store, cacheDir } = setup();
    await store.storeVerified(Buffer.from('foo'), FOO_MD5);
    const p = store.pathFor(FOO_MD5);
    expect(fs.readFileSync(p, 'utf8')).toBe('foo');
    expect(mode(p)).toBe(OBJECT_MODE);
    const inode = fs.statSync(p).ino; // maybe hard-linked into a workspace: must stay this file
    await store.storeVerified(Buffer.from('foo'), FOO_MD5);
    expect(fs.statSync(p).ino).toBe(inode);
    expect(temps(cacheDir)).toEqual([]);
  });

  it('replaces an untrusted (not 0o444) file in the place of the object', async () => {
    const { store, cacheDir } = setup();
    const p = store.pathFor(FOO_MD5);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, 'fo0', { mode: 0o644 });
    await store.storeVerified(Buffer.from('foo'), FOO_MD5);
    expect(fs.readFileSync(p, 'utf8')).toBe('foo');
    expect(mode(p)).toBe(OBJECT_MODE);
    expect(temps(cacheDir)).toEqual([]);
  });

  it('a file in the way of the object directory → E_IO naming it, no temp left', async () => {
    const { store, cacheDir } = setup();
    const blocker = path.join(cacheDir, 'files', 'md5', FOO_MD5.slice(0, 2));
    fs.mkdirSync(path.dirname(blocker), { recursive: true });
    fs.writeFileSync(blocker, 'not a directory');
    const err = await store.storeVerified(Buffer.from('foo'), FOO_MD5).catch((e: unknown) => e);
    expect(errCode(err)).toBe('E_IO');
    expect((err as Error).message).toContain(blocker);
    expect(temps(cacheDir)).toEqual([]);
  });
});

describe('ObjectStore.check', () => {
  function plant(
    store: ObjectStore,
    oid: string,
    data: string,
    m: number,
    hashName: 'md5' | 'md5-dos2unix' = 'md5',
  ) {
    const p = store.pathFor(oid, hashName);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
    fs.chmodSync(p, m);
    return p;
  }

  it('missing object', async () => {
    const { store } = setup();
    expect(await store.check(FOO_MD5)).toBe('missing');
    expect(await store.exists(FOO_MD5)).toBe(false);
  });

  it('a corrupt non-0444 object is detected and deleted', async () => {
    const { store } = setup();
    const p = plant(store, FOO_MD5, 'fo0', 0o644);
    expect(await store.check(FOO_MD5)).toBe('corrupt');
    expect(fs.existsSync(p)).toBe(false);
    expect(await store.check(FOO_MD5)).toBe('missing');
  });

  it('a valid non-0444 object is re-hashed, kept and protected', async () => {
    const { store } = setup();
    const p = plant(store, FOO_MD5, 'foo', 0o664);
    expect(await store.check(FOO_MD5)).toBe('ok');
    expect(mode(p)).toBe(OBJECT_MODE);
  });

  it('a 0444 object is trusted without re-hashing, as DVC does', async () => {
    const { store } = setup();
    const p = plant(store, FOO_MD5, 'tampered', 0o444);
    expect(await store.check(FOO_MD5)).toBe('ok');
    expect(fs.readFileSync(p, 'utf8')).toBe('tampered');
  });

  it('legacy objects are re-hashed with md5-dos2unix', async () => {
    const { store } = setup();
    const oid = refMd5(Buffer.from('a\nb\n')); // the dos2unix hash of 'a\r\nb\r\n'
    const p = plant(store, oid, 'a\r\nb\r\n', 0o644, 'md5-dos2unix');
    expect(await store.check(oid, 'md5-dos2unix')).toBe('ok');
    expect(mode(p)).toBe(OBJECT_MODE);
    const p2 = plant(store, oid, 'a\r\nb\r\n', 0o644, 'md5');
    expect(await store.check(oid, 'md5')).toBe('corrupt');
    expect(fs.existsSync(p2)).toBe(false);
  });

  it('a directory in place of an object is corrupt and left alone', async () => {
    const { store } = setup();
    fs.mkdirSync(store.pathFor(FOO_MD5), { recursive: true });
    expect(await store.check(FOO_MD5)).toBe('corrupt');
    expect(await store.exists(FOO_MD5)).toBe(false);
    expect(fs.statSync(store.pathFor(FOO_MD5)).isDirectory()).toBe(true);
  });

  it('agrees with hashFile on a stored object', async () => {
    const { store, write } = setup();
    const { oid } = await store.addFile(write('x', 'hello\r\n'));
    expect((await hashFile(store.pathFor(oid))).md5).toBe(oid);
  });
});
