/**
 * Small filesystem helpers shared by every layer. The rule they enforce: a file a reader can see
 * is always complete — writes go to a temp file in the same directory, then rename over the target.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A temp name beside `target` that no reader mistakes for real data (dot-prefixed, random). */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
}

/** Writes `data` to `target` atomically (temp + fsync-free rename), keeping `mode` if given. */
export function writeFileAtomic(target: string, data: string | Uint8Array, mode?: number): void {
  const tmp = tempPathFor(target);
  try {
    fs.writeFileSync(tmp, data, mode === undefined ? undefined : { mode });
    if (mode !== undefined) fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Current process umask without changing it (process.umask() with no argument is deprecated). */
export function currentUmask(): number {
  const old = process.umask(0o022);
  process.umask(old);
  return old;
}

/** POSIX form of a relative path: DVC writes `/` separators everywhere. */
export function toPosix(p: string): string {
  return path.sep === '/' ? p : p.split(path.sep).join('/');
}

/** Whether `child` is `parent` or lies inside it (both absolute, normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
