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
import * as os from 'node:os';
import * as path from 'node:path';
import { CpvError } from '../errors.js';
import { pidAlive, withPidLock } from '../pid-lock.js';

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

/** A lock is stale when it names a process on this host that no longer runs. */
export function isStale(holder: string): boolean {
  const match = /^(\d+)(?:[@;](.*))?$/.exec(holder);
  if (!match) return holder === ''; // an empty file: a lock torn by a crash (DVC's are `pid\n`)
  const host = match[2];
  if (host !== undefined && host !== os.hostname()) return false; // cannot judge another host
  return !pidAlive(Number(match[1]));
}

/** Runs `fn` holding the repository lock; the lock is released however `fn` ends. */
export function withRepoLock<T>(dvcDir: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const file = lockPath(dvcDir);
  return withPidLock(file, fn, {
    isStale,
    waitMs: opts.waitMs ?? 0,
    pollMs: () => POLL_MS,
    onWait: opts.onWait,
    busy: (holder) =>
      new CpvError('E_LOCKED', `the repository is locked by process ${holder} (${file})`, {
        hint: 'Wait for the other cpv/dvc command to finish; if none is running, delete the lock file.',
      }),
  });
}
