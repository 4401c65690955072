import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_LOCK, withCheckpointLock } from '../../src/api/checkpoint/checkpoint-lock.js';
import type { CpvError } from '../../src/errors.js';
import { gitRepo } from '../helpers/tmp.js';

describe('withCheckpointLock', () => {
  it('queues calls in one process and removes its lock file afterwards', async () => {
    const repo = gitRepo();
    const order: string[] = [];
    const slow = (name: string, ms: number) =>
      withCheckpointLock(repo, async () => {
        order.push(`${name}+`);
        expect(fs.readFileSync(path.join(repo, '.git', CHECKPOINT_LOCK), 'utf8')).toBe(
          `${process.pid}@${os.hostname()}\n`,
        );
        await new Promise((r) => setTimeout(r, ms));
        order.push(`${name}-`);
      });
    await Promise.all([slow('a', 60), slow('b', 1), slow('c', 1)]);
    expect(order).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(fs.existsSync(path.join(repo, '.git', CHECKPOINT_LOCK))).toBe(false);
  });

  it('releases the lock when the operation throws', async () => {
    const repo = gitRepo();
    await expect(withCheckpointLock(repo, async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(fs.existsSync(path.join(repo, '.git', CHECKPOINT_LOCK))).toBe(false);
    expect(await withCheckpointLock(repo, async () => 42)).toBe(42);
  });

  it('waits for a live holder, then fails with E_LOCKED naming it', async () => {
    const repo = gitRepo();
    const file = path.join(repo, '.git', CHECKPOINT_LOCK);
    fs.writeFileSync(file, `${process.ppid}@${os.hostname()}\n`); // a live process that is not us
    const started = Date.now();
    let err: CpvError | undefined;
    try {
      await withCheckpointLock(repo, async () => 1, { waitMs: 300 });
    } catch (e) {
      err = e as CpvError;
    }
    expect(err?.code).toBe('E_LOCKED');
    expect(err?.message).toContain(String(process.ppid));
    expect(err?.hint).toContain(file);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${process.ppid}@${os.hostname()}\n`); // not ours to remove

    // Once the holder lets go, a waiting call proceeds.
    setTimeout(() => fs.rmSync(file), 150);
    expect(await withCheckpointLock(repo, async () => 'ran', { waitMs: 5_000 })).toBe('ran');
  });

  it('takes over a lock left by a dead process on this host', async () => {
    const repo = gitRepo();
    const file = path.join(repo, '.git', CHECKPOINT_LOCK);
    fs.writeFileSync(file, `999999999@${os.hostname()}\n`);
    expect(await withCheckpointLock(repo, async () => 'ran', { waitMs: 0 })).toBe('ran');
    expect(fs.existsSync(file)).toBe(false);
  });
});
