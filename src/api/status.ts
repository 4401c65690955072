/**
 * `cpv status`: compares each tracked output with the workspace and the cache, reporting exactly
 * what DVC's `status` reports (dvc-compat §9): `not in cache`, `deleted`, `modified`, `new`.
 */
import * as fs from 'node:fs';
import type { HashName } from '../cache/hash.js';
import { hashNameOf } from '../dvcfile/dvcfile.js';
import { parseManifest } from '../dvcfile/manifest.js';
import { CpvError } from '../errors.js';
import { dirFilesInCache, objectIntact } from './dir-complete.js';
import { hashOutput } from './outputs.js';
import { Repo } from './repo.js';
import { loadAllStageFiles, type StageFile, type TrackedOutput } from './stages.js';

export type OutputStatus = 'not in cache' | 'deleted' | 'modified' | 'new';
/** One entry of a stage's status list, as DVC's JSON has it. */
export type StageStatus = { 'changed outs': Record<string, OutputStatus> } | 'changed checksum';

export interface StatusResult {
  /** Stage address (`.dvc` path relative to cwd) → its changes; empty when everything is clean. */
  stages: Record<string, StageStatus[]>;
  /** Number of stages looked at (0 = nothing tracked yet). */
  tracked: number;
}

export interface StatusOptions {
  cwd?: string;
}

export async function repoStatus(targets: string[] = [], opts: StatusOptions = {}): Promise<StatusResult> {
  const repo = Repo.open(opts.cwd);
  const all = await loadAllStageFiles(repo);
  const selected = targets.length === 0 ? all : selectStages(repo, all, targets);
  const stages: Record<string, StageStatus[]> = {};
  for (const stage of selected) {
    const changed: Record<string, OutputStatus> = {};
    for (const out of stage.outs) {
      const status = await outputStatus(repo, out);
      if (status !== undefined) changed[repo.display(out.abs)] = status;
    }
    if (Object.keys(changed).length > 0) stages[repo.display(stage.path)] = [{ 'changed outs': changed }];
  }
  repo.saveState();
  return { stages, tracked: selected.length };
}

/** Targets may name `.dvc` files or output paths. */
function selectStages(repo: Repo, all: StageFile[], targets: string[]): StageFile[] {
  const wanted = new Set<StageFile>();
  for (const target of targets) {
    const abs = repo.resolve(target);
    const matches = all.filter((s) => s.path === abs || s.outs.some((o) => o.abs === abs));
    if (matches.length === 0) {
      const exists = fs.existsSync(abs);
      throw new CpvError(
        exists ? 'E_USAGE' : 'E_TARGET_MISSING',
        `'${target}' is not tracked by any .dvc file`,
        {
          hint: exists ? 'Name a .dvc file or an output path (cpv add it first).' : 'Check the path.',
        },
      );
    }
    for (const m of matches) wanted.add(m);
  }
  return all.filter((s) => wanted.has(s));
}

export async function outputStatus(repo: Repo, tracked: TrackedOutput): Promise<OutputStatus | undefined> {
  const { out, abs } = tracked;
  const hashName = hashNameOf(out);
  // The workspace is hashed (on the worker threads) while this thread checks the cache: the two
  // answers are independent, and each can take a stat per file.
  const notNeeded = new AbortController();
  const hashing = fs.existsSync(abs)
    ? settled(hashOutput(repo, abs, hashName, { store: false, files: false, signal: notNeeded.signal }))
    : undefined;
  if (out.md5 !== undefined && out.cache !== false && !(await inCache(repo, out.md5, hashName))) {
    // The answer needs no hash: stop hashing (a big directory would take long), and a failure
    // to hash does not matter here.
    notNeeded.abort();
    await hashing;
    return 'not in cache';
  }
  if (hashing === undefined) return 'deleted';
  const current = await hashing;
  if ('error' in current) throw current.error;
  if (current.value.oid !== out.md5) return 'modified';
  return out.md5 === undefined ? 'new' : undefined;
}

/** A promise that never rejects: its value, or the error it failed with. */
async function settled<T>(work: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  try {
    return { value: await work };
  } catch (error) {
    return { error };
  }
}

/**
 * An object is in the cache when it is intact; a directory also needs every listed file intact
 * (remembered per cache stamp: see dir-complete.ts).
 */
export async function inCache(repo: Repo, oid: string, hashName: HashName): Promise<boolean> {
  if (!(await objectIntact(repo, oid, hashName))) return false;
  if (!oid.endsWith('.dir')) return true;
  const manifestPath = repo.odb.pathFor(oid, hashName);
  return dirFilesInCache(repo, oid, hashName, () =>
    parseManifest(fs.readFileSync(manifestPath, 'utf8'), manifestPath).map((e) => e.md5),
  );
}
