/**
 * A fingerprint of a walked directory: every file's relpath, inode, mtime (ns) and size, in walk
 * order. Equal fingerprints mean no file was added, removed, renamed or touched since, so the
 * tree's `.dir` oid is the one remembered for it (the state store's per-file promise, made once
 * for the whole tree). A different walk order only costs a miss, never a wrong oid.
 */
import { createHash } from 'node:crypto';
import type { WalkEntry } from './walk.js';

type Stamped = Pick<WalkEntry, 'relpath' | 'ino' | 'mtimeNs' | 'size'>;

export function treeFingerprint(entries: readonly Stamped[]): string {
  const md5 = createHash('md5');
  let chunk = '';
  for (const e of entries) {
    // A name cannot hold NUL, and the size is digits up to the newline: each record reads back one way.
    chunk += `${e.relpath}\0${e.ino}\0${e.mtimeNs}\0${e.size}\n`;
    if (chunk.length > 1 << 16) {
      md5.update(chunk, 'utf8');
      chunk = '';
    }
  }
  md5.update(chunk, 'utf8');
  return `${entries.length}:${md5.digest('hex')}`;
}
