/**
 * `cpv checkout`: make the workspace match the `.dvc` files by linking objects out of the cache
 * (dvc-compat §4.3, §9 `dvc checkout`).
 *
 * Plan first, then apply: every selected output is compared with the workspace (hashing through
 * the state store) before anything is touched. Workspace data that would be overwritten or removed
 * and is not in the cache would be lost, so it is refused (listing every such path) unless
 * `force` is given. Links go through the Linker (temp + rename), so a killed checkout leaves each
 * file either old or new, never half-written; a rerun finishes the job. Copies of many files that
 * are not there yet are created in place instead, marked partial until complete and listed in a
 * journal, so a rerun removes what a kill left half-written (checkout-journal.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HashName } from '../cache/hash.js';
import { Linker, type LinkType, workspaceFileMode } from '../cache/link.js';
import { copyFilesOut, warmSharedPool } from '../cache/pool.js';
import { hashNameOf } from '../dvcfile/dvcfile.js';
import { type ManifestEntry, parseManifest } from '../dvcfile/manifest.js';
import { CpvError } from '../errors.js';
import { beginInPlace, endInPlace, recoverInPlace } from './checkout-journal.js';
import { dirFilesInCache, objectIntact } from './dir-complete.js';
import { type LockOptions, withRepoLock } from './lock.js';
import { fileStat, hashOutput, remember } from './outputs.js';
import { Repo } from './repo.js';
import { inFilter, type SelectedOutput, selectOutputs } from './selection.js';
import { loadAllStageFiles } from './stages.js';

/** md5 of zero bytes: such files are created, never hard- or sym-linked. */
export const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

export type CheckoutChangeKind = 'added' | 'modified' | 'deleted';

export interface CheckoutChange {
  kind: CheckoutChangeKind;
  /** Output path relative to cwd, `/`-separated; directories end in `/`. */
  path: string;
}

export interface CheckoutOptions extends LockOptions {
  cwd?: string;
  /** Overwrite or delete workspace data that is not in the cache. */
  force?: boolean;
  /** Re-link every file, changed or not (e.g. after changing cache.type). */
  relink?: boolean;
  /** Skip outputs whose objects are missing from the cache instead of failing. */
  allowMissing?: boolean;
  /** The linker to use (tests inject failing link functions to watch the fallback). */
  linker?: Linker;
  /** Ctrl-C: stops between files; each file is old or new, never half-written. */
  signal?: AbortSignal;
  /** Files put in place so far for one output (`target` as displayed, directories ending in `/`). */
  onProgress?: (event: { target: string; done: number; total: number }) => void;
}

export interface CheckoutResult {
  changes: CheckoutChange[];
  /** Outputs skipped because their objects are not in the cache (only with allowMissing). */
  missing: string[];
  /** The link type used, when anything was linked. */
  linkType: LinkType | undefined;
}

/** One file to put in place. */
interface LinkItem {
  abs: string;
  md5: string;
  isexec: boolean;
  /** Nothing was at `abs` when planned: it may be created in place (checkout-journal.ts). */
  fresh?: boolean;
}

/** What checking out one output will do. */
interface OutputPlan {
  display: string;
  hashName: HashName;
  links: LinkItem[];
  /** Workspace paths to delete first (extra files, or a file where a directory goes). */
  removals: string[];
  /** Display paths of workspace data that would be lost (not in the cache). */
  atRisk: string[];
  kind: CheckoutChangeKind | undefined;
  /** Output root, for pruning directories emptied by removals. */
  root: string;
}

export async function checkout(targets: string[] = [], opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  const repo = Repo.open(opts.cwd);
  return withRepoLock(repo.dvcDir, () => checkoutLocked(repo, targets, opts), opts);
}

async function checkoutLocked(repo: Repo, targets: string[], opts: CheckoutOptions): Promise<CheckoutResult> {
  recoverInPlace(repo.dvcDir, repo.root);
  const stages = await loadAllStageFiles(repo);
  const selected = selectOutputs(repo, stages, targets, { allowInside: true }).filter(
    (s) => s.tracked.out.md5 !== undefined && s.tracked.out.cache !== false,
  );
  if (opts.linker === undefined) warmCopyWorkersIfNeeded(repo, selected);
  const plans: OutputPlan[] = [];
  const missing: string[] = [];
  for (const sel of selected) {
    const plan = await planOutput(repo, sel, opts.relink ?? false);
    if (plan === undefined) missing.push(displayOut(repo, sel));
    else plans.push(plan);
  }
  if (missing.length > 0 && !opts.allowMissing) throw missingError(missing);
  refuseDataLoss(plans, opts.force ?? false);
  const linker = opts.linker ?? new Linker(repo.config.linkTypes);
  const changes: CheckoutChange[] = [];
  try {
    for (const plan of plans) {
      await applyPlan(repo, plan, linker, opts);
      if (plan.kind !== undefined) changes.push({ kind: plan.kind, path: plan.display });
    }
  } finally {
    repo.saveState();
  }
  return { changes: orderChanges(changes), missing, linkType: linker.linkType };
}

/** The smallest `.dir` manifest entry, `{"md5": "<32 hex>", "relpath": "x"}, `, in bytes. */
const MIN_MANIFEST_ENTRY_BYTES = 49;

/**
 * Starts the copy workers before planning when a large tracked directory is missing from the
 * workspace (a fresh clone, `rm -rf data`): the copy will need them, and their start-up then runs
 * while this thread reads the manifest and plans. "Large" is judged by the manifest's size alone,
 * without reading it; a wrong guess only starts idle threads.
 */
function warmCopyWorkersIfNeeded(repo: Repo, selected: SelectedOutput[]): void {
  if (!repo.config.linkTypes.includes('copy')) return;
  for (const sel of selected) {
    const { out, abs } = sel.tracked;
    if (!out.md5!.endsWith('.dir') || fs.lstatSync(abs, { throwIfNoEntry: false }) !== undefined) continue;
    const manifest = fs.statSync(repo.odb.pathFor(out.md5!, hashNameOf(out)), { throwIfNoEntry: false });
    if ((manifest?.size ?? 0) >= PARALLEL_COPY_MIN * MIN_MANIFEST_ENTRY_BYTES) {
      warmSharedPool();
      return;
    }
  }
}

function displayOut(repo: Repo, sel: SelectedOutput): string {
  const abs = sel.filter === undefined ? sel.tracked.abs : path.join(sel.tracked.abs, sel.filter);
  return repo.display(abs);
}

/** Paths inline (errors are one line), at most ten of them. */
export function listPaths(paths: string[]): string {
  const shown = paths.slice(0, 10).map((p) => `'${p}'`);
  if (paths.length > 10) shown.push(`… and ${paths.length - 10} more`);
  return shown.join(', ');
}

/** A refusal that also carries every path it is about, for programs. */
export class CheckoutRefusedError extends CpvError {
  constructor(
    code: 'E_NEEDS_FORCE' | 'E_CACHE_MISSING',
    message: string,
    hint: string,
    readonly paths: string[],
  ) {
    super(code, message, { hint });
  }
}

function missingError(paths: string[]): CpvError {
  return new CheckoutRefusedError(
    'E_CACHE_MISSING',
    `checkout failed: the cache lacks the data of ${listPaths(paths)}`,
    'Fetch it first (cpv pull / cpv fetch), or rerun with --allow-missing to skip these.',
    paths,
  );
}

function refuseDataLoss(plans: OutputPlan[], force: boolean): void {
  const atRisk = plans.flatMap((p) => p.atRisk);
  if (atRisk.length === 0 || force) return;
  throw new CheckoutRefusedError(
    'E_NEEDS_FORCE',
    `checkout would overwrite or delete workspace data that is not in the cache: ${listPaths(atRisk)}`,
    'Save it first (cpv commit / cpv add), or rerun with --force to discard these changes.',
    atRisk,
  );
}

/** DVC prints modified, then added, then deleted. */
function orderChanges(changes: CheckoutChange[]): CheckoutChange[] {
  const rank: Record<CheckoutChangeKind, number> = { modified: 0, added: 1, deleted: 2 };
  return changes
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank[a.c.kind] - rank[b.c.kind] || a.i - b.i)
    .map((x) => x.c);
}

// ---------------------------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------------------------

async function planOutput(repo: Repo, sel: SelectedOutput, relink: boolean): Promise<OutputPlan | undefined> {
  const { out, abs } = sel.tracked;
  const hashName = hashNameOf(out);
  const oid = out.md5!;
  if (oid.endsWith('.dir')) {
    const entries = await manifestEntries(repo, oid, hashName);
    if (entries === undefined) return undefined;
    const wanted = entries.filter((e) => inFilter(e.relpath, sel.filter));
    // The whole tree: its completeness may be remembered (dir-complete.ts); part of it: ask.
    const present =
      sel.filter === undefined
        ? await dirFilesInCache(repo, oid, hashName, () => wanted.map((e) => e.md5))
        : await allInCache(repo, wanted, hashName);
    if (!present) return undefined;
    return planDirectory(repo, sel, hashName, wanted, relink);
  }
  if ((await repo.odb.check(oid, hashName)) !== 'ok') return undefined;
  return planFile(repo, abs, oid, out.isexec === true, hashName, relink);
}

async function manifestEntries(
  repo: Repo,
  oid: string,
  hashName: HashName,
): Promise<ManifestEntry[] | undefined> {
  if ((await repo.odb.check(oid, hashName)) !== 'ok') return undefined;
  const p = repo.odb.pathFor(oid, hashName);
  return parseManifest(fs.readFileSync(p, 'utf8'), p);
}

async function allInCache(repo: Repo, entries: ManifestEntry[], hashName: HashName): Promise<boolean> {
  for (const md5 of new Set(entries.map((e) => e.md5))) {
    if (!(await objectIntact(repo, md5, hashName))) return false;
  }
  return true;
}

function emptyPlan(root: string, display: string, hashName: HashName): OutputPlan {
  return { display, hashName, links: [], removals: [], atRisk: [], kind: undefined, root };
}

async function planFile(
  repo: Repo,
  abs: string,
  md5: string,
  isexec: boolean,
  hashName: HashName,
  relink: boolean,
): Promise<OutputPlan> {
  const plan = emptyPlan(abs, repo.display(abs), hashName);
  plan.removals.push(...siblingTemps(abs));
  const link = { abs, md5, isexec };
  const st = fs.statSync(abs, { throwIfNoEntry: false });
  if (st === undefined) {
    if (fs.lstatSync(abs, { throwIfNoEntry: false }) !== undefined) plan.removals.push(abs); // dangling link
    plan.links.push(link);
    plan.kind = 'added';
    return plan;
  }
  if (st.isDirectory()) {
    await noteAtRisk(repo, plan, abs, hashName);
    plan.removals.push(abs);
    plan.links.push(link);
    plan.kind = 'modified';
    return plan;
  }
  const current = await hashOutput(repo, abs, hashName, { store: false });
  if (current.oid !== md5) {
    if (!(await repo.odb.exists(current.oid, hashName))) plan.atRisk.push(plan.display);
    plan.links.push(link);
    plan.kind = 'modified';
  } else if (relink) {
    plan.links.push(link);
  } else if (isexec && (st.mode & 0o100) === 0) {
    plan.links.push(link); // only the exec bit is missing; re-linking restores it
  }
  return plan;
}

async function planDirectory(
  repo: Repo,
  sel: SelectedOutput,
  hashName: HashName,
  wanted: ManifestEntry[],
  relink: boolean,
): Promise<OutputPlan> {
  const root = sel.tracked.abs;
  const plan = emptyPlan(root, `${repo.display(root)}/`, hashName);
  const toLink = (e: ManifestEntry, fresh: boolean): LinkItem => ({
    abs: underRoot(root, e.relpath),
    md5: e.md5,
    isexec: false,
    fresh,
  });
  const st = fs.statSync(root, { throwIfNoEntry: false });
  if (st === undefined || !st.isDirectory()) {
    if (st !== undefined) {
      await noteAtRisk(repo, plan, root, hashName);
      plan.removals.push(root);
    } else if (fs.lstatSync(root, { throwIfNoEntry: false }) !== undefined) {
      plan.removals.push(root);
    }
    plan.links = wanted.map((e) => toLink(e, true));
    plan.kind = st === undefined ? 'added' : 'modified';
    return plan;
  }
  const current = await hashOutput(repo, root, hashName, { store: false });
  const have = new Map((current.files ?? []).map((f) => [f.entry.relpath, f]));
  const wantedPaths = new Set<string>();
  for (const entry of wanted) {
    wantedPaths.add(entry.relpath);
    const file = have.get(entry.relpath);
    if (file !== undefined && file.md5 === entry.md5 && !relink) continue;
    if (file !== undefined && file.md5 !== entry.md5 && !(await repo.odb.exists(file.md5, hashName))) {
      plan.atRisk.push(repo.display(file.entry.path));
    }
    // Absent from the walk: most likely absent, else (an ignored file) the in-place create
    // finds it there and falls back to temp + rename.
    plan.links.push(toLink(entry, file === undefined));
    if (file === undefined || file.md5 !== entry.md5) plan.kind = 'modified';
  }
  for (const [relpath, file] of have) {
    if (wantedPaths.has(relpath) || !inFilter(relpath, sel.filter)) continue;
    const leftover = isLinkerTemp(relpath);
    if (!leftover && !(await repo.odb.exists(file.md5, hashName)))
      plan.atRisk.push(repo.display(file.entry.path));
    plan.removals.push(file.entry.path);
    plan.kind = 'modified';
  }
  return plan;
}

/**
 * `root` joined with a manifest relpath (`/`-separated, already checked to stay inside: see
 * manifest.ts). On POSIX that is one concatenation, which matters at 100k entries; elsewhere the
 * `/`s become the platform's separator.
 */
function underRoot(root: string, relpath: string): string {
  return path.sep === '/' ? `${root}/${relpath}` : path.join(root, ...relpath.split('/'));
}

/**
 * A temp file of a link interrupted by a crash (`.<name>.tmp-<12 hex>`, see `tempPathFor`): our
 * own leftover, removed without asking.
 */
function isLinkerTemp(relpath: string): boolean {
  return /^\..+\.tmp-[0-9a-f]{12}$/.test(relpath.slice(relpath.lastIndexOf('/') + 1));
}

/** Leftover link temps of a single-file output, beside it in its directory. */
function siblingTemps(abs: string): string[] {
  const base = path.basename(abs);
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(abs));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(`.${base}.tmp-`) && isLinkerTemp(n))
    .map((n) => path.join(path.dirname(abs), n));
}

/** Lists the files under `abs` (a directory about to be replaced) whose bytes the cache lacks. */
async function noteAtRisk(repo: Repo, plan: OutputPlan, abs: string, hashName: HashName): Promise<void> {
  const st = fs.statSync(abs);
  if (!st.isDirectory()) {
    const h = await hashOutput(repo, abs, hashName, { store: false });
    if (!(await repo.odb.exists(h.oid, hashName))) plan.atRisk.push(repo.display(abs));
    return;
  }
  const h = await hashOutput(repo, abs, hashName, { store: false });
  for (const f of h.files ?? []) {
    if (!(await repo.odb.exists(f.md5, hashName))) plan.atRisk.push(repo.display(f.entry.path));
  }
}

// ---------------------------------------------------------------------------------------------
// Applying
// ---------------------------------------------------------------------------------------------

/** Below this many files a copy-out on this thread beats handing them to worker threads. */
const PARALLEL_COPY_MIN = 256;

async function applyPlan(
  repo: Repo,
  plan: OutputPlan,
  linker: Linker,
  opts: Pick<CheckoutOptions, 'signal' | 'onProgress'>,
): Promise<void> {
  const { signal } = opts;
  const total = plan.links.length;
  const progress = (done: number) => opts.onProgress?.({ target: plan.display, done, total });
  for (const p of plan.removals) {
    fs.rmSync(p, { recursive: true, force: true });
    pruneEmptyParents(path.dirname(p), plan.root);
  }
  const made = new Set<string>();
  const mayHitDirs = plan.removals.length > 0;
  const prepare = (item: LinkItem): void => {
    const dir = path.dirname(item.abs);
    if (!made.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    // After removals a directory may sit where a file goes (its ignored files kept it alive).
    if (mayHitDirs && fs.lstatSync(item.abs, { throwIfNoEntry: false })?.isDirectory()) {
      fs.rmSync(item.abs, { recursive: true, force: true });
    }
  };
  // The first link settles which link type works here.
  let next = 0;
  for (; next < plan.links.length && linker.linkType === undefined; next++) {
    prepare(plan.links[next]!);
    linkOne(repo, plan.hashName, plan.links[next]!, linker);
  }
  const rest = plan.links.slice(next);
  const plain = rest.filter((item) => !item.isexec);
  if (linker.linkType === 'copy' && plain.length >= PARALLEL_COPY_MIN) {
    const onPool = (done: number) => progress(next + done);
    await copyInParallel(repo, plan.hashName, plain, prepare, { signal, onProgress: onPool });
    for (const item of rest) if (item.isexec) linkOne(repo, plan.hashName, item, linker);
    progress(total);
    return;
  }
  for (const item of rest) {
    signal?.throwIfAborted();
    prepare(item);
    linkOne(repo, plan.hashName, item, linker);
    // A bar needs no more than a few hundred updates.
    if (++next % 64 === 0) progress(next);
  }
  progress(total);
}

/** Copies on every core: a copy is a few syscalls, and one thread leaves the others idle. */
async function copyInParallel(
  repo: Repo,
  hashName: HashName,
  items: LinkItem[],
  prepare: (item: LinkItem) => void,
  opts: { signal: AbortSignal | undefined; onProgress: (done: number) => void },
): Promise<void> {
  for (const item of items) prepare(item);
  const sources = items.map((item) => repo.odb.pathFor(item.md5, hashName));
  const targets = items.map((item) => item.abs);
  const fresh = items.map((item) => item.fresh === true);
  const inPlace = targets.filter((_, i) => fresh[i]);
  if (inPlace.length > 0) beginInPlace(repo.dvcDir, repo.root, inPlace);
  await copyFilesOut(sources, targets, workspaceFileMode(false), {
    fresh,
    signal: opts.signal,
    onProgress: (done) => opts.onProgress(done),
    // A new file (new inode) is known to hold its md5: the next status need not read it. Recorded
    // as each batch comes back, while the threads still copy the rest.
    onResult: (i, copied) => remember(repo, hashName, { path: targets[i]!, ...copied }, items[i]!.md5),
  });
  // Only on success: after a failure a worker may still be writing; the next checkout recovers.
  if (inPlace.length > 0) endInPlace(repo.dvcDir);
}

function linkOne(repo: Repo, hashName: HashName, item: LinkItem, linker: Linker): void {
  const cachePath = repo.odb.pathFor(item.md5, hashName);
  linker.link(cachePath, item.abs, { isexec: item.isexec, empty: item.md5 === EMPTY_MD5 });
  // The new file (new inode) is known to hold md5: the next status need not read it.
  remember(repo, hashName, fileStat(item.abs), item.md5);
}

/** Removes directories left empty between `dir` and the output root (exclusive of the root). */
function pruneEmptyParents(dir: string, root: string): void {
  let d = dir;
  while (d.length > root.length && d.startsWith(root)) {
    try {
      fs.rmdirSync(d);
    } catch {
      return; // not empty (or gone): stop climbing
    }
    d = path.dirname(d);
  }
}
