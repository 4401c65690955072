/**
 * A stamp of what a cache holds: the inode and mtime of every prefix directory (`00`…`ff`). Adding,
 * deleting or renaming an object changes its directory's mtime, so while the stamp is unchanged
 * no object has come or gone. That lets a directory once found complete in the cache be trusted
 * again without asking about each of its files (a no-op `status` of 100k files).
 *
 * File systems stamp mtimes with a coarse clock (a kernel tick of a few ms; a second or two on
 * ext3, HFS+ or FAT), so a change made in the same tick as the stamp could go unseen. A stamp is
 * therefore only *recorded* when every directory's mtime is older than the racy window: any later
 * change then lands on a later mtime. The window is 100 ms where mtimes carry sub-second parts,
 * and 2 s where any of them is a whole second (a filesystem that may count in seconds).
 *
 * What a stamp cannot see is an object's bytes rewritten in place (after a chmod: objects are
 * read-only). DVC does not re-hash a read-only object either; it would notice the changed mode, we
 * notice it once the listing changes or the tree does. `cpv pull`/`fetch` verify what they place.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const RACY_MS_FINE = 100;
const RACY_MS_COARSE = 2000;
const PREFIX = /^[0-9a-f]{2}$/;

export interface CacheStamp {
  stamp: string;
  /** Some directory changed too recently for the stamp to be trusted later. */
  racy: boolean;
}

export function cacheStamp(root: string, now: number = Date.now()): CacheStamp {
  let names: string[];
  try {
    names = fs.readdirSync(root).filter((n) => PREFIX.test(n));
  } catch {
    names = []; // no cache yet
  }
  names.sort();
  const md5 = createHash('md5');
  let vanished = false;
  let newest = 0;
  let wholeSeconds = false;
  for (const name of names) {
    const st = fs.lstatSync(path.join(root, name), { bigint: true, throwIfNoEntry: false });
    if (st === undefined) {
      vanished = true; // gone while we looked: someone is changing the cache right now
      continue;
    }
    newest = Math.max(newest, Number(st.mtimeMs));
    if (st.mtimeNs % 1_000_000_000n === 0n) wholeSeconds = true;
    md5.update(`${name}\0${st.ino}\0${st.mtimeNs}\n`);
  }
  const window = wholeSeconds ? RACY_MS_COARSE : RACY_MS_FINE;
  return { stamp: `${names.length}:${md5.digest('hex')}`, racy: vanished || newest > now - window };
}
