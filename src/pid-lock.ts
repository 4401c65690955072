/**
 * Lock files that name their holder: `<pid>@<host>`, created whole (written under a temp name, then
 * hard-linked into place, which fails if the lock exists), so a reader never sees half a holder.
 * A lock whose holder is judged stale (its process is gone) is taken over. The repository lock
 * (`api/lock.ts`) and the checkpoint lock (`api/checkpoint/checkpoint-lock.ts`) are two of these;
 * they differ in where the file lives, which holders count as stale, and how long they wait.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errnoCode } from './errors.js';
import { tempPathFor } from './fsutil.js';

export interface PidLockOptions {
  /** Whether a lock held by `holder` (the file's trimmed text) is left over and may be removed. */
  isStale: (holder: string) => boolean;
  /** How long to wait for a live holder, in ms. */
  waitMs: number;
  /** The pause between attempts while waiting, in ms. */
  pollMs: () => number;
  /** The error thrown once the wait is over and the lock is still held by `holder`. */
  busy: (holder: string) => Error;
  /** Called once, with the holder, when the lock is busy and the wait begins. */
  onWait?: (holder: string) => void;
}

/** What this process writes into the locks it takes. */
export function thisHolder(): string {
  return `${process.pid}@${os.hostname()}`;
}

/** Whether a process with this pid exists on this host (EPERM means it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** The lock's holder (its trimmed text), or undefined when there is no lock. */
export function readHolder(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Removes a lock file judged stale, if it still is once set aside: renaming first makes the check
 * and the removal one step for everyone else, and a file that turns out not to be the stale one is
 * put back with link (which never overwrites a newer lock).
 */
export function removeIfSame(file: string, same: (renamed: string) => boolean): void {
  const aside = `${file}.stale-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return; // someone else removed it already
    throw err;
  }
  try {
    if (!same(aside)) {
      try {
        fs.linkSync(aside, file);
      } catch {
        // a new lock was created meanwhile; it wins
      }
    }
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

/**
 * One attempt at the lock: undefined when it is ours now, else its holder. A stale lock is
 * removed, unless another process replaced it first (two processes that both found the same stale
 * lock must not remove each other's new one), and the attempt is made again.
 */
export function tryTakePidLock(file: string, isStale: (holder: string) => boolean): string | undefined {
  const tmp = tempPathFor(file);
  try {
    // Inside the try: a write that fails (full disk) must not leave its temp behind.
    fs.writeFileSync(tmp, `${thisHolder()}\n`);
    for (;;) {
      try {
        fs.linkSync(tmp, file);
        return undefined;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      const holder = readHolder(file);
      if (holder === undefined) continue; // released between our link and our read
      if (!isStale(holder)) return holder;
      removeIfSame(file, (aside) => readHolder(aside) === holder);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Runs `fn` holding the lock `file`, waiting for a live holder up to `waitMs`. The lock is
 * released however `fn` ends, and only if it is still ours.
 */
export async function withPidLock<T>(file: string, fn: () => Promise<T>, opts: PidLockOptions): Promise<T> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + opts.waitMs;
  let announced = false;
  for (;;) {
    const holder = tryTakePidLock(file, opts.isStale);
    if (holder === undefined) break;
    if (Date.now() >= deadline) throw opts.busy(holder);
    if (!announced) opts.onWait?.(holder);
    announced = true;
    await new Promise((resolve) => setTimeout(resolve, opts.pollMs()));
  }
  try {
    return await fn();
  } finally {
    if (readHolder(file) === thisHolder()) fs.rmSync(file, { force: true });
  }
}
