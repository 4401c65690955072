/**
 * Finding every `.dvc` file of a repository and the outputs they track.
 *
 * The walk skips what DVC skips (`.git`, `.hg`, `.dvc`, sub-repos, `.dvcignore`d paths) and, for
 * speed, never descends into a directory `x/` that sits beside an `x.dvc`: that directory is a
 * tracked output and cannot hold `.dvc` files of its own (DVC forbids overlapping outputs).
 */
import * as path from 'node:path';
import type { DvcIgnore } from '../cache/dvcignore.js';
import { DIRENT_DIR, DIRENT_FILE, type DirListing, listDir } from '../cache/raw-fs.js';
import { type DvcFile, type DvcOutput, readDvcFile } from '../dvcfile/dvcfile.js';
import type { Repo } from './repo.js';

export interface TrackedOutput {
  /** Absolute path of the output in the workspace. */
  abs: string;
  /** Index of the output inside its `.dvc` file's `outs`. */
  index: number;
  out: DvcOutput;
}

export interface StageFile {
  /** Absolute path of the `.dvc` file. */
  path: string;
  file: DvcFile;
  outs: TrackedOutput[];
}

const SKIP_DIRS = new Set(['.git', '.hg', '.dvc']);

/**
 * Absolute paths of every `.dvc` file under the repo root, sorted. Every command starts here, and
 * before a first `add` the walk also crosses the data about to be tracked (100k files, say): so
 * it lists directories without building an object per entry, and joins paths only for the
 * entries it keeps.
 */
export function findDvcFiles(root: string, ignore: DvcIgnore): string[] {
  const found: string[] = [];
  const visit = (dir: string, isRoot: boolean): void => {
    let listing: DirListing;
    try {
      listing = listDir(dir);
    } catch {
      return; // unreadable directories hold nothing DVC could track either
    }
    const { names, types } = listing;
    if (!isRoot && names.includes('.dvc')) return; // a DVC sub-repo
    let siblings: Set<string> | undefined; // built only for directories that hold directories
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (types[i] === DIRENT_DIR) {
        siblings ??= new Set(names);
        if (SKIP_DIRS.has(name) || siblings.has(`${name}.dvc`)) continue;
        const abs = path.join(dir, name);
        if (!ignore.isIgnored(abs, true)) visit(abs, false);
      } else if (types[i] === DIRENT_FILE && name.endsWith('.dvc')) {
        const abs = path.join(dir, name);
        if (!ignore.isIgnored(abs, false)) found.push(abs);
      }
    }
  };
  visit(root, true);
  return found.sort();
}

/** Reads one `.dvc` file and resolves its outputs to absolute workspace paths. */
export async function loadStageFile(dvcPath: string): Promise<StageFile> {
  const file = await readDvcFile(dvcPath);
  const base = path.dirname(dvcPath);
  const wdir = file.wdir === undefined ? base : path.resolve(base, file.wdir);
  const outs = file.outs.map((out, index) => ({ abs: path.resolve(wdir, out.path), index, out }));
  return { path: dvcPath, file, outs };
}

export async function loadAllStageFiles(repo: Repo): Promise<StageFile[]> {
  const paths = findDvcFiles(repo.root, await repo.ignore());
  return Promise.all(paths.map(loadStageFile));
}
