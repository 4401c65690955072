/**
 * `cpv diff [a_rev [b_rev]]`: what changed in the tracked data between two git revisions, or
 * between a revision (default HEAD) and the workspace (dvc-compat §9 `dvc diff`). Directories are
 * expanded file by file; a directory itself appears (with a trailing `/`) when its `.dir` hash
 * changed. A file that disappeared in one place and appeared in another with the same hash is a
 * rename. Entries are sorted by path; paths are relative to the repository root.
 */

import { compareCodePoints } from '../dvcfile/pyjson.js';
import { isCpvError } from '../errors.js';
import {
  type DataEntry,
  expandRecorded,
  historyOf,
  recordedOutputs,
  workspaceEntries,
} from './data-index.js';
import { Repo } from './repo.js';

export interface DiffEntry {
  path: string;
  hash: string;
}
export interface DiffModified {
  path: string;
  hash: { old: string; new: string };
}
export interface DiffRenamed {
  path: { old: string; new: string };
  hash: string;
}

/** DVC's `diff --json --show-hash` shape, key order included. */
export interface DiffResult {
  added: DiffEntry[];
  deleted: DiffEntry[];
  modified: DiffModified[];
  renamed: DiffRenamed[];
  /** Only when comparing with the workspace: unchanged entries whose data the cache lacks. */
  'not in cache'?: DiffEntry[];
}

export interface DiffOptions {
  cwd?: string;
}

export async function diffRevisions(
  aRev = 'HEAD',
  bRev?: string,
  opts: DiffOptions = {},
): Promise<DiffResult> {
  const repo = Repo.open(opts.cwd);
  const oldEntries = expandRecorded(repo, await outputsOrNothing(repo, aRev));
  const newEntries =
    bRev === undefined
      ? await workspaceEntries(repo, await recordedOutputs(repo, undefined))
      : expandRecorded(repo, await recordedOutputs(repo, bRev));
  const result = compareEntries(oldEntries, newEntries);
  if (bRev === undefined) result['not in cache'] = await notInCache(repo, oldEntries, newEntries);
  return result;
}

/** Before the first commit, HEAD names nothing: everything in the workspace is then added. */
async function outputsOrNothing(repo: Repo, rev: string) {
  try {
    return await recordedOutputs(repo, rev);
  } catch (err) {
    if (rev === 'HEAD' && isCpvError(err) && err.code === 'E_BAD_REV' && repo.gitRoot !== undefined) {
      if (!(await hasCommits(repo))) return [];
    }
    throw err;
  }
}

async function hasCommits(repo: Repo): Promise<boolean> {
  const history = historyOf(repo);
  return (await history.branchCommits()).length > 0;
}

export function compareEntries(oldEntries: DataEntry[], newEntries: DataEntry[]): DiffResult {
  const before = new Map(oldEntries.map((e) => [e.path, e]));
  const after = new Map(newEntries.map((e) => [e.path, e]));
  const result: DiffResult = { added: [], deleted: [], modified: [], renamed: [] };
  for (const [p, e] of after) {
    const old = before.get(p);
    if (old === undefined) result.added.push({ path: p, hash: e.oid });
    else if (old.oid !== e.oid) result.modified.push({ path: p, hash: { old: old.oid, new: e.oid } });
  }
  for (const [p, e] of before) if (!after.has(p)) result.deleted.push({ path: p, hash: e.oid });
  pairRenames(result);
  const byPath = <T extends { path: string | { new: string } }>(list: T[]) =>
    list.sort((x, y) => compareCodePoints(pathOf(x.path), pathOf(y.path)));
  byPath(result.added);
  byPath(result.deleted);
  byPath(result.modified);
  byPath(result.renamed);
  return result;
}

const pathOf = (p: string | { new: string }) => (typeof p === 'string' ? p : p.new);

/** A deleted and an added entry of the same kind and hash are one rename. */
function pairRenames(result: DiffResult): void {
  const deletedByHash = new Map<string, DiffEntry[]>();
  for (const d of [...result.deleted].sort((x, y) => compareCodePoints(x.path, y.path))) {
    const list = deletedByHash.get(d.hash) ?? [];
    list.push(d);
    deletedByHash.set(d.hash, list);
  }
  const stillAdded: DiffEntry[] = [];
  const renamedOld = new Set<DiffEntry>();
  for (const a of [...result.added].sort((x, y) => compareCodePoints(x.path, y.path))) {
    const candidates = deletedByHash.get(a.hash) ?? [];
    const idx = candidates.findIndex((d) => d.path.endsWith('/') === a.path.endsWith('/'));
    if (idx < 0) {
      stillAdded.push(a);
      continue;
    }
    const [d] = candidates.splice(idx, 1);
    renamedOld.add(d!);
    result.renamed.push({ path: { old: d!.path, new: a.path }, hash: a.hash });
  }
  result.added = stillAdded;
  result.deleted = result.deleted.filter((d) => !renamedOld.has(d));
}

async function notInCache(
  repo: Repo,
  oldEntries: DataEntry[],
  newEntries: DataEntry[],
): Promise<DiffEntry[]> {
  const after = new Map(newEntries.map((e) => [e.path, e.oid]));
  const missing: DiffEntry[] = [];
  for (const e of oldEntries) {
    if (after.get(e.path) !== e.oid) continue;
    if (!(await repo.odb.exists(e.oid, e.hashName))) missing.push({ path: e.path, hash: e.oid });
  }
  return missing.sort((x, y) => compareCodePoints(x.path, y.path));
}
