/**
 * `cpv ls [rev]`: every file the repository tracks with DVC at a git revision (default: the
 * workspace's `.dvc` files), directories expanded through their cached manifests — what
 * `dvc ls --recursive --dvc-only .` lists, with each file's hash. Sizes are those recorded: a
 * single-file output has one; a file inside a directory has none in DVC's format (`null`), so
 * `size` falls back to the cached object's size in `cachedSize`.
 */
import * as fs from 'node:fs';
import { compareCodePoints } from '../dvcfile/pyjson.js';
import { expandRecorded, recordedOutputs } from './data-index.js';
import { Repo } from './repo.js';

export interface LsEntry {
  /** Relative to the repository root, `/`-separated. */
  path: string;
  isout: true;
  isdir: false;
  isexec: boolean;
  /** As DVC reports it: recorded size of a single-file output, null inside a directory. */
  size: number | null;
  /** The size of the object in the local cache, when it is there. */
  cachedSize: number | null;
  md5: string;
}

export interface LsOptions {
  cwd?: string;
}

export async function listTracked(rev?: string, opts: LsOptions = {}): Promise<LsEntry[]> {
  const repo = Repo.open(opts.cwd);
  const entries = expandRecorded(repo, await recordedOutputs(repo, rev)).filter((e) => !e.isDir);
  return entries
    .map((e) => {
      const st = fs.statSync(repo.odb.pathFor(e.oid, e.hashName), { throwIfNoEntry: false });
      return {
        path: e.path,
        isout: true as const,
        isdir: false as const,
        isexec: e.isexec,
        size: e.size,
        cachedSize: st?.isFile() ? st.size : null,
        md5: e.oid,
      };
    })
    .sort((a, b) => compareCodePoints(a.path, b.path));
}
