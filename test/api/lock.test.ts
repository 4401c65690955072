import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStale, lockPath, withRepoLock } from '../../src/api/lock.js';
import { readHolder, tryTakePidLock } from '../../src/pid-lock.js';
import { tempDir } from '../helpers/tmp.js';

function dvcDir(): string {
  const dir = path.join(tempDir(), '.dvc');
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  return dir;
}

/** A pid that is certainly not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('repository lock', () => {
  it('serialises two holders in one process and releases on error', async () => {
    const dir = dvcDir();
    const order: string[] = [];
    let release!: () => void;
    const first = withRepoLock(dir, async () => {
      order.push('first in');
      await new Promise<void>((r) => {
        release = r;
      });
      order.push('first out');
    });
    await new Promise((r) => setTimeout(r, 20));
    await expect(withRepoLock(dir, async () => 'never')).rejects.toMatchObject({ code: 'E_LOCKED' });
    let waited = '';
    const second = withRepoLock(
      dir,
      async () => {
        order.push('second');
      },
      { waitMs: 5000, onWait: (h) => (waited = h) },
    );
    setTimeout(() => release(), 150);
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second']);
    expect(waited).toBe(`${process.pid}@${os.hostname()}`);
    await expect(
      withRepoLock(dir, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(fs.existsSync(lockPath(dir))).toBe(false);
  });

  it('takes over a stale lock left by a dead process (ours or DVC-style)', async () => {
    const dir = dvcDir();
    const pid = await deadPid();
    fs.writeFileSync(lockPath(dir), `${pid}@${os.hostname()}\n`);
    expect(await withRepoLock(dir, async () => 'ran')).toBe('ran');
    fs.writeFileSync(lockPath(dir), ` ${pid}\n`); // zc.lockfile writes the pid and leaves the file behind
    expect(await withRepoLock(dir, async () => 'ran again')).toBe('ran again');
  });

  it('respects a lock of a live process, and never judges another host', async () => {
    const dir = dvcDir();
    fs.writeFileSync(lockPath(dir), `${process.ppid}\n`);
    await expect(withRepoLock(dir, async () => 'x')).rejects.toMatchObject({
      code: 'E_LOCKED',
      message: expect.stringContaining(String(process.ppid)),
    });
    expect(isStale(`${await deadPid()}@another-host`)).toBe(false);
    expect(isStale('')).toBe(true);
    expect(isStale('garbage')).toBe(false);
  });
});

describe('pid lock files', () => {
  it('never removes the lock of a process that took over the same stale lock first', async () => {
    const file = lockPath(dvcDir());
    const stale = `${await deadPid()}@${os.hostname()}`;
    const rival = `${process.ppid}@${os.hostname()}`; // alive
    fs.writeFileSync(file, `${stale}\n`);
    // The rival removes the stale lock and takes its own at the worst moment: after we judged
    // the stale holder, before we removed it.
    const judge = (holder: string) => {
      const dead = holder === stale;
      if (dead && readHolder(file) === stale) fs.writeFileSync(file, `${rival}\n`);
      return dead;
    };
    expect(tryTakePidLock(file, judge)).toBe(rival);
    expect(readHolder(file)).toBe(rival);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['lock']); // nothing set aside is left
  });
});
