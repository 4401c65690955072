/**
 * What push, fetch, pull and `status -c` share: choosing the outputs a command acts on, routing
 * each to its remote, naming the objects they consist of, and the knobs of a transfer (jobs,
 * cancellation, progress).
 *
 * An output is one object (a file) or a `.dir` manifest plus one object per listed file. Objects
 * are named like DVC names them in `status -c`: the output's path, and `<out>/<relpath>` for the
 * files of a directory (dvc-compat §9); two paths with the same content are one object, shown
 * under the first name met.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HashName } from '../cache/hash.js';
import { hashNameOf } from '../dvcfile/dvcfile.js';
import { type ManifestEntry, parseManifest } from '../dvcfile/manifest.js';
import { CpvError, isCpvError } from '../errors.js';
import { isInside, toPosix } from '../fsutil.js';
import { oidsExist } from '../remote/exists.js';
import { getRemote, type Remote } from '../remote/index.js';
import { commitsIn, hasRevScope, historyOf, type RevScopes } from './data-index.js';
import type { LockOptions } from './lock.js';
import type { Repo } from './repo.js';
import { loadAllStageFiles, type TrackedOutput } from './stages.js';

/** Progress of a transfer, reported after every object and every chunk of bytes. */
export interface TransferProgress {
  phase: 'check' | 'transfer';
  objectsDone: number;
  objectsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/**
 * `allBranches`, `allTags`, `allCommits` (`-a`, `-T`, `-A`) add the outputs the `.dvc` and
 * `dvc.lock` files of those git revisions record, read from git without a checkout.
 */
export interface TransferOptions extends LockOptions, RevScopes {
  cwd?: string;
  /** Remote name; default: each output's `remote:`, else `core.remote`. */
  remote?: string;
  /** Parallel transfers; default: the remote's `jobs`, else 4 × CPU cores (DVC's default). */
  jobs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
}

/** One output a command acts on. */
export interface SelectedOutput {
  /** The workspace's record of it; absent for an output found only in git history. */
  tracked?: TrackedOutput;
  /** Path as DVC shows it (relative to the cwd, `/`-separated). */
  display: string;
  oid: string;
  hashName: HashName;
  isDir: boolean;
  /** Directories: only the files at or under this relpath (a target inside the directory). */
  subpath?: string;
  /** The remote named by the output's `remote:` key, if any. */
  remoteName?: string;
}

/** One object to transfer or compare. */
export interface ObjectRef {
  oid: string;
  hashName: HashName;
  /** Display name (`data`, `data/a.txt`). */
  name: string;
}

export function objectId(ref: { oid: string; hashName: HashName }): string {
  return `${ref.hashName}:${ref.oid}`;
}

/** Default parallelism: `-j`, else the remote's `jobs`, else 4 × cores like DVC (`_JOBS`). */
export function jobsFor(remote: Remote, requested: number | undefined): number {
  const jobs = requested ?? remote.jobs ?? 4 * os.availableParallelism();
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new CpvError('E_USAGE', `jobs must be a positive integer, not ${jobs}`, {
      hint: 'Pass -j with a number such as 8.',
    });
  }
  return jobs;
}

export interface SelectOptions {
  /** Skip outputs marked `push: false` (push only). */
  forPush?: boolean;
  /** Also the outputs of these git revisions (matched against the same targets). */
  revs?: RevScopes;
}

/**
 * The cached outputs named by `targets` (all of them when empty). A target is a `.dvc` file, an
 * output path, or a path inside a tracked directory (then only that part of it).
 */
export async function selectOutputs(
  repo: Repo,
  targets: readonly string[],
  opts: SelectOptions = {},
): Promise<{ outputs: SelectedOutput[]; tracked: number }> {
  const stages = await loadAllStageFiles(repo);
  const all = stages.flatMap((s) => s.outs.map((tracked) => ({ stage: s.path, tracked })));
  const chosen: Array<{ tracked: TrackedOutput; subpath?: string }> = [];
  if (targets.length === 0) chosen.push(...all.map(({ tracked }) => ({ tracked })));
  for (const target of targets) chosen.push(...matchTarget(repo, all, target));
  const outputs: SelectedOutput[] = [];
  const seen = new Set<string>();
  for (const { tracked, subpath } of chosen) {
    const { out } = tracked;
    if (out.md5 === undefined || out.cache === false) continue;
    if (opts.forPush && out.push === false) continue;
    const key = `${tracked.abs}\0${subpath ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    outputs.push({
      tracked,
      display: repo.display(tracked.abs),
      oid: out.md5,
      hashName: hashNameOf(out),
      isDir: out.md5.endsWith('.dir'),
      ...(subpath === undefined ? {} : { subpath }),
      ...(out.remote === undefined ? {} : { remoteName: out.remote }),
    });
  }
  if (opts.revs !== undefined && hasRevScope(opts.revs)) {
    outputs.push(...(await historyOutputs(repo, targets, opts.revs, opts.forPush === true, outputs)));
  }
  return { outputs, tracked: all.length };
}

/**
 * The outputs recorded at the commits `revs` names that `targets` select (all when empty), each
 * version once, and none the workspace outputs already cover. A target selects an output by its
 * path or its `.dvc` file as they are at that commit, or a part of a directory output by a path
 * inside it (as in the workspace).
 */
async function historyOutputs(
  repo: Repo,
  targets: readonly string[],
  revs: RevScopes,
  forPush: boolean,
  already: readonly SelectedOutput[],
): Promise<SelectedOutput[]> {
  const history = historyOf(repo);
  const wanted = targets.map((t) => toPosix(path.relative(repo.root, repo.resolve(t))));
  const seen = new Set(already.map((o) => `${objectId(o)}\0${o.subpath ?? ''}`));
  const found: SelectedOutput[] = [];
  for (const commit of await commitsIn(history, revs)) {
    for (const out of await history.outputsAt(commit)) {
      if (out.md5 === undefined || !out.cached || (forPush && out.push === false)) continue;
      const isDir = out.md5.endsWith('.dir');
      for (const subpath of subpathsSelected(out.path, out.source, isDir, wanted)) {
        const output: SelectedOutput = {
          display: repo.display(path.join(repo.root, out.path)),
          oid: out.md5,
          hashName: out.hashName,
          isDir,
          ...(subpath === undefined ? {} : { subpath }),
          ...(out.remote === undefined ? {} : { remoteName: out.remote }),
        };
        const key = `${objectId(output)}\0${subpath ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        found.push(output);
      }
    }
  }
  return found;
}

/**
 * Which parts of a recorded output the targets (repository-relative) ask for: `[undefined]` for
 * all of it, a relpath for a part of a directory, none when no target names it.
 */
function subpathsSelected(
  outPath: string,
  source: string,
  isDir: boolean,
  wanted: readonly string[],
): Array<string | undefined> {
  if (wanted.length === 0 || wanted.some((w) => w === outPath || w === source || w === ''))
    return [undefined];
  if (!isDir) return [];
  return wanted.filter((w) => w.startsWith(`${outPath}/`)).map((w) => w.slice(outPath.length + 1));
}

function matchTarget(
  repo: Repo,
  all: Array<{ stage: string; tracked: TrackedOutput }>,
  target: string,
): Array<{ tracked: TrackedOutput; subpath?: string }> {
  const abs = repo.resolve(target);
  const whole = all.filter((o) => o.stage === abs || o.tracked.abs === abs);
  if (whole.length > 0) return whole.map(({ tracked }) => ({ tracked }));
  const parent = all.find((o) => o.tracked.out.md5?.endsWith('.dir') && isInside(o.tracked.abs, abs));
  if (parent !== undefined) {
    return [{ tracked: parent.tracked, subpath: toPosix(path.relative(parent.tracked.abs, abs)) }];
  }
  const exists = fs.existsSync(abs);
  throw new CpvError(exists ? 'E_USAGE' : 'E_TARGET_MISSING', `'${target}' is not tracked by any .dvc file`, {
    hint: 'Name a .dvc file, an output path, or a path inside a tracked directory.',
  });
}

/** Manifest entries at or under `subpath` (all when undefined). */
export function entriesUnder(entries: ManifestEntry[], subpath: string | undefined): ManifestEntry[] {
  if (subpath === undefined) return entries;
  return entries.filter((e) => e.relpath === subpath || e.relpath.startsWith(`${subpath}/`));
}

/** Reads a `.dir` manifest from the local cache. */
export function readCachedManifest(repo: Repo, oid: string, hashName: HashName): ManifestEntry[] {
  const p = repo.odb.pathFor(oid, hashName);
  return parseManifest(fs.readFileSync(p, 'utf8'), oid);
}

/** The refs of a directory's files, named `<out>/<relpath>`. */
export function fileRefs(output: SelectedOutput, entries: ManifestEntry[]): ObjectRef[] {
  return entries.map((e) => ({
    oid: e.md5,
    hashName: output.hashName,
    name: `${output.display}/${e.relpath}`,
  }));
}

/** Groups outputs by the remote they go to: `-r` for all, else each one's `remote:`, else default. */
export async function groupByRemote(
  repo: Repo,
  outputs: SelectedOutput[],
  requested: string | undefined,
): Promise<Array<{ remote: Remote; outputs: SelectedOutput[] }>> {
  const byName = new Map<string, SelectedOutput[]>();
  for (const output of outputs) {
    const name = requested ?? output.remoteName ?? '';
    byName.set(name, [...(byName.get(name) ?? []), output]);
  }
  if (byName.size === 0) byName.set(requested ?? '', []); // still resolve: a missing remote is an error
  const groups = [];
  for (const [name, group] of byName) {
    groups.push({ remote: await getRemote(repo, name === '' ? undefined : name), outputs: group });
  }
  return groups;
}

/** A failed object and why, for the one error a command ends with. */
export interface FailedObject {
  name: string;
  oid: string;
  reason: string;
}

/** A push/fetch that could not move every object; `failed` names each one and why. */
export class TransferIncompleteError extends CpvError {
  constructor(
    readonly failed: FailedObject[],
    readonly done: number,
    verb: string,
    hint: string,
  ) {
    // One line (the CLI shows errors as one line): the count, then the first few by name.
    const shown = failed.slice(0, 3).map((f) => `${f.name} (${f.reason})`);
    const more = failed.length > 3 ? `, and ${failed.length - 3} more` : '';
    super(
      'E_TRANSFER_INCOMPLETE',
      `${failed.length} object(s) could not be ${verb} (${done} ${verb}): ${shown.join(', ')}${more}`,
      { hint },
    );
  }
}

/** The error for objects that could not be transferred. */
export function incompleteError(verb: string, failed: FailedObject[], done: number, hint: string): CpvError {
  return new TransferIncompleteError(failed, done, verb, hint);
}

/** A short reason from any error. */
/**
 * The first failure that every other transfer of a batch would meet as well (a full disk): once
 * one is seen the rest are skipped, and that one error is reported instead of a line per object.
 */
export class BatchStop {
  error: CpvError | undefined;

  /** Whether `err` stops the batch (the first such error is kept). */
  stops(err: unknown): boolean {
    if (!isCpvError(err) || err.code !== 'E_NO_SPACE') return false;
    this.error ??= err;
    return true;
  }

  throwIfStopped(): void {
    if (this.error !== undefined) throw this.error;
  }
}

export function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Counts objects and bytes and reports them through `onProgress`. */
export class ProgressCounter {
  private objectsDone = 0;
  private bytesDone = 0;

  constructor(
    private readonly phase: TransferProgress['phase'],
    private readonly objectsTotal: number,
    private readonly bytesTotal: number,
    private readonly onProgress: TransferOptions['onProgress'],
  ) {}

  bytes = (n: number): void => {
    this.bytesDone += n;
    this.emit();
  };

  object = (): void => {
    this.objectsDone += 1;
    this.emit();
  };

  private emit(): void {
    this.onProgress?.({
      phase: this.phase,
      objectsDone: this.objectsDone,
      objectsTotal: this.objectsTotal,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
    });
  }
}

/** A directory output's objects: its manifest and every file the manifest lists. */
export interface DirObjects {
  ref: ObjectRef;
  all: ObjectRef[];
  /** Some output selects the whole directory (not just a path inside it). */
  whole: boolean;
}

/** Everything a set of outputs consists of: file objects (deduplicated) and directories. */
export interface ObjectPlan {
  /** File objects to act on (within a target's subpath), by `objectId`; first name met wins. */
  files: Map<string, ObjectRef>;
  dirs: DirObjects[];
}

export interface CollectOptions {
  /** Reads a directory's manifest; default: from the local cache, undefined when absent. */
  loadManifest?: (output: SelectedOutput) => Promise<ManifestEntry[] | undefined>;
  /** Told about directories whose manifest could not be had. */
  onMissingManifest: (failed: FailedObject) => void;
}

/** Expands outputs into objects, in output order. */
export async function collectObjects(
  repo: Repo,
  outputs: SelectedOutput[],
  opts: CollectOptions,
): Promise<ObjectPlan> {
  const load = opts.loadManifest ?? ((o: SelectedOutput) => cachedManifest(repo, o));
  const plan: ObjectPlan = { files: new Map(), dirs: [] };
  const dirsById = new Map<string, DirObjects>();
  const addFile = (ref: ObjectRef) => {
    if (!plan.files.has(objectId(ref))) plan.files.set(objectId(ref), ref);
  };
  for (const output of outputs) {
    const ref = { oid: output.oid, hashName: output.hashName, name: output.display };
    if (!output.isDir) {
      addFile(ref);
      continue;
    }
    const entries = await load(output);
    if (entries === undefined) {
      opts.onMissingManifest({ name: ref.name, oid: ref.oid, reason: 'directory manifest not available' });
      continue;
    }
    let dir = dirsById.get(objectId(ref));
    if (dir === undefined) {
      dir = { ref, all: fileRefs(output, entries), whole: false };
      dirsById.set(objectId(ref), dir);
      plan.dirs.push(dir);
    }
    if (output.subpath === undefined) dir.whole = true;
    for (const file of fileRefs(output, entriesUnder(entries, output.subpath))) addFile(file);
  }
  return plan;
}

/** The manifest of a directory output from the local cache, if it is there intact. */
async function cachedManifest(repo: Repo, output: SelectedOutput): Promise<ManifestEntry[] | undefined> {
  if ((await repo.odb.check(output.oid, output.hashName)) !== 'ok') return undefined;
  return readCachedManifest(repo, output.oid, output.hashName);
}

/** Which of `refs` the remote has, as `objectId`s; each hash layout is asked in one batch. */
export async function existingByHash(
  remote: Remote,
  refs: ObjectRef[],
  opts: { jobs: number; signal?: AbortSignal | undefined },
): Promise<Set<string>> {
  const byHash = new Map<HashName, Set<string>>();
  for (const ref of refs) {
    const set = byHash.get(ref.hashName) ?? new Set<string>();
    set.add(ref.oid);
    byHash.set(ref.hashName, set);
  }
  const found = new Set<string>();
  for (const [hashName, oids] of byHash) {
    for (const oid of await oidsExist(remote, oids, hashName, opts)) found.add(objectId({ oid, hashName }));
  }
  return found;
}

/**
 * Like Promise.all, but waits for every task to finish before rejecting: after a cancellation the
 * transfers in flight must clean up their temp files before the command returns.
 */
export async function settleAll(tasks: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}
