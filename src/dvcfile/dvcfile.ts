/**
 * `.dvc` files (dvc-compat §1): reading with DVC's schema, writing byte-identical to DVC.
 *
 * A `DvcFile` holds the stage as validated data (`outs`, `deps`, ...). Writing follows DVC's own
 * algorithm (`dvc/stage/serialize.py` `to_single_stage_file`):
 * - a new file is the stage dumped in DVC's key order (§1.1, §1.2);
 * - an existing file is a round-trip edit: the dump is diffed onto the parsed document
 *   (`apply_diff`), so existing keys keep their place and comments, changed values are replaced
 *   in place, new keys go to the end of their mapping, and keys DVC would not write are removed.
 * An unchanged file is returned byte for byte as it was read.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type Document,
  isMap,
  isNode,
  isScalar,
  isSeq,
  type Node,
  Pair,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { CpvError } from '../errors.js';
import { pyJsonDumps } from './pyjson.js';
import {
  either,
  type FieldReader,
  type FieldSpec,
  listOf,
  loadYaml,
  newYamlDocument,
  nullable,
  readAny,
  readBoolean,
  readFields,
  readInteger,
  readList,
  readMapping,
  readString,
  renderYaml,
  type YamlSource,
} from './yaml-style.js';

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** How an output's `md5` was computed: DVC 3 `md5`, or DVC 2.x `md5-dos2unix` (no `hash:` key). */
export type HashName = 'md5' | 'md5-dos2unix';

/** Hash and size fields shared by outputs, dependencies and `dvc.lock` entries (§1.2, §2). */
export interface HashEntry {
  path: string;
  /** File md5, or `<md5>.dir` for directories. Always a string, even if the YAML had a number. */
  md5?: string;
  etag?: string;
  checksum?: string;
  /** `'md5'` for DVC 3 entries; absent ⇒ legacy md5-dos2unix (see `hashNameOf`). */
  hash?: HashName;
  size?: number;
  nfiles?: number;
  isexec?: boolean;
  version_id?: string;
  /** Cloud-versioning only. */
  cloud?: Record<string, unknown>;
  files?: unknown[];
}

/** One entry of `outs` (§1.2). */
export interface DvcOutput extends HashEntry {
  persist?: boolean;
  cache?: boolean;
  push?: boolean;
  remote?: string;
  desc?: string;
  type?: string;
  labels?: string[];
  meta?: unknown;
  fs_config?: Record<string, unknown>;
}

/** The `repo:` block of a `dvc import` dependency (§1.3). */
export interface DvcRepoSpec {
  url: string;
  rev?: string;
  rev_lock?: string;
  config?: string | Record<string, unknown>;
  remote?: string | Record<string, unknown>;
}

/** One entry of `deps` (imports only, §1.3). */
export interface DvcDependency extends HashEntry {
  persist?: boolean;
  repo?: DvcRepoSpec;
  db?: Record<string, unknown>;
  fs_config?: Record<string, unknown>;
}

/** What hashing an output produced; see `DvcFile.setOutputHash`. */
export interface OutputHash {
  md5: string;
  size: number;
  nfiles?: number;
  isexec?: boolean;
  hashName: HashName;
}

/** The stage a `.dvc` file describes (§1.1). */
interface StageData {
  desc?: string;
  /** Stage checksum (imports only). */
  md5?: string;
  wdir?: string;
  frozen: boolean;
  alwaysChanged: boolean;
  meta?: unknown;
  deps: DvcDependency[];
  outs: DvcOutput[];
}

/** Legacy detection is purely "no `hash:` key" (dvc-compat §10 item 9). */
export function hashNameOf(entry: { hash?: string }): HashName {
  return entry.hash === 'md5' ? 'md5' : 'md5-dos2unix';
}

// ---------------------------------------------------------------------------------------------
// Schema (dvc/schema.py SINGLE_STAGE_SCHEMA, dvc/output.py SCHEMA, dvc/dependency SCHEMA)
// ---------------------------------------------------------------------------------------------

/**
 * DVC's CHECKSUM_SCHEMA: empty means absent; an unquoted all-digit md5 loads as a number, and
 * DVC coerces it back to a string, so we keep the digits exactly as written (§1.7). md5 values
 * are lower-cased like DVC does; etags are case-sensitive.
 */
function checksum(lowerCase: boolean): FieldReader<string | undefined> {
  return (src, node, where) => {
    if (node === null || (isScalar(node) && (node.value === null || node.value === ''))) return undefined;
    let text: string | undefined;
    if (isScalar(node) && typeof node.value === 'string') text = node.value;
    else if (isScalar(node) && typeof node.value === 'number') text = node.source;
    if (text === undefined) throw src.schemaError(node as Node, `${where} must be a string`);
    if (text.length < 3) throw src.schemaError(node as Node, `${where} must be at least 3 characters long`);
    return lowerCase ? text.toLowerCase() : text;
  };
}

const readHashName: FieldReader<HashName> = (src, node, where) => {
  const name = readString(src, node, where);
  if (name === 'md5' || name === 'md5-dos2unix') return name;
  throw new CpvError(
    'E_HASH_UNSUPPORTED',
    `${src.file}:${src.lineOf(node as Node)}: ${where}: unsupported hash type '${name}'`,
    { hint: "cpv reads DVC 3 outputs ('hash: md5') and DVC 2.x outputs (no hash key) only." },
  );
};

const readStringList = listOf(readString);

/** Fields of every hashed entry: outs, deps, and `dvc.lock` entries (DATA_SCHEMA). */
export const HASH_ENTRY_FIELDS: FieldSpec = {
  md5: checksum(true),
  etag: checksum(false),
  checksum: checksum(true),
  size: readInteger,
  nfiles: readInteger,
  isexec: readBoolean,
  version_id: readString,
  path: readString,
  cloud: readMapping,
  files: readList,
  hash: readHashName,
};

const OUTPUT_FIELDS: FieldSpec = {
  ...HASH_ENTRY_FIELDS,
  persist: readBoolean,
  desc: readString,
  type: readString,
  labels: readStringList,
  meta: readAny,
  cache: readBoolean,
  remote: readString,
  push: readBoolean,
  fs_config: readMapping,
};

const stringOrMapping = either<unknown>('a string or a mapping', readString, readMapping);

const REPO_FIELDS: FieldSpec = {
  url: readString,
  rev: readString,
  rev_lock: readString,
  config: stringOrMapping,
  remote: stringOrMapping,
};

const DEPENDENCY_FIELDS: FieldSpec = {
  ...HASH_ENTRY_FIELDS,
  persist: readBoolean,
  repo: (src, node, where) => readFields(src, node, where, REPO_FIELDS, ['url']),
  db: readMapping,
  fs_config: readMapping,
};

const readOutput: FieldReader<DvcOutput> = (src, node, where) =>
  readFields(src, node, where, OUTPUT_FIELDS, ['path']) as unknown as DvcOutput;

const readDependency: FieldReader<DvcDependency> = (src, node, where) =>
  readFields(src, node, where, DEPENDENCY_FIELDS, ['path']) as unknown as DvcDependency;

const STAGE_FIELDS: FieldSpec = {
  md5: checksum(true),
  wdir: nullable(readString),
  deps: nullable(listOf(readDependency)),
  outs: nullable(listOf(readOutput)),
  locked: readBoolean, // DVC 1.x spelling of `frozen`
  frozen: readBoolean,
  meta: readAny,
  always_changed: readBoolean,
  desc: readString,
};

function readStage(src: YamlSource): StageData {
  const contents = src.doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) {
    return { frozen: false, alwaysChanged: false, deps: [], outs: [] }; // an empty file
  }
  const d = readFields(src, contents, '', STAGE_FIELDS);
  return {
    desc: d.desc as string | undefined,
    md5: d.md5 as string | undefined,
    wdir: d.wdir as string | undefined,
    frozen: d.frozen === true || d.locked === true,
    alwaysChanged: d.always_changed === true,
    meta: d.meta,
    deps: (d.deps as DvcDependency[] | undefined) ?? [],
    outs: (d.outs as DvcOutput[] | undefined) ?? [],
  };
}

// ---------------------------------------------------------------------------------------------
// Dumping in DVC's key order (dvc/stage/utils.py get_dump, dvc/output.py Output.dumpd)
// ---------------------------------------------------------------------------------------------

type Dict = Record<string, unknown>;

/** Python truthiness: DVC writes most optional keys only `if value`. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

/** Copies `keys` from `from` in this order, skipping absent ones and ones `keep` refuses. */
function copyKeys(to: Dict, from: object, keys: readonly string[], keep: (v: unknown) => boolean): void {
  for (const key of keys) {
    const value = (from as Dict)[key];
    if (value !== undefined && keep(value)) to[key] = value;
  }
}

const isTrue = (v: unknown): boolean => v === true;
const isFalse = (v: unknown): boolean => v === false;
const present = (): boolean => true;

/**
 * Hash value first, then meta (`size, nfiles, isexec, version_id` and the other checksums), then
 * `hash: md5` for non-legacy entries, then `path` (§1.2). `isexec` only when true.
 */
function dumpHashPart(entry: HashEntry): Dict {
  const d: Dict = {};
  const main = (['md5', 'etag', 'checksum'] as const).find((k) => entry[k] !== undefined);
  if (main !== undefined) d[main] = entry[main];
  copyKeys(d, entry, ['size', 'nfiles'], present);
  copyKeys(d, entry, ['isexec'], isTrue);
  copyKeys(d, entry, ['version_id', 'etag', 'checksum'], truthy);
  copyKeys(d, entry, ['cloud'], truthy);
  if (entry.hash === 'md5') d.hash = 'md5';
  d.path = entry.path;
  return d;
}

/** `Output.dumpd`: hash part, fs_config, annotations, then flags written only when non-default. */
function dumpOutput(out: DvcOutput): Dict {
  const d = dumpHashPart(out);
  copyKeys(d, out, ['fs_config', 'desc', 'type', 'labels', 'meta'], truthy);
  copyKeys(d, out, ['cache'], isFalse);
  copyKeys(d, out, ['persist'], isTrue);
  copyKeys(d, out, ['remote'], truthy);
  copyKeys(d, out, ['push'], isFalse);
  copyKeys(d, out, ['files'], present);
  return d;
}

/** `dvc import` deps are `path` + `repo:`; `import-url` deps look like outputs without annotations. */
function dumpDependency(dep: DvcDependency): Dict {
  if (dep.repo !== undefined) {
    const repo: Dict = { url: dep.repo.url };
    copyKeys(repo, dep.repo, ['rev', 'rev_lock', 'config', 'remote'], truthy);
    const d: Dict = { path: dep.path, repo };
    copyKeys(d, dep, ['files'], present);
    return d;
  }
  const d = dumpHashPart(dep);
  copyKeys(d, dep, ['fs_config', 'db'], truthy);
  copyKeys(d, dep, ['files'], present);
  return d;
}

/** `get_dump`: desc, md5, wdir, frozen, deps, outs, always_changed, meta; only truthy values. */
function dumpStage(stage: StageData): Dict {
  const d: Dict = {};
  if (truthy(stage.desc)) d.desc = stage.desc;
  if (truthy(stage.md5)) d.md5 = stage.md5;
  if (truthy(stage.wdir) && stage.wdir !== '.') d.wdir = stage.wdir;
  if (stage.frozen) d.frozen = true;
  if (stage.deps.length > 0) d.deps = stage.deps.map(dumpDependency);
  if (stage.outs.length > 0) d.outs = stage.outs.map(dumpOutput);
  if (stage.alwaysChanged) d.always_changed = true;
  if (truthy(stage.meta)) d.meta = stage.meta;
  return d;
}

// ---------------------------------------------------------------------------------------------
// Round-trip edits (dvc/utils/collections.py apply_diff)
// ---------------------------------------------------------------------------------------------

function isDict(value: unknown): value is Dict {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Python `==` on loaded YAML data: dict key order does not matter. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
    );
  }
  if (isDict(a) || isDict(b)) {
    if (!isDict(a) || !isDict(b)) return false;
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return a === b;
}

function nodeValue(doc: Document, node: unknown): unknown {
  if (isScalar(node)) return node.value;
  return node === null || node === undefined ? null : (node as Node).toJS(doc);
}

/** A fresh node for `value` that keeps the comments and blank line of the node it replaces. */
function replacement(doc: Document, old: unknown, value: unknown): Node {
  const node = doc.createNode(value) as Node;
  if (isNode(old)) {
    node.comment = old.comment;
    node.commentBefore = old.commentBefore;
    node.spaceBefore = old.spaceBefore;
  }
  return node;
}

function keyOf(pair: Pair): unknown {
  return isScalar(pair.key) ? pair.key.value : pair.key;
}

/** Applies `src` onto a mapping node; returns whether anything changed. */
function applyDiffToMap(doc: Document, src: Dict, dest: YAMLMap): boolean {
  let changed = false;
  for (const [key, value] of Object.entries(src)) {
    const pair = dest.items.find((p) => keyOf(p) === key);
    if (pair === undefined) {
      dest.items.push(new Pair(doc.createNode(key), doc.createNode(value)));
      changed = true;
    } else if (isDict(value) && isMap(pair.value)) {
      changed = applyDiffToMap(doc, value, pair.value) || changed;
    } else if (Array.isArray(value) && isSeq(pair.value)) {
      changed = applyDiffToSeq(doc, value, pair.value) || changed;
    } else if (!deepEqual(value, nodeValue(doc, pair.value))) {
      pair.value = replacement(doc, pair.value, value);
      changed = true;
    }
  }
  const kept = dest.items.filter((p) => {
    const key = keyOf(p);
    return typeof key === 'string' && Object.hasOwn(src, key);
  });
  if (kept.length !== dest.items.length) {
    dest.items = kept;
    changed = true;
  }
  return changed;
}

/** Same length: item by item; otherwise the whole list is replaced (as DVC does). */
function applyDiffToSeq(doc: Document, src: unknown[], dest: YAMLSeq): boolean {
  if (src.length !== dest.items.length) {
    dest.items = src.map((v) => doc.createNode(v));
    return true;
  }
  let changed = false;
  src.forEach((value, i) => {
    const item = dest.items[i];
    if (isDict(value) && isMap(item)) changed = applyDiffToMap(doc, value, item) || changed;
    else if (Array.isArray(value) && isSeq(item)) changed = applyDiffToSeq(doc, value, item) || changed;
    else if (!deepEqual(value, nodeValue(doc, item))) {
      dest.items[i] = replacement(doc, item, value);
      changed = true;
    }
  });
  return changed;
}

// ---------------------------------------------------------------------------------------------
// Stage md5 (§1.4)
// ---------------------------------------------------------------------------------------------

/** Keys dropped at every depth before hashing (dvc/stage/utils.py compute_md5). */
const STAGE_MD5_EXCLUDED = new Set([
  'locked',
  'frozen',
  'desc',
  'metric',
  'persist',
  'isexec',
  'size',
  'nfiles',
  'type',
  'labels',
  'meta',
]);

function withoutExcluded(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutExcluded);
  if (!isDict(value)) return value;
  const out: Dict = {};
  for (const [k, v] of Object.entries(value)) if (!STAGE_MD5_EXCLUDED.has(k)) out[k] = withoutExcluded(v);
  return out;
}

/**
 * The stage checksum DVC records in import `.dvc` files, from the dict DVC would write
 * (`DvcFile.toDict()`): drop `md5`, `meta`, `desc` (and `wdir: .`), drop annotation/meta keys at
 * every depth, then md5 of Python's `json.dumps(d, sort_keys=True)`.
 */
export function computeStageMd5(dict: Record<string, unknown>): string {
  const rest = { ...dict };
  delete rest.md5;
  delete rest.meta;
  delete rest.desc;
  if (rest.wdir === '.') delete rest.wdir;
  const json = pyJsonDumps(withoutExcluded(rest));
  // node:crypto is enough here: a few hundred bytes, once per import.
  return createHash('md5').update(json, 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------
// DvcFile
// ---------------------------------------------------------------------------------------------

function clone<T>(value: T): T {
  return structuredClone(value);
}

export class DvcFile {
  /** Stage data changed since the document was last brought in line with it. */
  private pending = false;

  private constructor(
    private readonly stage: StageData,
    /** The parsed document; undefined for a file made with `create` (then it is a fresh dump). */
    private readonly source: YamlSource | undefined,
    /** The text as read (or last rendered) while the document has not changed since. */
    private text: string | undefined,
  ) {}

  /** Parses `.dvc` text; `filePath` is only used in error messages. */
  static parse(text: string, filePath: string): DvcFile {
    const source = loadYaml(text, filePath);
    return new DvcFile(readStage(source), source, text);
  }

  /**
   * A new `.dvc` file, written exactly as DVC writes a fresh one. Outputs may carry just a `path`;
   * fill their hashes with `setOutputHash`.
   */
  static create(
    outs: DvcOutput[],
    extra: { deps?: DvcDependency[]; desc?: string; meta?: unknown; frozen?: boolean; md5?: string } = {},
  ): DvcFile {
    const stage: StageData = {
      desc: extra.desc,
      md5: extra.md5,
      frozen: extra.frozen === true,
      alwaysChanged: false,
      meta: clone(extra.meta),
      deps: clone(extra.deps ?? []),
      outs: clone(outs),
    };
    return new DvcFile(stage, undefined, undefined);
  }

  get outs(): DvcOutput[] {
    return clone(this.stage.outs);
  }

  get deps(): DvcDependency[] {
    return clone(this.stage.deps);
  }

  /** Working directory of the stage, relative to the `.dvc` file's directory. */
  get wdir(): string | undefined {
    return this.stage.wdir;
  }

  /** The stage checksum (imports only). */
  get md5(): string | undefined {
    return this.stage.md5;
  }

  get frozen(): boolean {
    return this.stage.frozen;
  }

  get desc(): string | undefined {
    return this.stage.desc;
  }

  get meta(): unknown {
    return clone(this.stage.meta);
  }

  /**
   * Records a new hash for `outs[index]`. `isexec` is kept only when true; `hashName: 'md5'` writes
   * `hash: md5`, `'md5-dos2unix'` keeps the legacy form (no `hash:` key). For the legacy rule of
   * §1.5, a caller re-adding a legacy output (`hashNameOf(out) === 'md5-dos2unix'`) first
   * recomputes md5-dos2unix: if it equals `out.md5`, it passes `hashName: 'md5-dos2unix'` (or
   * skips the write) and the file stays byte-identical; otherwise it hashes with md5 and passes
   * `'md5'`, which yields `md5, size, path, hash: md5`.
   */
  setOutputHash(index: number, hash: OutputHash): void {
    setHash(entryAt(this.stage.outs, index, 'outs'), hash);
    this.pending = true;
  }

  /** Same as `setOutputHash`, for `deps[index]` of an `import-url` stage. */
  setDependencyHash(index: number, hash: OutputHash): void {
    setHash(entryAt(this.stage.deps, index, 'deps'), hash);
    this.pending = true;
  }

  /** Sets (or, with `undefined`, removes) the stage checksum. */
  setStageMd5(md5: string | undefined): void {
    this.stage.md5 = md5;
    this.pending = true;
  }

  setFrozen(frozen: boolean): void {
    this.stage.frozen = frozen;
    this.pending = true;
  }

  /** The dict DVC would dump for this stage, in DVC's key order. */
  toDict(): Record<string, unknown> {
    return dumpStage(this.stage);
  }

  /** The stage checksum for the current state (§1.4). */
  computeStageMd5(): string {
    return computeStageMd5(this.toDict());
  }

  /**
   * The file's text. Changes made since the last call are applied to the parsed document in one
   * diff, as DVC does when it dumps a stage; with no effective change the input comes back as is.
   */
  toString(): string {
    if (this.source === undefined) return renderYaml(newYamlDocument(this.toDict()));
    if (this.pending) {
      this.pending = false;
      if (this.applyToDocument()) this.text = undefined;
    }
    this.text ??= renderYaml(this.source.doc);
    return this.text;
  }

  /** Diffs the current dump onto the parsed document; returns whether the document changed. */
  private applyToDocument(): boolean {
    const doc = this.source!.doc;
    const dict = this.toDict();
    if (isMap(doc.contents)) return applyDiffToMap(doc, dict, doc.contents);
    if (Object.keys(dict).length === 0) return false;
    doc.contents = doc.createNode(dict) as unknown as typeof doc.contents; // the file was empty
    return true;
  }
}

function entryAt<T>(list: T[], index: number, name: string): T {
  const entry = list[index];
  if (entry === undefined) {
    throw new CpvError('E_USAGE', `${name}[${index}] does not exist (the file has ${list.length})`);
  }
  return entry;
}

function setHash(entry: HashEntry, hash: OutputHash): void {
  entry.md5 = hash.md5;
  entry.size = hash.size;
  if (hash.nfiles === undefined) delete entry.nfiles;
  else entry.nfiles = hash.nfiles;
  if (hash.isexec === true) entry.isexec = true;
  else delete entry.isexec;
  if (hash.hashName === 'md5') entry.hash = 'md5';
  else delete entry.hash;
}

// ---------------------------------------------------------------------------------------------
// Files on disk
// ---------------------------------------------------------------------------------------------

/** Reads and parses a `.dvc` file. Errors name `filePath` as given. */
export async function readDvcFile(filePath: string): Promise<DvcFile> {
  let text: string;
  try {
    text = await fs.promises.readFile(filePath, 'utf8');
  } catch (cause) {
    throw new CpvError('E_IO', `cannot read ${filePath}: ${(cause as Error).message}`, { cause });
  }
  return DvcFile.parse(text, filePath);
}

/**
 * Writes a `.dvc` file atomically: the text goes to a temp file in the same directory, is synced
 * to disk, then renamed over the target, so readers (and crashes) only ever see the old or the new
 * file. An existing file's permission bits are kept.
 */
export function writeDvcFile(filePath: string, file: DvcFile): void {
  const dir = path.dirname(filePath);
  const tmp = path.join(dir, `.${path.basename(filePath)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    const mode = fs.statSync(filePath, { throwIfNoEntry: false })?.mode;
    const fd = fs.openSync(tmp, 'wx', mode === undefined ? 0o666 : mode & 0o7777);
    try {
      fs.writeFileSync(fd, file.toString(), 'utf8');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (mode !== undefined) fs.chmodSync(tmp, mode & 0o7777); // the umask applied to openSync
    fs.renameSync(tmp, filePath);
  } catch (cause) {
    fs.rmSync(tmp, { force: true });
    throw new CpvError('E_IO', `cannot write ${filePath}: ${(cause as Error).message}`, { cause });
  }
}
