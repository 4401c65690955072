/**
 * Small filesystem helpers shared by every layer. The rule they enforce: a file a reader can see
 * is always complete — writes go to a temp file in the same directory, then rename over the target.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError, errnoCode } from './errors.js';

/** A temp name beside `target` that no reader mistakes for real data (dot-prefixed, random). */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomHex12()}`);
}

/**
 * 12 random hex digits. Random bytes are drawn 6 KiB at a time: one call per name was a tenth of
 * a 10,000-file checkout.
 */
function randomHex12(): string {
  if (randomPos + 6 > randomPool.length) {
    randomPool = randomBytes(6 * 1024);
    randomPos = 0;
  }
  randomPos += 6;
  return randomPool.toString('hex', randomPos - 6, randomPos);
}
let randomPool = Buffer.alloc(0);
let randomPos = 0;

/**
 * Writes `data` to `target` atomically (temp + fsync-free rename), keeping `mode` if given.
 * A full disk throws `E_NO_SPACE`; other failures are thrown as they came.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array, mode?: number): void {
  const tmp = tempPathFor(target);
  try {
    fs.writeFileSync(tmp, data, mode === undefined ? undefined : { mode });
    if (mode !== undefined) fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    // A write(2) error names no path: say which file did not fit.
    throw noSpaceError(err, `'${target}'`) ?? err;
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

/**
 * errno codes meaning "no room for these bytes": a full filesystem, a quota, a file-size limit
 * (`ulimit -f`; Node ignores SIGXFSZ, so the write fails with EFBIG instead of killing us).
 */
const NO_SPACE: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file-size limit',
};

/** The no-space errno of `err` (ENOSPC, EDQUOT, EFBIG), if it is one. */
export function noSpaceCode(err: unknown): string | undefined {
  const code = errnoCode(err);
  return code !== undefined && code in NO_SPACE ? code : undefined;
}

/** What else helps when the cache's disk is full, or the remote's (appended to the hint). */
export const CACHE_SPACE_HINT = ' or move the cache to a bigger disk (cpv config cache.dir <dir>)';
export const REMOTE_SPACE_HINT = " on the remote's disk";

/** The same hint wherever the disk fills up; `extra` says what else helps at that place. */
export function noSpaceHint(code: string, extra = ''): string {
  const limit = code === 'EFBIG' ? ' (or raise the file-size limit, ulimit -f)' : '';
  return `Free some disk space${limit}${extra}, then run the command again.`;
}

/**
 * A write that failed for lack of space as one `E_NO_SPACE` error naming what was written.
 * Returns undefined for any other failure, so callers keep their own error for those.
 */
export function noSpaceError(err: unknown, where: string, extraHint = ''): CpvError | undefined {
  const code = noSpaceCode(err);
  if (code === undefined) return undefined;
  return new CpvError('E_NO_SPACE', `${NO_SPACE[code]} (${code}) while writing ${where}`, {
    hint: noSpaceHint(code, extraHint),
    cause: err,
  });
}
