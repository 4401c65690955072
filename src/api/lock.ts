/**
 * The repository lock: two cpv processes never write to one repo at the same time.
 *
 * The lock is the file `.dvc/tmp/lock`, the path Python DVC locks too. It holds `pid@hostname`
 * and is created atomically (written under a temp name, then hard-linked into place, which fails
 * if the lock exists), so a reader never sees a half-written lock. A lock whose process is gone
 * (same host, pid not alive) is stale and is taken over.
 *
 * Coexistence with Python DVC: DVC locks that same file with flock(2) (zc.lockfile) and leaves it
 * in place after it exits, holding its `pid`. cpv treats a lock file naming a live process as held
 * (so cpv waits for a running DVC), and one naming a dead process as stale. Node has no flock(2),
 * so a DVC process started while cpv holds the lock does not see cpv's lock: do not run both tools
 * on one repository at the same moment.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CpvError, errnoCode } from '../errors.js';
import { tempPathFor } from '../fsutil.js';

export interface LockOptions {
  /** How long to wait for another process's lock, in ms (default 0: fail at once). */
  waitMs?: number;
  /** Called once when the lock is busy and we start waiting. */
  onWait?: (holder: string) => void;
}

const POLL_MS = 100;

export function lockPath(dvcDir: string): string {
  return path.join(dvcDir, 'tmp', 'lock');
}

/** `pid@host` of the holder, if the lock file exists. */
function readHolder(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM'; // exists, but not ours to signal
  }
}

/** A lock is stale when it names a process on this host that no longer runs. */
export function isStale(holder: string): boolean {
  const match = /^(\d+)(?:[@;](.*))?$/.exec(holder);
  if (!match) return holder === ''; // an empty file: a lock torn by a crash (DVC's are `pid\n`)
  const host = match[2];
  if (host !== undefined && host !== os.hostname()) return false; // cannot judge another host
  return !processAlive(Number(match[1]));
}

/** Tries once to take the lock; returns the holder's name when it is busy. */
function tryAcquire(file: string): string | undefined {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  try {
    // Inside the try: a write that fails (full disk) must not leave its temp behind.
    fs.writeFileSync(tmp, `${process.pid}@${os.hostname()}\n`);
    fs.linkSync(tmp, file);
    return undefined;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
    const holder = readHolder(file) ?? '';
    if (!isStale(holder)) return holder;
    // Stale: remove it only if it is still the same stale lock, then retry on the next round.
    if (readHolder(file) === holder) fs.rmSync(file, { force: true });
    return tryAcquire(file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Runs `fn` holding the repository lock; the lock is released however `fn` ends. */
export async function withRepoLock<T>(
  dvcDir: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const file = lockPath(dvcDir);
  const deadline = Date.now() + (opts.waitMs ?? 0);
  let announced = false;
  for (;;) {
    const holder = tryAcquire(file);
    if (holder === undefined) break;
    if (Date.now() >= deadline) {
      throw new CpvError('E_LOCKED', `the repository is locked by process ${holder} (${file})`, {
        hint: 'Wait for the other cpv/dvc command to finish; if none is running, delete the lock file.',
      });
    }
    if (!announced) opts.onWait?.(holder);
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    if (readHolder(file) === `${process.pid}@${os.hostname()}`) fs.rmSync(file, { force: true });
  }
}
