/**
 * The data a revision tracks, file by file: the outputs recorded by `.dvc`/`dvc.lock` files (of the
 * workspace or of any git revision, via `src/git/history.ts`), with directories expanded through
 * their `.dir` manifests in the cache. `diff`, `ls` and `gc` all read this one view.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HashName } from '../cache/hash.js';
import { CpvError } from '../errors.js';
import { toPosix } from '../fsutil.js';
import { GitHistory, lockOutputs, type RecordedOutput } from '../git/history.js';
import { readManifest } from './cached-manifest.js';
import { hashOutput } from './outputs.js';
import type { Repo } from './repo.js';
import { loadAllStageFiles } from './stages.js';

/** One tracked file, or a tracked directory itself (path ending in `/`). */
export interface DataEntry {
  /** Relative to the DVC repository root, `/`-separated; directories end in `/`. */
  path: string;
  /** md5, or `<md5>.dir` for a directory. */
  oid: string;
  hashName: HashName;
  isDir: boolean;
  isexec: boolean;
  /** Known size (single-file outputs and directories as recorded); null inside directories. */
  size: number | null;
}

/** Git revisions a command also looks at besides the workspace (DVC's `-a`, `-T`, `-A`). */
export interface RevScopes {
  /** The commit at the tip of every branch. */
  allBranches?: boolean;
  /** The commit of every tag. */
  allTags?: boolean;
  /** Every commit reachable from a branch or tag. */
  allCommits?: boolean;
}

export function hasRevScope(scopes: RevScopes): boolean {
  return scopes.allBranches === true || scopes.allTags === true || scopes.allCommits === true;
}

/** The commits the scopes name, each once. */
export async function commitsIn(history: GitHistory, scopes: RevScopes): Promise<string[]> {
  const commits = new Set<string>();
  if (scopes.allCommits) for (const c of await history.allCommits()) commits.add(c);
  if (scopes.allBranches) for (const c of await history.branchCommits()) commits.add(c);
  if (scopes.allTags) for (const c of await history.tagCommits()) commits.add(c);
  return [...commits];
}

export function historyOf(repo: Repo): GitHistory {
  if (repo.gitRoot === undefined) {
    throw new CpvError('E_NOT_GIT', 'this command needs git history, but the repository is not in git', {
      hint: 'Use it in a DVC repository inside a git work tree (not created with --no-scm).',
    });
  }
  return new GitHistory(repo.gitRoot, repo.root);
}

/** Outputs recorded in the workspace's `.dvc` files and `dvc.lock` files. */
export async function workspaceOutputs(repo: Repo): Promise<RecordedOutput[]> {
  const stages = await loadAllStageFiles(repo);
  const outs: RecordedOutput[] = [];
  const lockDirs = new Set<string>([repo.root]);
  for (const stage of stages) {
    lockDirs.add(path.dirname(stage.path));
    for (const { abs, out } of stage.outs) {
      outs.push({
        path: toPosix(path.relative(repo.root, abs)),
        source: toPosix(path.relative(repo.root, stage.path)),
        md5: out.md5,
        hashName: out.hash === 'md5' ? 'md5' : 'md5-dos2unix',
        size: out.size,
        nfiles: out.nfiles,
        isexec: out.isexec === true,
        cached: out.cache !== false,
      });
    }
  }
  // Pipelines: dvc.lock at the root and beside .dvc files (where cpv looks for pipeline outputs).
  for (const dir of lockDirs) {
    const lock = path.join(dir, 'dvc.lock');
    if (!fs.existsSync(lock)) continue;
    const rel = toPosix(path.relative(repo.root, dir));
    for (const o of lockOutputs(fs.readFileSync(lock, 'utf8'), lock)) {
      outs.push(rel === '' ? o : { ...o, path: `${rel}/${o.path}`, source: `${rel}/${o.source}` });
    }
  }
  return outs.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Outputs recorded at `rev`, or in the workspace when `rev` is undefined. */
export async function recordedOutputs(repo: Repo, rev: string | undefined): Promise<RecordedOutput[]> {
  if (rev === undefined) return workspaceOutputs(repo);
  const history = historyOf(repo);
  return history.outputsAt(await history.resolveCommit(rev));
}

/** Recorded outputs as entries, directories expanded when their manifest is in the cache. */
export function expandRecorded(repo: Repo, outs: RecordedOutput[]): DataEntry[] {
  const entries: DataEntry[] = [];
  for (const out of outs) {
    if (out.md5 === undefined) continue;
    if (!out.md5.endsWith('.dir')) {
      entries.push(fileEntry(out.path, out.md5, out.hashName, out.isexec, out.size ?? null));
      continue;
    }
    entries.push({ ...dirEntry(out.path, out.md5, out.hashName), size: out.size ?? null });
    for (const e of readManifest(repo, out.md5, out.hashName) ?? []) {
      entries.push(fileEntry(`${out.path}/${e.relpath}`, e.md5, out.hashName, false, null));
    }
  }
  return entries;
}

/** The workspace data of the recorded outputs, hashed now (state store); missing outputs omitted. */
export async function workspaceEntries(repo: Repo, outs: RecordedOutput[]): Promise<DataEntry[]> {
  const entries: DataEntry[] = [];
  for (const out of outs) {
    const abs = path.join(repo.root, ...out.path.split('/'));
    if (!fs.existsSync(abs)) continue;
    const h = await hashOutput(repo, abs, out.hashName, { store: false });
    if (!h.isDir) {
      entries.push(fileEntry(out.path, h.oid, out.hashName, h.isexec, h.size));
      continue;
    }
    entries.push({ ...dirEntry(out.path, h.oid, out.hashName), size: h.size });
    for (const f of h.files ?? []) {
      entries.push(fileEntry(`${out.path}/${f.entry.relpath}`, f.md5, out.hashName, false, f.entry.size));
    }
  }
  repo.saveState();
  return entries;
}

function fileEntry(
  p: string,
  oid: string,
  hashName: HashName,
  isexec: boolean,
  size: number | null,
): DataEntry {
  return { path: p, oid, hashName, isDir: false, isexec, size };
}

function dirEntry(p: string, oid: string, hashName: HashName): DataEntry {
  return { path: `${p}/`, oid, hashName, isDir: true, isexec: false, size: null };
}
