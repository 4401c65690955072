/**
 * One checkpoint operation at a time per model repo. An upload is several steps (metrics line,
 * hashing, `.dvc` pointers, data push, commit, git push) that each lock on their own; two uploads
 * interleaving those steps could commit one's metrics with the other's model. So the whole
 * operation holds `.git/cpv-checkpoint.lock` (inside `.git`, so it is never committed): an
 * in-process queue first, then the file, created atomically with `pid@host`, taken over when its
 * process is gone, waited for up to `waitMs`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CpvError, errnoCode } from '../../errors.js';
import { tempPathFor } from '../../fsutil.js';
import { pidAlive, withMutex } from '../../git/lock.js';

export const CHECKPOINT_LOCK = 'cpv-checkpoint.lock';
const DEFAULT_WAIT_MS = 120_000;

const me = (): string => `${process.pid}@${os.hostname()}`;

function holderOf(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function isStale(holder: string): boolean {
  const m = /^(\d+)@(.*)$/.exec(holder);
  if (!m) return false;
  return m[2] === os.hostname() && !pidAlive(Number(m[1]));
}

function tryTake(file: string): string | undefined {
  const tmp = tempPathFor(file);
  fs.writeFileSync(tmp, `${me()}\n`);
  try {
    fs.linkSync(tmp, file);
    return undefined;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
    const holder = holderOf(file) ?? '';
    if (isStale(holder) && holderOf(file) === holder) {
      fs.rmSync(file, { force: true });
      return tryTake(file);
    }
    return holder;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Runs `fn` as the only checkpoint operation on the repo at `repoDir`. */
export async function withCheckpointLock<T>(
  repoDir: string,
  fn: () => Promise<T>,
  opts: { waitMs?: number } = {},
): Promise<T> {
  const file = path.join(repoDir, '.git', CHECKPOINT_LOCK);
  return withMutex(path.resolve(file), async () => {
    const deadline = Date.now() + (opts.waitMs ?? DEFAULT_WAIT_MS);
    for (;;) {
      const holder = tryTake(file);
      if (holder === undefined) break;
      if (Date.now() >= deadline) {
        throw new CpvError('E_LOCKED', `another checkpoint operation (${holder}) is running on ${repoDir}`, {
          hint: `Wait for it to finish; if none is running, delete ${file}.`,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
    }
    try {
      return await fn();
    } finally {
      if (holderOf(file) === me()) fs.rmSync(file, { force: true });
    }
  });
}
