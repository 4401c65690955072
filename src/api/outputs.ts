/**
 * Hashing a workspace output (a file or a directory) the way DVC does, optionally storing its
 * objects in the cache on the way. `add` stores; `status` only hashes. One function serves both so
 * the two can never disagree about what an output's hash is.
 */
import * as fs from 'node:fs';
import type { HashName } from '../cache/hash.js';
import { hashFile } from '../cache/hash.js';
import { hashFiles, storeFiles, warmSharedPool } from '../cache/pool.js';
import { fingerprintFileCount, treeFingerprint } from '../cache/tree-stamp.js';
import { type WalkEntry, walkTreeAsync } from '../cache/walk.js';
import { type ManifestEntry, manifestOid, serializeManifest } from '../dvcfile/manifest.js';
import { CpvError, errnoCode } from '../errors.js';
import { readManifest } from './cached-manifest.js';
import { dirFilesInCache } from './dir-complete.js';
import type { Repo } from './repo.js';

export interface HashedOutput {
  oid: string;
  size: number;
  isDir: boolean;
  /** Directories only: number of manifest entries. */
  nfiles?: number;
  /** Files only: any x bit set (recorded as `isexec: true`). */
  isexec: boolean;
  /** Directories only: the files of the manifest with their hashes (in `entries` order). */
  files?: Array<{ entry: WalkEntry; md5: string }>;
  /** Directories only: the walked files (as they were before hashing). */
  entries?: readonly WalkEntry[];
}

export interface HashOutputOptions {
  /** Also write every object to the cache (add/commit). */
  store: boolean;
  /** Check each file is readable before anything is written (add), so errors leave no trace. */
  precheck?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Stops hashing/storing (Ctrl-C); objects already placed are complete, nothing else is written. */
  signal?: AbortSignal | undefined;
  /**
   * Directories: whether the caller reads `files` (default true). Without them an unchanged tree
   * is answered from its fingerprint alone, without reading its manifest.
   */
  files?: boolean;
}

/** Stats a path following symlinks; a dangling link is its own clear error. */
export function statOutput(abs: string, display: string): fs.Stats {
  try {
    return fs.statSync(abs);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' && fs.lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new CpvError('E_BROKEN_SYMLINK', `'${display}' is a symlink to a missing file`, {
        hint: 'Fix or remove the dangling symlink, then try again.',
      });
    }
    if (errnoCode(err) === 'ENOENT') {
      throw new CpvError('E_TARGET_MISSING', `path '${display}' does not exist`, {
        hint: 'Check the spelling, or create the file first.',
      });
    }
    throw new CpvError('E_UNREADABLE', `cannot read '${display}': ${(err as Error).message}`, { cause: err });
  }
}

export async function hashOutput(
  repo: Repo,
  abs: string,
  hashName: HashName,
  opts: HashOutputOptions,
): Promise<HashedOutput> {
  const st = statOutput(abs, repo.display(abs));
  if (!st.isDirectory()) return hashSingleFile(repo, abs, st, hashName, opts);
  return hashDirectory(repo, abs, hashName, opts);
}

async function hashSingleFile(
  repo: Repo,
  abs: string,
  st: fs.Stats,
  hashName: HashName,
  opts: HashOutputOptions,
): Promise<HashedOutput> {
  const isexec = (st.mode & 0o111) !== 0;
  // Stamp before reading: if the file changes while being hashed, its new mtime misses next time.
  const stamp = fileStat(abs);
  const [hit] = recall(repo, hashName, [stamp], opts.store);
  if (hit !== undefined) return { oid: hit, size: st.size, isDir: false, isexec };
  const { md5, size } = opts.store
    ? await repo.odb
        .addFile(abs, hashName, { signal: opts.signal })
        .then((r) => ({ md5: r.oid, size: r.size }))
    : await hashFile(abs, hashName, { signal: opts.signal });
  remember(repo, hashName, stamp, md5);
  return { oid: md5, size, isDir: false, isexec };
}

/** What the state store needs of a file: its path and (inode, mtime ns, size). */
type Stamped = Pick<WalkEntry, 'path' | 'ino' | 'mtimeNs' | 'size'>;

export function fileStat(abs: string): Stamped {
  const st = fs.statSync(abs, { bigint: true });
  return { path: abs, ino: st.ino, mtimeNs: st.mtimeNs, size: Number(st.size) };
}

/**
 * Hashes the state store already knows. When storing, a hit also needs its object in the cache:
 * otherwise the file is treated as unknown and copied in again.
 */
function recall(
  repo: Repo,
  hashName: HashName,
  files: readonly Stamped[],
  store: boolean,
): Array<string | undefined> {
  const state = repo.state();
  return files.map((f) => {
    const md5 = state.get(hashName, f.path, f);
    if (md5 === undefined || (store && !repo.odb.isTrustedSync(md5, hashName))) return undefined;
    return md5;
  });
}

export function remember(repo: Repo, hashName: HashName, file: Stamped, md5: string): void {
  repo.state().set(hashName, file.path, file, md5);
}

/**
 * Files a walk must find before the hashing threads are started early: below this, starting them
 * can cost more than it saves (a few files are hashed on this thread anyway, see pool.ts).
 */
const WARM_POOL_FILES = 1000;

async function hashDirectory(
  repo: Repo,
  abs: string,
  hashName: HashName,
  opts: HashOutputOptions,
): Promise<HashedOutput> {
  // No tree record at all (a first add or status, or a forgotten state): every file will be
  // hashed, so the hashing threads start as soon as the walk shows there are many files. With a
  // record, its file count tells the walk early whether to stat on helper threads.
  const lastCount = fingerprintFileCount(repo.state().treeFingerprint(hashName, abs));
  const warm = lastCount !== undefined ? undefined : { atLeast: WARM_POOL_FILES, notify: warmSharedPool };
  const entries = await walkTreeAsync(abs, {
    ignore: await repo.ignore(),
    repoRoot: repo.root,
    onFileCount: warm,
    expectedFiles: lastCount,
  });
  const fingerprint = treeFingerprint(entries);
  const known = repo.state().getTree(hashName, abs, fingerprint);
  const hit = known === undefined ? undefined : await unchangedTree(repo, known, entries, hashName, opts);
  if (hit !== undefined) return hit;
  const hashed = await hashEveryFile(repo, entries, hashName, opts);
  repo.state().setTree(hashName, abs, fingerprint, hashed.oid);
  return hashed;
}

function dirResult(oid: string, entries: readonly WalkEntry[], files: HashedOutput['files']): HashedOutput {
  const size = entries.reduce((sum, e) => sum + e.size, 0);
  return { oid, size, isDir: true, nfiles: entries.length, isexec: false, files, entries };
}

/**
 * A tree whose fingerprint matches: its oid is known. Storing needs every object in the cache
 * (usually answered from the state store without reading the manifest). Per-file hashes come
 * from the manifest in the cache: read now when the caller wants files, or on first use of
 * `files` when storing (a second `add` with cache.type copy never uses them). When the manifest
 * or an object is missing (say, after gc) the answer is undefined and the tree is hashed file
 * by file as usual.
 */
async function unchangedTree(
  repo: Repo,
  oid: string,
  entries: readonly WalkEntry[],
  hashName: HashName,
  opts: HashOutputOptions,
): Promise<HashedOutput | undefined> {
  if (!opts.store && opts.files === false) return dirResult(oid, entries, undefined);
  let manifest: ManifestEntry[] | undefined;
  const loadManifest = () => {
    manifest ??= readManifestIfCached(repo, oid, hashName);
    return manifest;
  };
  if (!opts.store) {
    const files = loadManifest() && filesOf(entries, loadManifest()!);
    return files && dirResult(oid, entries, files);
  }
  const md5s = () => (loadManifest() ?? []).map((e) => e.md5);
  if (!repo.odb.isTrustedSync(oid, hashName) || !(await dirFilesInCache(repo, oid, hashName, md5s))) {
    return undefined;
  }
  const result = dirResult(oid, entries, undefined);
  let files: HashedOutput['files'];
  Object.defineProperty(result, 'files', {
    enumerable: true,
    get: () => {
      files ??= filesOf(entries, loadManifest() ?? []);
      if (files === undefined) throw manifestGone(repo, oid);
      return files;
    },
  });
  return result;
}

/** Each walked file with its hash from the manifest; undefined if they do not match up. */
function filesOf(entries: readonly WalkEntry[], manifest: ManifestEntry[]): HashedOutput['files'] {
  if (manifest.length !== entries.length) return undefined;
  const md5ByPath = new Map(manifest.map((e) => [e.relpath, e.md5]));
  const files: NonNullable<HashedOutput['files']> = [];
  for (const entry of entries) {
    const md5 = md5ByPath.get(entry.relpath);
    if (md5 === undefined) return undefined; // cannot happen for a true match; never guess
    files.push({ entry, md5 });
  }
  return files;
}

function manifestGone(repo: Repo, oid: string): CpvError {
  return new CpvError('E_CACHE_MISSING', `the manifest ${oid} left the cache while cpv was using it`, {
    hint: `Another process (gc?) changed the cache at ${repo.odb.cacheDir}; run the command again.`,
  });
}

/** The manifest, or undefined when it is missing or damaged (the tree is then hashed afresh). */
function readManifestIfCached(repo: Repo, oid: string, hashName: HashName): ManifestEntry[] | undefined {
  try {
    return readManifest(repo, oid, hashName);
  } catch {
    return undefined;
  }
}

/** The state store's per-file hashes, and the pool's for the rest (stored when asked to). */
async function hashEveryFile(
  repo: Repo,
  entries: WalkEntry[],
  hashName: HashName,
  opts: HashOutputOptions,
): Promise<HashedOutput> {
  const md5s = recall(repo, hashName, entries, opts.store);
  const missing = entries.flatMap((_, i) => (md5s[i] === undefined ? [i] : []));
  const misses = missing.map((i) => entries[i]!);
  // Only files about to be read need the check: known ones are already in the cache.
  if (opts.precheck) precheckReadable(repo, misses);
  const paths = misses.map((e) => e.path);
  // Each hash is recorded as its batch comes back, while the threads still work on the others.
  const onResult = (k: number, r: { md5: string }) => {
    const i = missing[k]!;
    md5s[i] = r.md5;
    remember(repo, hashName, entries[i]!, r.md5);
  };
  const poolOpts = { onProgress: opts.onProgress, onResult, signal: opts.signal };
  if (opts.store) await storeFiles(paths, repo.odb.cacheDir, hashName, poolOpts);
  else await hashFiles(paths, hashName, poolOpts);
  const files = entries.map((entry, i) => ({ entry, md5: md5s[i]! }));
  const manifest = serializeManifest(files.map((f) => ({ md5: f.md5, relpath: f.entry.relpath })));
  const oid = manifestOid(manifest);
  if (opts.store) await repo.odb.addBytes(Buffer.from(manifest, 'utf8'), oid, hashName);
  return dirResult(oid, entries, files);
}

function precheckReadable(repo: Repo, entries: WalkEntry[]): void {
  for (const entry of entries) {
    try {
      fs.accessSync(entry.path, fs.constants.R_OK);
    } catch (err) {
      throw new CpvError('E_UNREADABLE', `cannot read '${repo.display(entry.path)}': ${errnoCode(err)}`, {
        hint: 'Fix the file permissions (chmod u+r), or exclude the file in .dvcignore.',
        cause: err,
      });
    }
  }
}
