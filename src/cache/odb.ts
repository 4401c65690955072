/**
 * The local DVC object store (dvc-compat §4.1, §4.2).
 *
 *   <cache>/files/md5/<oid[0:2]>/<oid[2:]>   md5 objects (DVC 3), `.dir` manifests included
 *   <cache>/<oid[0:2]>/<oid[2:]>             md5-dos2unix objects (DVC 2 legacy layout)
 *
 * Objects are read-only (0o444). Like DVC we trust an object whose mode is exactly 0o444 and
 * re-hash any other. Writers never expose a partial object: bytes go to a `.tmp-<random>` file in
 * the same filesystem, are hashed on the way, chmod'ed and renamed into place. Two processes adding
 * the same object race harmlessly: rename is atomic and both temps hold identical bytes.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError, errnoCode } from '../errors.js';
import { CACHE_SPACE_HINT, currentUmask, noSpaceError } from '../fsutil.js';
import { type HashName, hashBytes, hashFile, readError, StreamHasher, streamBlocks } from './hash.js';
import { defaultMd5Factory } from './md5.js';
import { statMode } from './raw-fs.js';

export type CheckResult = 'ok' | 'missing' | 'corrupt';

/** Mode of every cache object (`CACHE_MODE`); an object with exactly this mode is trusted. */
export const OBJECT_MODE = 0o444;
/** Prefix of in-progress writes; cache walkers skip names starting with it. */
export const TEMP_PREFIX = '.tmp-';

const OID = /^[0-9a-f]{32}(\.dir)?$/;

/** The directory objects of `hashName` live under. */
export function objectRoot(cacheDir: string, hashName: HashName): string {
  return hashName === 'md5' ? path.join(cacheDir, 'files', 'md5') : cacheDir;
}

/** `<root>/<oid[0:2]>/<oid[2:]>`; rejects anything that is not an oid (it becomes a path). */
export function objectPath(root: string, oid: string): string {
  if (!OID.test(oid)) {
    throw new CpvError('E_USAGE', `invalid object id '${oid}'`, {
      hint: 'An oid is 32 lowercase hex digits, optionally followed by .dir; check the .dvc file.',
    });
  }
  return path.join(root, oid.slice(0, 2), oid.slice(2));
}

/** This process's part of its temp names: random, so no two processes pick the same names. */
const processToken = randomBytes(6).toString('hex');
let tempCount = 0;

/**
 * A fresh temp file name (created with `wx`, so a clash would fail, never overwrite). A counter
 * after a per-process random token: a small download asks for one per object, and random bytes
 * per call cost more than the rest of naming it.
 */
export function tempName(): string {
  tempCount += 1;
  return `${TEMP_PREFIX}${processToken}${tempCount.toString(16).padStart(6, '0')}`;
}

/** The md5 part of an oid (`.dir` manifests are named by the md5 of their bytes). */
function md5Of(oid: string): string {
  return oid.endsWith('.dir') ? oid.slice(0, -4) : oid;
}

/** A write failure in the cache as a CpvError naming the path. */
export function writeError(err: unknown, target: string): CpvError {
  if (err instanceof CpvError) return err;
  // Out of space: name the cache, not the random temp name, and point at cache.dir.
  const where = path.basename(target).startsWith(TEMP_PREFIX) ? path.dirname(target) : target;
  const full = noSpaceError(err, `to the cache at '${where}'`, CACHE_SPACE_HINT);
  if (full !== undefined) return full;
  return new CpvError('E_IO', `cannot write to the cache at '${target}': ${(err as Error)?.message ?? err}`, {
    hint: 'Check that the cache directory exists and is writable by you, then retry.',
    cause: err,
  });
}

/** A temp file being written, opened write-only although it is created 0o444. */
interface TempFile {
  readonly path: string;
  readonly fh: fs.promises.FileHandle;
}

export class ObjectStore {
  /** The umask strips bits of 0o444, so created files need an explicit chmod. */
  private readonly fixMode = (OBJECT_MODE & ~currentUmask()) !== OBJECT_MODE;

  private readonly md5Root: string;
  private readonly legacyRoot: string;

  constructor(readonly cacheDir: string) {
    this.md5Root = objectRoot(cacheDir, 'md5');
    this.legacyRoot = objectRoot(cacheDir, 'md5-dos2unix');
  }

  root(hashName: HashName = 'md5'): string {
    return hashName === 'md5' ? this.md5Root : this.legacyRoot;
  }

  /**
   * Same as `objectPath(root, oid)`, by concatenation: status and add ask for 100k paths at a
   * time, and path.join's normalising showed up in their profiles. The oid is validated first.
   */
  pathFor(oid: string, hashName: HashName = 'md5'): string {
    if (!OID.test(oid)) return objectPath(this.root(hashName), oid); // throws the usual error
    return `${this.root(hashName)}${path.sep}${oid.slice(0, 2)}${path.sep}${oid.slice(2)}`;
  }

  /** Whether a trusted (0o444) object is present: the cheap check used on state-store hits. */
  isTrustedSync(oid: string, hashName: HashName = 'md5'): boolean {
    // Mode only, without a Stats object: checkout and status ask this of every object of a tree.
    return isTrustedModeBits(statMode(this.pathFor(oid, hashName)));
  }

  /** Whether an object file exists (not verified). */
  async exists(oid: string, hashName: HashName = 'md5'): Promise<boolean> {
    const st = await statOrUndefined(this.pathFor(oid, hashName));
    return st?.isFile() ?? false;
  }

  /**
   * DVC's `check`: a 0o444 object is trusted; any other is re-hashed, deleted if it does not match
   * its oid ('corrupt'), or protected (chmod 0o444) if it does.
   */
  async check(oid: string, hashName: HashName = 'md5'): Promise<CheckResult> {
    const p = this.pathFor(oid, hashName);
    // The common answers (trusted, missing) from one synchronous stat: fetch and push ask this of
    // every object of a tree, and a thread-pool round trip each cost more than the stat.
    const mode = modeOrThrow(p);
    if (mode === undefined) return 'missing';
    if (isTrustedModeBits(mode)) return 'ok';
    const st = await statOrUndefined(p);
    if (st === undefined) return 'missing';
    if (!st.isFile()) return 'corrupt'; // not ours to delete
    if (isTrustedMode(st)) return 'ok';
    const { md5 } = await hashFile(p, hashName);
    if (md5 !== md5Of(oid)) {
      await fs.promises.rm(p, { force: true });
      return 'corrupt';
    }
    await protect(p);
    return 'ok';
  }

  /** Copies a file into the cache, hashing it on the way; returns its oid and size. */
  async addFile(
    srcPath: string,
    hashName: HashName = 'md5',
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ oid: string; size: number }> {
    // The oid (and so the final directory) is unknown until the copy ends: stage in the root.
    const tmp = await this.createTemp(this.root(hashName));
    return this.fillAndPlace(tmp, srcPath, hashName, undefined, opts.signal);
  }

  /**
   * Like addFile when the oid is already known (e.g. hashed earlier): skips the copy if a trusted
   * object exists, and otherwise still verifies the bytes copied against `oid`.
   */
  async addFileKnown(
    srcPath: string,
    oid: string,
    hashName: HashName = 'md5',
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ oid: string; size: number }> {
    const final = this.pathFor(oid, hashName);
    if (isTrustedMode(await statOrUndefined(final))) {
      const st = await fs.promises.stat(srcPath).catch((err: unknown) => {
        throw readError(err, srcPath);
      });
      return { oid, size: st.size };
    }
    const tmp = await this.createTemp(path.dirname(final));
    return this.fillAndPlace(tmp, srcPath, hashName, oid, opts.signal);
  }

  /** Stores bytes already in memory (`.dir` manifests) under `oid`, after checking they match it. */
  async addBytes(bytes: Uint8Array, oid: string, hashName: HashName = 'md5'): Promise<void> {
    const md5 = hashBytes(bytes, hashName, await defaultMd5Factory());
    if (md5 !== md5Of(oid)) {
      throw new CpvError('E_CACHE_CORRUPT', `refusing to store bytes with md5 ${md5} as object ${oid}`, {
        hint: 'This is a bug in the caller: the oid must be the md5 of the bytes.',
      });
    }
    await this.storeVerified(bytes, oid, hashName);
  }

  /**
   * Stores in-memory bytes the caller has already checked against `oid` (a manifest, a small
   * download): one synchronous write of the whole temp file, then a rename (plus a chmod under a
   * restrictive umask). Synchronous on purpose: each thread-pool round trip costs the calling
   * thread more than the system call (wake-ups, context switches on two cores), and fetching
   * 5,000 × 16 KiB objects took 15 % longer and 30 % more CPU through `fs.promises` (measured
   * 2026-12-06). The bytes are at most 1 MiB, so a write blocks this thread only briefly; sockets
   * keep receiving meanwhile. As every writer here: nothing partial is left on failure, and an
   * intact object already in place is left untouched, unless the caller says it `foundMissing`
   * the object a moment ago (a download): one that came meanwhile has these very bytes, so
   * replacing it is harmless, and a stat per object is saved.
   */
  async storeVerified(
    bytes: Uint8Array,
    oid: string,
    hashName: HashName = 'md5',
    foundMissing = false,
  ): Promise<void> {
    const final = this.pathFor(oid, hashName);
    if (!foundMissing && isTrustedModeBits(modeOrThrow(final))) return;
    const dir = path.dirname(final);
    const tmp = path.join(dir, tempName());
    try {
      try {
        fs.writeFileSync(tmp, bytes, { flag: 'wx', mode: OBJECT_MODE });
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(tmp, bytes, { flag: 'wx', mode: OBJECT_MODE });
      }
      if (this.fixMode) fs.chmodSync(tmp, OBJECT_MODE);
      fs.renameSync(tmp, final);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw writeError(err, final);
    }
  }

  // -------------------------------------------------------------------------------------------

  /** Copy `srcPath` into `tmp` while hashing; check against `expected` if given; move into place. */
  private fillAndPlace(
    tmp: TempFile,
    srcPath: string,
    hashName: HashName,
    expected: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ oid: string; size: number }> {
    return this.guardTemp(tmp, async () => {
      const hasher = new StreamHasher(hashName, await defaultMd5Factory());
      const src = await fs.promises.open(srcPath, 'r').catch((err: unknown) => {
        throw readError(err, srcPath);
      });
      try {
        await streamBlocks(
          src,
          srcPath,
          async (block) => {
            // The write runs in libuv's pool while this thread hashes the same (read-only) block.
            const written = writeAll(tmp, block);
            hasher.update(block);
            await written;
          },
          { signal },
        );
      } finally {
        await src.close();
      }
      const { md5, size } = hasher.digest();
      if (expected !== undefined && md5 !== md5Of(expected)) {
        throw new CpvError(
          'E_CACHE_CORRUPT',
          `'${srcPath}' changed while it was being cached (${md5} ≠ ${expected})`,
          {
            hint: 'Make sure nothing writes to the file during the operation, then retry.',
          },
        );
      }
      // A known oid keeps its name: a `.dir` manifest is stored as `<md5>.dir`, not as `<md5>`.
      const oid = expected ?? md5;
      await this.place(tmp, this.pathFor(oid, hashName));
      return { oid, size };
    });
  }

  /** Runs `work` on a temp file; on any failure the temp is closed and removed. */
  private async guardTemp<T>(tmp: TempFile, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      await tmp.fh.close().catch(() => undefined);
      await fs.promises.rm(tmp.path, { force: true });
      throw err;
    }
  }

  /** Creates a fresh temp file in `dir` (making `dir` if needed), mode 0o444 from the start. */
  private async createTemp(dir: string): Promise<TempFile> {
    const p = path.join(dir, tempName());
    const open = () => fs.promises.open(p, 'wx', OBJECT_MODE);
    try {
      return { path: p, fh: await open().catch(async (err: unknown) => retryAfterMkdir(err, dir, open)) };
    } catch (err) {
      throw writeError(err, p);
    }
  }

  /**
   * Closes the temp and renames it to `final`, unless a trusted object is already there (then the
   * temp is dropped and the existing object, maybe hard-linked into workspaces, stays untouched).
   */
  private async place(tmp: TempFile, final: string): Promise<void> {
    try {
      if (this.fixMode) await tmp.fh.chmod(OBJECT_MODE);
      await tmp.fh.close();
      if (isTrustedMode(await statOrUndefined(final))) {
        await fs.promises.rm(tmp.path, { force: true });
        return;
      }
      const rename = () => fs.promises.rename(tmp.path, final);
      await rename().catch(async (err: unknown) => retryAfterMkdir(err, path.dirname(final), rename));
    } catch (err) {
      throw writeError(err, final);
    }
  }
}

/** On ENOENT, creates `dir` (0o777 & ~umask, like DVC) and retries `op` once. */
async function retryAfterMkdir<T>(err: unknown, dir: string, op: () => Promise<T>): Promise<T> {
  if (errnoCode(err) !== 'ENOENT') throw err;
  await fs.promises.mkdir(dir, { recursive: true });
  return op();
}

async function writeAll(tmp: TempFile, bytes: Uint8Array): Promise<void> {
  try {
    for (let off = 0; off < bytes.length; ) {
      const { bytesWritten } = await tmp.fh.write(bytes, off, bytes.length - off);
      off += bytesWritten;
    }
  } catch (err) {
    throw writeError(err, tmp.path);
  }
}

async function statOrUndefined(p: string): Promise<fs.Stats | undefined> {
  try {
    return await fs.promises.stat(p);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw readError(err, p);
  }
}

function modeOrThrow(p: string): number | undefined {
  try {
    return statMode(p);
  } catch (err) {
    throw readError(err, p);
  }
}

/** Whether a raw `st_mode` is a regular file with exactly the object mode. */
function isTrustedModeBits(mode: number | undefined): boolean {
  return (
    mode !== undefined &&
    (mode & fs.constants.S_IFMT) === fs.constants.S_IFREG &&
    (mode & 0o7777) === OBJECT_MODE
  );
}

function isTrustedMode(st: fs.Stats | undefined): boolean {
  return isTrustedModeBits(st?.mode);
}

/** chmod 0o444; a shared cache may hold objects we do not own, which is fine to leave. */
async function protect(p: string): Promise<void> {
  try {
    await fs.promises.chmod(p, OBJECT_MODE);
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EPERM' && code !== 'EACCES' && code !== 'EROFS') throw writeError(err, p);
  }
}
