/**
 * `cpv gc`: delete cache objects no kept scope uses (dvc-compat §9 `dvc gc`).
 *
 * Scopes as DVC: the workspace is always kept; `allBranches`, `allTags`, `allCommits` add the
 * outputs recorded at those revisions, read from git objects (`src/git/history.ts`, no checkout).
 * A `.dir` object in use keeps every file it lists. An object is kept if its oid is used under
 * either hash layout, so no reading of the scopes can make gc delete data a kept revision needs.
 * Anything that cannot be read (a broken `.dvc` file at some commit) aborts gc before it deletes.
 *
 * Deletion is one `unlink` per object, `.dir` manifests first (as DVC): a gc killed half-way
 * never leaves a manifest whose files are gone while the manifest still claims them. cpv's own
 * stale temp files (`.tmp-*`, from writers killed mid-copy) are garbage too; they are removed
 * while holding the repository lock, so no cpv writer can be using them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HashName } from '../cache/hash.js';
import { objectRoot, TEMP_PREFIX } from '../cache/odb.js';
import { CpvError } from '../errors.js';
import type { RecordedOutput } from '../git/history.js';
import { readManifest } from './cached-manifest.js';
import { commitsIn, hasRevScope, historyOf, type RevScopes, workspaceOutputs } from './data-index.js';
import { type LockOptions, withRepoLock } from './lock.js';
import { Repo } from './repo.js';

export interface GcScopes extends RevScopes {
  /** Keep what the workspace's `.dvc`/`dvc.lock` files use (always on; the flag makes it explicit). */
  workspace?: boolean;
}

export interface GcOptions extends GcScopes, LockOptions {
  cwd?: string;
  /** Only report what would be removed. */
  dryRun?: boolean;
  /** Remove without asking. */
  force?: boolean;
  /** Asked with the plan when neither force nor dryRun; without it (or on false) gc is refused. */
  confirm?: (plan: GcPlan) => Promise<boolean> | boolean;
  /** Also remove unused objects from a remote (`-c`). */
  cloud?: boolean;
  /** The remote for `cloud` (default: core.remote). */
  remote?: string;
}

export interface GcObject {
  oid: string;
  hashName: HashName;
  path: string;
  size: number;
}

export interface GcPlan {
  /** Objects to delete from the local cache (manifests first). */
  objects: GcObject[];
  /** Stale temp files and DVC 1.x `.dir.unpacked` directories. */
  junk: string[];
  bytes: number;
  /** Number of distinct oids the kept scopes use. */
  used: number;
}

export interface GcResult {
  plan: GcPlan;
  dryRun: boolean;
  /** Objects deleted per layout: `repo` (files/md5) and `legacy` (cache root). */
  removed: { repo: number; legacy: number };
  /** Remote objects deleted (with `cloud`), or that would be (dry run). */
  cloud?: { remote: string; removed: number };
}

export function hasScope(s: GcScopes): boolean {
  return s.workspace === true || hasRevScope(s);
}

export async function gc(opts: GcOptions = {}): Promise<GcResult> {
  if (!hasScope(opts)) {
    throw new CpvError(
      'E_USAGE',
      'gc needs a scope: -w/--workspace, -a/--all-branches, -T/--all-tags or --all-commits',
      {
        hint: 'Pick which data to keep, e.g. `cpv gc -w` keeps only what the workspace uses.',
      },
    );
  }
  const repo = Repo.open(opts.cwd);
  return withRepoLock(repo.dvcDir, () => gcLocked(repo, opts), opts);
}

async function gcLocked(repo: Repo, opts: GcOptions): Promise<GcResult> {
  const used = await usedOids(repo, opts);
  const plan = planLocal(repo, used);
  const result: GcResult = { plan, dryRun: opts.dryRun ?? false, removed: { repo: 0, legacy: 0 } };
  if (opts.dryRun) {
    if (opts.cloud) result.cloud = await cloudGc(repo, used, opts.remote, true);
    return result;
  }
  const nothingToDo = plan.objects.length === 0 && plan.junk.length === 0;
  if (!opts.force && !nothingToDo && (opts.confirm === undefined || !(await opts.confirm(plan)))) {
    throw new CpvError(
      'E_NEEDS_FORCE',
      `gc would remove ${plan.objects.length} objects (${plan.bytes} bytes) and was not confirmed`,
      {
        hint: 'Review with --dry, then rerun with -f/--force to remove them.',
      },
    );
  }
  for (const obj of plan.objects) {
    fs.rmSync(obj.path, { force: true });
    if (obj.hashName === 'md5') result.removed.repo++;
    else result.removed.legacy++;
  }
  for (const junk of plan.junk) fs.rmSync(junk, { recursive: true, force: true });
  if (opts.cloud) result.cloud = await cloudGc(repo, used, opts.remote, false);
  return result;
}

/** Every oid the kept scopes use, `.dir` manifests expanded through the cache. */
export async function usedOids(repo: Repo, scopes: GcScopes): Promise<Set<string>> {
  const outs: RecordedOutput[] = [...(await workspaceOutputs(repo))];
  if (hasRevScope(scopes)) {
    const history = historyOf(repo);
    for (const c of await commitsIn(history, scopes)) outs.push(...(await history.outputsAt(c)));
  }
  const used = new Set<string>();
  const expanded = new Set<string>();
  for (const out of outs) {
    if (out.md5 === undefined || !out.cached) continue;
    used.add(out.md5);
    if (!out.md5.endsWith('.dir') || expanded.has(`${out.hashName}:${out.md5}`)) continue;
    expanded.add(`${out.hashName}:${out.md5}`);
    // A manifest missing here cannot name its files; they are then unknown, not unused (see plan).
    for (const e of readManifest(repo, out.md5, out.hashName) ?? []) used.add(e.md5);
  }
  return used;
}

/** Unused objects of both local layouts, manifests first, plus junk. */
export function planLocal(repo: Repo, used: Set<string>): GcPlan {
  const objects: GcObject[] = [];
  const junk: string[] = [];
  for (const hashName of ['md5', 'md5-dos2unix'] as const) {
    for (const obj of listObjects(objectRoot(repo.odb.cacheDir, hashName), hashName, junk)) {
      if (!used.has(obj.oid)) objects.push(obj);
    }
  }
  objects.sort((a, b) => Number(b.oid.endsWith('.dir')) - Number(a.oid.endsWith('.dir')));
  return { objects, junk, bytes: objects.reduce((n, o) => n + o.size, 0), used: used.size };
}

const HEX2 = /^[0-9a-f]{2}$/;
const REST = /^[0-9a-f]{30}(\.dir)?$/;

function listObjects(root: string, hashName: HashName, junk: string[]): GcObject[] {
  const found: GcObject[] = [];
  let dirs: string[];
  try {
    dirs = fs.readdirSync(root);
  } catch {
    return found; // no cache (yet)
  }
  for (const d of dirs) {
    const dir = path.join(root, d);
    if (d.startsWith(TEMP_PREFIX)) junk.push(dir); // a temp staged at the layout root
    if (!HEX2.test(d)) continue;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      if (name.startsWith(TEMP_PREFIX) || name.endsWith('.dir.unpacked')) {
        junk.push(p);
        continue;
      }
      if (!REST.test(name)) continue;
      const st = fs.statSync(p, { throwIfNoEntry: false });
      if (st?.isFile()) found.push({ oid: d + name, hashName, path: p, size: st.size });
    }
  }
  return found;
}

/** Deletes (or counts, dry) remote objects not in `used`, in both layouts, manifests first. */
async function cloudGc(
  repo: Repo,
  used: Set<string>,
  remoteName: string | undefined,
  dryRun: boolean,
): Promise<{ remote: string; removed: number }> {
  const { getRemote } = await import('../remote/index.js');
  const { oidOfKey } = await import('../remote/keys.js');
  const remote = await getRemote(repo, remoteName);
  const unused: string[] = [];
  for (const hashName of ['md5', 'md5-dos2unix'] as const) {
    for await (const key of remote.list(hashName === 'md5' ? 'files/md5/' : '')) {
      const oid = oidOfKey(key, hashName);
      if (oid !== undefined && !used.has(oid)) unused.push(key);
    }
  }
  unused.sort((a, b) => Number(b.endsWith('.dir')) - Number(a.endsWith('.dir')));
  if (!dryRun) for (const key of unused) await remote.delete(key);
  return { remote: remote.name, removed: unused.length };
}
