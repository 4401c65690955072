/**
 * The state store: remembers the hash of a workspace file by (path, inode, mtime in ns, size), so
 * an unchanged file is never hashed twice (DVC's state database, dvc-compat §8, behaviour-equal).
 * It also remembers whole directories: the `.dir` oid of a tree by a fingerprint of every file's
 * (relpath, inode, mtime, size) — see `tree-stamp.ts` — so a no-op `status` of 100k files needs
 * neither the 100k file records nor the manifest.
 *
 * Both live in append-only logs in `.dvc/tmp` (`record-log.ts`: CRC per line, so a kill mid-append
 * can never make a wrong hash readable), compacted when they hold many more records than live
 * entries. Each log is read on first use: a tree hit never parses the file log at all.
 */
import * as path from 'node:path';
import type { HashName } from './hash.js';
import { RecordLog } from './record-log.js';

export interface FileStat {
  ino: bigint;
  mtimeNs: bigint;
  size: number;
}

interface FileEntry extends FileStat {
  md5: string;
}

interface TreeEntry {
  fingerprint: string;
  oid: string;
}

const FILE_LOG = 'cpv-state.log';
const TREE_LOG = 'cpv-state-trees.log';

function keyOf(hashName: HashName, absPath: string): string {
  return `${hashName}\0${absPath}`;
}

function splitKey(key: string): [HashName, string] {
  const sep = key.indexOf('\0');
  return [key.slice(0, sep) as HashName, key.slice(sep + 1)];
}

/** Most paths need no JSON unescaping: skip the parser for them (100k records per load). */
function unquote(quoted: string): string {
  return quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
}

/** What JSON.stringify would escape in a string: `"`, `\\`, control characters, surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(text), without the serializer for the usual path that needs no escape. */
function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

const fileRecords = {
  encode(key: string, e: FileEntry): string {
    const [hashName, absPath] = splitKey(key);
    return `${hashName}\t${e.ino}\t${e.mtimeNs}\t${e.size}\t${e.md5}\t${quote(absPath)}`;
  },
  decode(body: string): [string, FileEntry] | undefined {
    const [hashName, ino, mtimeNs, size, md5, quoted] = body.split('\t');
    if (quoted === undefined || md5 === undefined) return undefined;
    const entry = { ino: BigInt(ino!), mtimeNs: BigInt(mtimeNs!), size: Number(size), md5 };
    return [keyOf(hashName as HashName, unquote(quoted)), entry];
  },
};

const treeRecords = {
  encode(key: string, e: TreeEntry): string {
    const [hashName, absPath] = splitKey(key);
    return `${hashName}\t${e.fingerprint}\t${e.oid}\t${quote(absPath)}`;
  },
  decode(body: string): [string, TreeEntry] | undefined {
    const [hashName, fingerprint, oid, quoted] = body.split('\t');
    if (quoted === undefined || oid === undefined || fingerprint === undefined) return undefined;
    return [keyOf(hashName as HashName, unquote(quoted)), { fingerprint, oid }];
  },
};

/** Records held before they are appended to the log without waiting for save(). */
const FLUSH_EVERY = 4096;

interface Codec<T> {
  encode(key: string, entry: T): string;
  decode(body: string): [string, T] | undefined;
}

/** One log and its live entries (later records win), loaded on first use. */
class LoggedMap<T> {
  private loaded: Map<string, T> | undefined;
  private pending: string[] = [];
  private records = 0;

  constructor(
    private readonly log: RecordLog,
    private readonly codec: Codec<T>,
  ) {}

  get entries(): Map<string, T> {
    if (this.loaded === undefined) {
      this.loaded = new Map();
      for (const body of this.log.read()) {
        const rec = this.decodeOrSkip(body);
        if (rec === undefined) continue;
        this.loaded.set(rec[0], rec[1]);
        this.records++;
      }
      // Entries set before the log was read are newer than anything in it.
      for (const body of this.pending) {
        const rec = this.decodeOrSkip(body);
        if (rec !== undefined) this.loaded.set(rec[0], rec[1]);
      }
    }
    return this.loaded;
  }

  private decodeOrSkip(body: string): [string, T] | undefined {
    try {
      return this.codec.decode(body);
    } catch {
      return undefined; // a record that passed its CRC but not our parser: a foreign writer
    }
  }

  /** The live entry, if the log has been read (undefined also when it has not). */
  peek(key: string): T | undefined {
    return this.loaded?.get(key);
  }

  /** Records an entry. Writing does not read the log first: a checkout only ever writes. */
  set(key: string, entry: T): void {
    this.loaded?.set(key, entry);
    this.pending.push(this.codec.encode(key, entry));
    // An add of 100k files would otherwise hold 100k encoded records until the end (peak RSS);
    // each record is true on its own, so writing some early is as safe as writing them last.
    if (this.pending.length >= FLUSH_EVERY) this.flush();
  }

  private flush(): void {
    this.records += this.pending.length;
    this.log.append(this.pending);
    this.pending = [];
  }

  /** Appends new records; compacts when the log has grown to twice the live entries. */
  save(): void {
    if (this.pending.length === 0) return;
    // Compaction needs the live entries. A log never read is only appended to, until it has
    // grown well past its last compacted size: then it is read once, so it can be compacted.
    if (this.loaded === undefined && this.log.outgrown()) void this.entries;
    if (this.loaded !== undefined && this.records + this.pending.length > 2 * this.loaded.size + 1000) {
      this.log.rewrite([...this.loaded].map(([key, entry]) => this.codec.encode(key, entry)));
      this.records = this.loaded.size;
      this.pending = [];
    } else {
      this.flush();
    }
  }
}

export class StateStore {
  private readonly files: LoggedMap<FileEntry>;
  private readonly trees: LoggedMap<TreeEntry>;

  private constructor(tmpDir: string) {
    this.files = new LoggedMap(new RecordLog(path.join(tmpDir, FILE_LOG), 'cpv-state 1'), fileRecords);
    this.trees = new LoggedMap(new RecordLog(path.join(tmpDir, TREE_LOG), 'cpv-state-trees 1'), treeRecords);
  }

  /** Opens (or starts) the store kept in `tmpDir` (normally `.dvc/tmp`). Reads nothing yet. */
  static open(tmpDir: string): StateStore {
    return new StateStore(tmpDir);
  }

  /** The remembered hash if the file is provably unchanged since it was hashed. */
  get(hashName: HashName, absPath: string, st: FileStat): string | undefined {
    const e = this.files.entries.get(keyOf(hashName, absPath));
    if (e === undefined || e.ino !== st.ino || e.mtimeNs !== st.mtimeNs || e.size !== st.size)
      return undefined;
    return e.md5;
  }

  /** Records a hash; written to disk by `save()`. */
  set(hashName: HashName, absPath: string, st: FileStat, md5: string): void {
    const key = keyOf(hashName, absPath);
    const old = this.files.peek(key);
    if (old && old.md5 === md5 && old.ino === st.ino && old.mtimeNs === st.mtimeNs && old.size === st.size)
      return;
    this.files.set(key, { ino: st.ino, mtimeNs: st.mtimeNs, size: st.size, md5 });
  }

  /** The `.dir` oid of the directory at `absPath` if its files' fingerprint is unchanged. */
  getTree(hashName: HashName, absPath: string, fingerprint: string): string | undefined {
    const e = this.trees.entries.get(keyOf(hashName, absPath));
    return e?.fingerprint === fingerprint ? e.oid : undefined;
  }

  /** The fingerprint the directory at `absPath` had when its oid was last recorded, if ever. */
  treeFingerprint(hashName: HashName, absPath: string): string | undefined {
    return this.trees.entries.get(keyOf(hashName, absPath))?.fingerprint;
  }

  /** Records a directory's oid under its fingerprint; written to disk by `save()`. */
  setTree(hashName: HashName, absPath: string, fingerprint: string, oid: string): void {
    if (this.getTree(hashName, absPath, fingerprint) === oid) return;
    this.trees.set(keyOf(hashName, absPath), { fingerprint, oid });
  }

  /**
   * Whether the object at `objectPath` (a `.dir` manifest) was found complete in the cache — it
   * and every object it lists — when the cache's stamp was `stamp` (see cache-stamp.ts).
   */
  isVerified(hashName: HashName, objectPath: string, stamp: string): boolean {
    return this.trees.entries.get(keyOf(hashName, objectPath))?.fingerprint === stamp;
  }

  /** Records that a `.dir` object and all its files were present at cache stamp `stamp`. */
  setVerified(hashName: HashName, objectPath: string, stamp: string): void {
    // Kept beside the trees: object paths live in the cache, never in a walked workspace tree.
    if (this.isVerified(hashName, objectPath, stamp)) return;
    this.trees.set(keyOf(hashName, objectPath), { fingerprint: stamp, oid: path.basename(objectPath) });
  }

  save(): void {
    this.files.save();
    this.trees.save();
  }

  /** Number of live file records (loads the file log). */
  get size(): number {
    return this.files.entries.size;
  }
}
