/**
 * The files DVC would put in a directory's manifest (dvc-compat §3.2, `data: hashfile/build.py`
 * `_build_tree` over a `.dvcignore`-filtered `os.walk`):
 * - regular files at any depth, dotfiles and git-ignored files included;
 * - a symlink to a file counts as that file (stat of the target); a symlink to a directory is not
 *   followed and contributes nothing; a dangling symlink is an error;
 * - empty directories contribute nothing;
 * - `.git`, `.hg`, `.dvc` directories and anything named `.git` are left out, and so is every
 *   directory holding an entry named `.dvc` (a DVC sub-repo), the walked directory included
 *   unless it is the repo root;
 * - `.dvcignore` patterns apply, and a `.dvcignore` file inside the walked tree is an error.
 * Names are kept exactly as the filesystem returns them (no Unicode normalisation).
 *
 * The walk is synchronous on purpose: one `readdir` per directory and one `stat` per file, with
 * no thread-pool round trip per call, is what keeps it near `find` on 100,000 files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type ManifestEntry,
  manifestOid,
  serializeManifest,
  sortManifestEntries,
} from '../dvcfile/manifest.js';
import { CpvError, errnoCode } from '../errors.js';
import { DVCIGNORE_FILE, type DvcIgnore, IgnoreScope, isExcludedByDefault } from './dvcignore.js';
import { DIRENT_DIR, DIRENT_FILE, DIRENT_LINK, type DirListing, listDir } from './raw-fs.js';
import { STAT_FIELDS } from './stat-fields.js';
import { lstatMany, PARALLEL_STAT_MIN, StatStream } from './stat-pool.js';

export interface WalkEntry {
  /** Path relative to the walked directory, components joined by `/`. */
  relpath: string;
  /** Absolute path (through the symlink, for a symlinked file). */
  path: string;
  /** Size in bytes (of the target, for a symlink). */
  size: number;
  mtimeNs: bigint;
  ino: bigint;
  /** `st_mode` of the file (of the target, for a symlink). */
  mode: number;
  /** The entry is a symlink to a file (its size and mode are the target's). */
  isLink: boolean;
}

export interface WalkOptions {
  /** `.dvcignore` filter of the repo; without it only DVC's default exclusions apply. */
  ignore?: DvcIgnore;
  /** The repo root (defaults to `ignore.root`): the only directory whose own `.dvc` does not mark a sub-repo. */
  repoRoot?: string;
  /**
   * walkTreeAsync only: `notify` runs once, as soon as the walk has found `atLeast` files (a
   * caller that will hash them all starts its hashing threads then, while the walk goes on).
   */
  onFileCount?: { atLeast: number; notify: () => void };
  /**
   * walkTreeAsync only: how many files the tree had last time. When that is many, the stat helper
   * threads start with the walk instead of once it has found that many (their start-up is hidden
   * behind more of the listing). Only a hint: any count gives the same entries.
   */
  expectedFiles?: number | undefined;
}

/** One directory entry met by the walk: a directory waiting to be listed, or a file. */
interface Item {
  name: string;
  abs: string;
  /** Relative to the walked root ('' for the root itself). */
  rel: string;
  /** Relative to the repo root, for `.dvcignore` matching; undefined outside the repo. */
  repoRel: string | undefined;
  /** `.dvcignore` patterns in effect in the directory holding this entry. */
  parentScope: IgnoreScope;
}

/**
 * Every file of the tree at `root` that DVC would track, in no particular order (manifests sort
 * their entries themselves). Synchronous; returns a plain array.
 */
export function walkTree(root: string, opts: WalkOptions = {}): WalkEntry[] {
  return new Walker(root, opts, false).run();
}

/**
 * `walkTree`, with the regular files' stats taken apart from the listing: on helper threads
 * while it goes on, once there are many (stat-pool.ts), and the rest after it. Same entries,
 * same order.
 */
export async function walkTreeAsync(root: string, opts: WalkOptions = {}): Promise<WalkEntry[]> {
  const walker = new Walker(root, opts, true);
  let entries: WalkEntry[];
  try {
    entries = walker.run();
  } catch (err) {
    walker.statStream?.dispose();
    throw err;
  }
  const { deferred, stats } = walker;
  const { values, failures } = await (walker.statStream?.finish() ?? lstatMany(deferred.map((e) => e.path)));
  // The first failure is the error (the walk fails as a whole, as the plain walk does).
  const [first] = failures;
  if (first !== undefined) {
    const [k, failure] = first;
    throw fsError(
      deferred[k]!.path,
      'stat',
      Object.assign(new Error(failure.message), { code: failure.code }),
    );
  }
  stats.values = values;
  return entries;
}

/** The stats of a walk's deferred entries: `STAT_FIELDS` values per entry, filled by lstatMany. */
interface StatTable {
  values: BigInt64Array;
}

/**
 * A regular file whose stat stays in the walk's shared table until read. 100k files would
 * otherwise each keep two BigInts alive (ino, mtime), and copying them out took longer than the
 * lstat calls; a no-op status reads none of them (tree-stamp.ts copies the table's bytes).
 */
export class DeferredEntry implements WalkEntry {
  readonly isLink = false;

  constructor(
    readonly relpath: string,
    readonly path: string,
    private readonly table: StatTable,
    /** This entry's row in the table. */
    readonly slot: number,
  ) {}

  get ino(): bigint {
    return this.table.values[STAT_FIELDS * this.slot]!;
  }
  get mtimeNs(): bigint {
    return this.table.values[STAT_FIELDS * this.slot + 1]!;
  }
  get size(): number {
    return Number(this.table.values[STAT_FIELDS * this.slot + 2]!);
  }
  get mode(): number {
    return Number(this.table.values[STAT_FIELDS * this.slot + 3]!);
  }
  /** The table holding (ino, mtimeNs, size, mode) of this entry at `STAT_FIELDS * slot`. */
  get statValues(): BigInt64Array {
    return this.table.values;
  }
}

class Walker {
  private readonly entries: WalkEntry[] = [];
  /** With deferred stats: the entries still waiting for theirs, each at its `slot`. */
  readonly deferred: DeferredEntry[] = [];
  readonly stats: StatTable = { values: new BigInt64Array(0) };
  private readonly root: string;
  private readonly repoRoot: string | undefined;

  /** With deferred stats, once there are many: the helpers stat'ing them during the listing. */
  statStream: StatStream | undefined;

  constructor(
    root: string,
    private readonly opts: WalkOptions,
    private readonly deferStats: boolean,
  ) {
    this.root = path.resolve(root);
    const repoRoot = opts.repoRoot ?? opts.ignore?.root;
    this.repoRoot = repoRoot === undefined ? undefined : path.resolve(repoRoot);
    if (deferStats && (opts.expectedFiles ?? 0) >= PARALLEL_STAT_MIN) this.statStream = StatStream.start();
  }

  run(): WalkEntry[] {
    const { ignore } = this.opts;
    const repoRel = ignore?.relative(this.root);
    // The walked root's scope includes the .dvcignore files of every directory above it.
    const parentScope =
      ignore && repoRel !== undefined ? ignore.scopeFor(path.dirname(this.root)) : IgnoreScope.EMPTY;
    const stack: Item[] = [{ name: path.basename(this.root), abs: this.root, rel: '', repoRel, parentScope }];
    for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
      this.visit(dir, stack);
    }
    return this.entries;
  }

  /** Lists one directory: records its files and queues its subdirectories. */
  private visit(dir: Item, stack: Item[]): void {
    const { names, types } = readDir(dir.abs);
    if (this.isSubRepo(dir.abs, names, types)) return;
    const scope = this.scopeOf(dir, names);
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const type = types[i];
      // Most entries are plain files waiting for a deferred stat: no Item built for them.
      if (type === DIRENT_FILE && this.deferStats) {
        this.visitPlainFile(dir, scope, name);
        continue;
      }
      const child: Item = {
        name,
        abs: dir.abs + path.sep + name,
        rel: dir.rel === '' ? name : `${dir.rel}/${name}`,
        repoRel: dir.repoRel === undefined ? undefined : dir.repoRel === '' ? name : `${dir.repoRel}/${name}`,
        parentScope: scope,
      };
      if (type === DIRENT_DIR) {
        if (!this.isIgnored(child, true)) stack.push(child);
      } else if (type === DIRENT_FILE) {
        if (this.isIgnored(child, false)) continue;
        this.addFile(child, statFile(child.abs), false);
      } else if (type === DIRENT_LINK) {
        this.visitSymlink(child);
      } else if (!this.isIgnored(child, false)) {
        throw unsupported(child.abs);
      }
    }
  }

  /**
   * A symlink counts as what it points to. A link to a directory is not followed (plain
   * `os.walk`), whatever the ignore patterns say; any other link is matched as a file, so an
   * ignored dangling link is no error.
   */
  private visitSymlink(child: Item): void {
    const target = statTarget(child.abs);
    if (target?.isDirectory()) return;
    if (this.isIgnored(child, false)) return;
    if (target === undefined) throw brokenSymlink(child.abs);
    if (!target.isFile()) throw unsupported(child.abs);
    this.addFile(child, target, true);
  }

  private addFile(child: Item, st: fs.BigIntStats, isLink: boolean): void {
    // DVC's IgnoreInCollectedDirError: the patterns would be lost once the directory is in the cache.
    if (child.name === DVCIGNORE_FILE) {
      throw dvcignoreInside(child.abs);
    }
    this.entries.push({
      relpath: child.rel,
      path: child.abs,
      size: Number(st.size),
      mtimeNs: st.mtimeNs,
      ino: st.ino,
      mode: Number(st.mode),
      isLink,
    });
  }

  /** `visit` for a regular file whose stat comes later: what `isIgnored` and `addDeferred` do, inline. */
  private visitPlainFile(dir: Item, scope: IgnoreScope, name: string): void {
    if (isExcludedByDefault(name, false)) return;
    const rel = dir.rel === '' ? name : `${dir.rel}/${name}`;
    if (dir.repoRel !== undefined && !scope.isEmpty) {
      if (scope.ignores(dir.repoRel === '' ? name : `${dir.repoRel}/${name}`, false)) return;
    }
    this.addDeferred(name, dir.abs + path.sep + name, rel);
  }

  /** A regular file whose stat comes later (walkTreeAsync): its place in the order is kept. */
  private addDeferred(name: string, abs: string, rel: string): void {
    if (name === DVCIGNORE_FILE) throw dvcignoreInside(abs);
    const entry = new DeferredEntry(rel, abs, this.stats, this.deferred.length);
    if (this.deferred.length === this.opts.onFileCount?.atLeast) this.opts.onFileCount.notify();
    this.deferred.push(entry);
    this.entries.push(entry);
    if (this.statStream !== undefined) this.statStream.add(abs);
    else if (this.deferred.length === PARALLEL_STAT_MIN) this.startStatStream();
  }

  /** Enough files to be worth helper threads: they start on the files so far, and get the rest as listed. */
  private startStatStream(): void {
    this.statStream = StatStream.start();
    for (const e of this.deferred) this.statStream.add(e.path);
  }

  private isIgnored(child: Item, isDir: boolean): boolean {
    if (isExcludedByDefault(child.name, isDir)) return true;
    if (child.repoRel === undefined || child.parentScope.isEmpty) return false;
    return child.parentScope.ignores(child.repoRel, isDir);
  }

  /**
   * A directory holding an entry named `.dvc` belongs to another DVC repo, except the repo root
   * (or, when no repo root is known, the walked root).
   */
  private isSubRepo(abs: string, names: string[], types: number[]): boolean {
    if (abs === (this.repoRoot ?? this.root)) return false;
    const marker = names.indexOf('.dvc');
    if (marker < 0) return false;
    // DVC tests with `exists`, which follows links: a dangling `.dvc` link marks nothing.
    return types[marker] !== DIRENT_LINK || fs.existsSync(path.join(abs, '.dvc'));
  }

  /** Patterns for the entries of `dir`: the parent's, plus its own `.dvcignore` if it has one. */
  private scopeOf(dir: Item, names: string[]): IgnoreScope {
    const { ignore } = this.opts;
    if (ignore === undefined || dir.repoRel === undefined) return dir.parentScope;
    if (!names.includes(DVCIGNORE_FILE)) return dir.parentScope;
    return ignore.scopeBelow(dir.parentScope, dir.abs);
  }
}

function readDir(abs: string): DirListing {
  try {
    return listDir(abs);
  } catch (err) {
    throw fsError(abs, 'list directory', err);
  }
}

/** Stat of an entry the listing showed as a regular file: `lstat` is then the same, and cheaper. */
function statFile(abs: string): fs.BigIntStats {
  try {
    return fs.lstatSync(abs, { bigint: true });
  } catch (err) {
    throw fsError(abs, 'stat', err);
  }
}

/** The stat of a link's target, or undefined when the link dangles (or loops). */
function statTarget(link: string): fs.BigIntStats | undefined {
  try {
    return fs.statSync(link, { bigint: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw fsError(link, 'stat', err);
  }
}

function fsError(abs: string, action: string, err: unknown): CpvError {
  const code = errnoCode(err);
  if (code === 'EACCES' || code === 'EPERM') {
    return new CpvError('E_UNREADABLE', `permission denied: cannot ${action} '${abs}'`, {
      hint: 'Fix the permissions (chmod u+rx for directories), or exclude the path in .dvcignore.',
      cause: err,
    });
  }
  return new CpvError('E_IO', `cannot ${action} '${abs}': ${code ?? String(err)}`, {
    hint: 'Check that the data is not being changed while cpv reads it, then retry.',
    cause: err,
  });
}

function brokenSymlink(abs: string): CpvError {
  let target = '?';
  try {
    target = fs.readlinkSync(abs);
  } catch {
    // keep '?': the message names the link either way
  }
  return new CpvError(
    'E_BROKEN_SYMLINK',
    `broken symlink '${abs}' (points to '${target}', which does not exist)`,
    {
      hint: 'Remove the link or restore its target, or exclude it in .dvcignore.',
    },
  );
}

function unsupported(abs: string): CpvError {
  return new CpvError(
    'E_IO',
    `'${abs}' is not a regular file, directory or symlink (fifo, socket or device)`,
    {
      hint: 'Move it out of the tracked directory, or exclude it in .dvcignore.',
    },
  );
}

function dvcignoreInside(abs: string): CpvError {
  return new CpvError(
    'E_DVCIGNORE_INSIDE',
    `.dvcignore file should not be in collected dir path: '${path.dirname(abs)}'`,
    {
      hint: 'Move its patterns to a .dvcignore above the tracked directory (e.g. the repo root) and delete it.',
    },
  );
}

/** What a directory output records: its manifest, oid, total size and file count (dvc-compat §3.3). */
export interface DirSummary {
  /** Manifest entries in manifest (code-point) order. */
  entries: ManifestEntry[];
  /** Exact manifest text, the bytes of the `.dir` object. */
  manifest: string;
  /** `<md5 of manifest>.dir`. */
  oid: string;
  /** Sum of the files' sizes. */
  size: number;
  /** Number of manifest entries. */
  nfiles: number;
}

/** Summarises walked files given their md5s (`md5s[i]` belongs to `files[i]`). */
export function dirSummary(files: readonly WalkEntry[], md5s: readonly string[]): DirSummary {
  if (md5s.length !== files.length) {
    throw new RangeError(`dirSummary: ${files.length} files but ${md5s.length} hashes`);
  }
  const entries = sortManifestEntries(files.map((f, i) => ({ md5: md5s[i]!, relpath: f.relpath })));
  const manifest = serializeManifest(entries);
  return {
    entries,
    manifest,
    oid: manifestOid(manifest),
    size: files.reduce((sum, f) => sum + f.size, 0),
    nfiles: files.length,
  };
}
