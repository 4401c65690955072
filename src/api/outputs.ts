/**
 * Hashing a workspace output (a file or a directory) the way DVC does, optionally storing its
 * objects in the cache on the way. `add` stores; `status` only hashes. One function serves both so
 * the two can never disagree about what an output's hash is.
 */
import * as fs from 'node:fs';
import type { HashName } from '../cache/hash.js';
import { hashFile } from '../cache/hash.js';
import { hashFiles, storeFiles } from '../cache/pool.js';
import { type WalkEntry, walkTree } from '../cache/walk.js';
import { manifestOid, serializeManifest } from '../dvcfile/manifest.js';
import { CpvError, errnoCode } from '../errors.js';
import type { Repo } from './repo.js';

export interface HashedOutput {
  oid: string;
  size: number;
  isDir: boolean;
  /** Directories only: number of manifest entries. */
  nfiles?: number;
  /** Files only: any x bit set (recorded as `isexec: true`). */
  isexec: boolean;
  /** Directories only: the files of the manifest with their hashes. */
  files?: Array<{ entry: WalkEntry; md5: string }>;
}

export interface HashOutputOptions {
  /** Also write every object to the cache (add/commit). */
  store: boolean;
  /** Check each file is readable before anything is written (add), so errors leave no trace. */
  precheck?: boolean;
  onProgress?: (done: number, total: number) => void;
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
  if (opts.store) {
    const { oid, size } = await repo.odb.addFile(abs, hashName);
    return { oid, size, isDir: false, isexec };
  }
  const { md5, size } = await hashFile(abs, hashName);
  return { oid: md5, size, isDir: false, isexec };
}

async function hashDirectory(
  repo: Repo,
  abs: string,
  hashName: HashName,
  opts: HashOutputOptions,
): Promise<HashedOutput> {
  const entries = await walkTree(abs, { ignore: await repo.ignore(), repoRoot: repo.root });
  if (opts.precheck) precheckReadable(repo, entries);
  const paths = entries.map((e) => e.path);
  const poolOpts = { onProgress: opts.onProgress };
  const hashes = opts.store
    ? await storeFiles(paths, repo.odb.cacheDir, hashName, poolOpts)
    : await hashFiles(paths, hashName, poolOpts);
  const files = entries.map((entry, i) => ({ entry, md5: hashes[i]!.md5 }));
  const manifest = serializeManifest(files.map((f) => ({ md5: f.md5, relpath: f.entry.relpath })));
  const oid = manifestOid(manifest);
  if (opts.store) await repo.odb.addBytes(Buffer.from(manifest, 'utf8'), oid, hashName);
  const size = entries.reduce((sum, e) => sum + e.size, 0);
  return { oid, size, isDir: true, nfiles: entries.length, isexec: false, files };
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
