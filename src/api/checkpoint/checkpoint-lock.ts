/**
 * One checkpoint operation at a time per model repo. An upload is several steps (metrics line,
 * hashing, `.dvc` pointers, data push, commit, git push) that each lock on their own; two uploads
 * interleaving those steps could commit one's metrics with the other's model. So the whole
 * operation holds `.git/cpv-checkpoint.lock` (inside `.git`, so it is never committed): an
 * in-process queue first, then the file, created atomically with `pid@host`, taken over when its
 * process is gone, waited for up to `waitMs`.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { CpvError } from '../../errors.js';
import { withMutex } from '../../git/lock.js';
import { pidAlive, withPidLock } from '../../pid-lock.js';

export const CHECKPOINT_LOCK = 'cpv-checkpoint.lock';
const DEFAULT_WAIT_MS = 120_000;

/** Only a `pid@host` of this host whose process is gone is stale (anything else is waited for). */
function isStale(holder: string): boolean {
  const m = /^(\d+)@(.*)$/.exec(holder);
  if (!m) return false;
  return m[2] === os.hostname() && !pidAlive(Number(m[1]));
}

/** Runs `fn` as the only checkpoint operation on the repo at `repoDir`. */
export async function withCheckpointLock<T>(
  repoDir: string,
  fn: () => Promise<T>,
  opts: { waitMs?: number } = {},
): Promise<T> {
  const file = path.join(repoDir, '.git', CHECKPOINT_LOCK);
  return withMutex(path.resolve(file), () =>
    withPidLock(file, fn, {
      isStale,
      waitMs: opts.waitMs ?? DEFAULT_WAIT_MS,
      pollMs: () => 50 + Math.random() * 100,
      busy: (holder) =>
        new CpvError('E_LOCKED', `another checkpoint operation (${holder}) is running on ${repoDir}`, {
          hint: `Wait for it to finish; if none is running, delete ${file}.`,
        }),
    }),
  );
}
