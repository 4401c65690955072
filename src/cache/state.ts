/**
 * The state store: remembers the hash of a workspace file by (path, inode, mtime in ns, size), so
 * an unchanged file is never hashed twice (DVC's state database, dvc-compat §8, behaviour-equal).
 *
 * Storage is an append-only log in `.dvc/tmp/cpv-state.log`, one record per line, each line ending
 * in a CRC-32 of its content. A process killed mid-append leaves at most one torn last line, whose
 * CRC fails, so it is ignored: a wrong hash can never be read back. The log is compacted (rewritten
 * through temp + rename) when it holds many more records than live entries.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from './crc32.js';
import type { HashName } from './hash.js';

export interface FileStat {
  ino: bigint;
  mtimeNs: bigint;
  size: number;
}

interface Entry extends FileStat {
  md5: string;
}

const LOG_NAME = 'cpv-state.log';
const VERSION_LINE = 'cpv-state 1';

function keyOf(hashName: HashName, absPath: string): string {
  return `${hashName}\0${absPath}`;
}

function encode(hashName: HashName, absPath: string, e: Entry): string {
  const body = [hashName, e.ino, e.mtimeNs, e.size, e.md5, JSON.stringify(absPath)].join('\t');
  return `${body}\t${crc32(body).toString(16)}\n`;
}

function decode(line: string): { key: string; entry: Entry } | undefined {
  const cut = line.lastIndexOf('\t');
  if (cut < 0) return undefined;
  const body = line.slice(0, cut);
  if (crc32(body).toString(16) !== line.slice(cut + 1)) return undefined;
  const [hashName, ino, mtimeNs, size, md5, quoted] = body.split('\t');
  if (quoted === undefined || md5 === undefined) return undefined;
  try {
    // Most paths need no JSON unescaping: skip the parser for them (100k records per load).
    const absPath = quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
    return {
      key: keyOf(hashName as HashName, absPath),
      entry: { ino: BigInt(ino!), mtimeNs: BigInt(mtimeNs!), size: Number(size), md5 },
    };
  } catch {
    return undefined;
  }
}

export class StateStore {
  private readonly entries = new Map<string, Entry>();
  private pending: string[] = [];
  private records = 0;

  private constructor(private readonly file: string) {}

  /** Opens (or starts) the store kept in `tmpDir` (normally `.dvc/tmp`). */
  static open(tmpDir: string): StateStore {
    const store = new StateStore(path.join(tmpDir, LOG_NAME));
    store.load();
    return store;
  }

  private load(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return; // no log yet
    }
    const lines = text.split('\n');
    if (lines[0] !== VERSION_LINE) return; // unknown format: start afresh, never guess
    for (let i = 1; i < lines.length; i++) {
      const rec = decode(lines[i]!);
      if (rec === undefined) continue;
      this.entries.set(rec.key, rec.entry);
      this.records++;
    }
  }

  /** The remembered hash if the file is provably unchanged since it was hashed. */
  get(hashName: HashName, absPath: string, st: FileStat): string | undefined {
    const e = this.entries.get(keyOf(hashName, absPath));
    if (e === undefined || e.ino !== st.ino || e.mtimeNs !== st.mtimeNs || e.size !== st.size)
      return undefined;
    return e.md5;
  }

  /** Records a hash; written to disk by `save()`. */
  set(hashName: HashName, absPath: string, st: FileStat, md5: string): void {
    const entry: Entry = { ino: st.ino, mtimeNs: st.mtimeNs, size: st.size, md5 };
    const key = keyOf(hashName, absPath);
    const old = this.entries.get(key);
    if (old && old.md5 === md5 && old.ino === st.ino && old.mtimeNs === st.mtimeNs && old.size === st.size)
      return;
    this.entries.set(key, entry);
    this.pending.push(encode(hashName, absPath, entry));
  }

  /** Appends new records; compacts when the log has grown to twice the live entries. */
  save(): void {
    if (this.pending.length === 0) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    this.records += this.pending.length;
    if (this.records > 2 * this.entries.size + 1000 || !fs.existsSync(this.file)) this.compact();
    else fs.appendFileSync(this.file, this.pending.join(''));
    this.pending = [];
  }

  private compact(): void {
    const lines = [`${VERSION_LINE}\n`];
    for (const [key, entry] of this.entries) {
      const sep = key.indexOf('\0');
      lines.push(encode(key.slice(0, sep) as HashName, key.slice(sep + 1), entry));
    }
    const tmp = `${this.file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, lines.join(''));
    fs.renameSync(tmp, this.file);
    this.records = this.entries.size;
  }

  get size(): number {
    return this.entries.size;
  }
}
