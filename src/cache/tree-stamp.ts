/**
 * A fingerprint of a walked directory: every file's relpath, inode, mtime (ns), size and mode, in
 * walk order. Equal fingerprints mean no file was added, removed, renamed or touched since, so
 * the tree's `.dir` oid is the one remembered for it (the state store's per-file promise, made
 * once for the whole tree). A different walk order, or a changed mode, only costs a miss, never a
 * wrong oid.
 *
 * What is hashed: the relpaths joined by NUL, two NULs (no relpath is empty or holds a NUL, so
 * this cannot occur inside), then (ino, mtime, size, mode) of each file as 64-bit integers in the
 * machine's byte order (fingerprints never leave the machine). That second part is exactly the
 * stat table a walk's deferred entries live in, so for an ordinary walk of 100k files it is
 * hashed as it is: no number is converted or copied.
 */
import { createHash } from 'node:crypto';
import { STAT_FIELDS } from './stat-fields.js';
import { DeferredEntry, type WalkEntry } from './walk.js';

type Stamped = Pick<WalkEntry, 'relpath' | 'ino' | 'mtimeNs' | 'size' | 'mode'>;

export function treeFingerprint(entries: readonly Stamped[]): string {
  const md5 = createHash('md5');
  md5.update(entries.map((e) => e.relpath).join('\0'), 'utf8');
  md5.update('\0\0', 'utf8');
  const stats = walkTable(entries) ?? tableOf(entries);
  md5.update(new Uint8Array(stats.buffer, stats.byteOffset, entries.length * STAT_FIELDS * 8));
  return `${entries.length}:${md5.digest('hex')}`;
}

/** How many files a fingerprint covers (it starts with the count), or undefined for none. */
export function fingerprintFileCount(fingerprint: string | undefined): number | undefined {
  const count = fingerprint === undefined ? Number.NaN : Number.parseInt(fingerprint, 10);
  return Number.isNaN(count) ? undefined : count;
}

/** The walk's own stat table, when `entries` are its deferred entries in table order (no links). */
function walkTable(entries: readonly Stamped[]): BigInt64Array | undefined {
  const first = entries[0];
  if (!(first instanceof DeferredEntry)) return undefined;
  const table = first.statValues;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (!(e instanceof DeferredEntry) || e.slot !== i || e.statValues !== table) return undefined;
  }
  return table;
}

/** The same table, built from the entries' fields. */
function tableOf(entries: readonly Stamped[]): BigInt64Array {
  const table = new BigInt64Array(entries.length * STAT_FIELDS);
  entries.forEach((e, i) => {
    const o = STAT_FIELDS * i;
    table[o] = e.ino;
    table[o + 1] = e.mtimeNs;
    table[o + 2] = BigInt(e.size);
    table[o + 3] = BigInt(e.mode);
  });
  return table;
}
