/**
 * Checkout creates absent files in place, marked partial (no permission bits) until complete and
 * listed in a journal first. What a killed run leaves must be cleaned by the next checkout, and
 * nothing that is not a listed partial file may ever be removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { checkout } from '../../src/api/checkout.js';
import { beginInPlace, recoverInPlace } from '../../src/api/checkout-journal.js';
import { commitTargets } from '../../src/api/commit.js';
import { initRepo } from '../../src/api/init.js';
import { repoStatus } from '../../src/api/status.js';
import { PARTIAL_MODE } from '../../src/cache/pool-worker.js';
import { tempDir } from '../helpers/tmp.js';

const FILES = 400; // above checkout's threshold for copying on the pool

async function trackedCopyRepo(): Promise<string> {
  const dir = tempDir();
  for (let i = 0; i < FILES; i++) {
    const sub = path.join(dir, 'data', `d${i % 4}`);
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}`), `file ${i}\n`.repeat(i % 9));
  }
  await initRepo(dir, { noScm: true });
  fs.appendFileSync(path.join(dir, '.dvc/config'), '[cache]\n    type = copy\n');
  await addTargets(['data'], { cwd: dir });
  return dir;
}

const journal = (dir: string) => path.join(dir, '.dvc', 'tmp', 'cpv-checkout-journal.json');
const fileAt = (dir: string, i: number) => path.join(dir, 'data', `d${i % 4}`, `f${i}`);

describe('checkout into an empty place', () => {
  it('creates every file with its mode and leaves no journal', async () => {
    const dir = await trackedCopyRepo();
    fs.rmSync(path.join(dir, 'data'), { recursive: true });
    await checkout([], { cwd: dir });
    for (let i = 0; i < FILES; i++) {
      expect(fs.readFileSync(fileAt(dir, i), 'utf8')).toBe(`file ${i}\n`.repeat(i % 9));
      expect(fs.statSync(fileAt(dir, i)).mode & 0o7777).toBe(0o666 & ~process.umask());
    }
    expect(fs.existsSync(journal(dir))).toBe(false);
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });

  it('after a kill mid-copy, the rerun removes the partial files and restores them without --force', async () => {
    const dir = await trackedCopyRepo();
    fs.rmSync(path.join(dir, 'data'), { recursive: true });
    await checkout([], { cwd: dir });
    // What a kill leaves: the journal, some files complete, some cut short with PARTIAL_MODE, some absent.
    beginInPlace(
      path.join(dir, '.dvc'),
      dir,
      Array.from({ length: FILES }, (_, i) => fileAt(dir, i)),
    );
    for (let i = 0; i < FILES; i++) {
      if (i % 3 === 1) fs.rmSync(fileAt(dir, i));
      if (i % 3 === 2) {
        fs.writeFileSync(fileAt(dir, i), 'cut');
        fs.chmodSync(fileAt(dir, i), PARTIAL_MODE);
      }
    }
    // Saving the workspace now would record the cut-short files as a new version.
    for (const save of [
      () => addTargets(['data'], { cwd: dir }),
      () => commitTargets([], { cwd: dir, force: true }),
    ]) {
      await expect(save()).rejects.toMatchObject({ code: 'E_CHECKOUT_INTERRUPTED' });
    }
    const result = await checkout([], { cwd: dir });
    expect(result.changes).toEqual([{ kind: 'modified', path: 'data/' }]);
    for (let i = 0; i < FILES; i++) {
      expect(fs.readFileSync(fileAt(dir, i), 'utf8')).toBe(`file ${i}\n`.repeat(i % 9));
    }
    expect(fs.existsSync(journal(dir))).toBe(false);
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
    await addTargets(['data'], { cwd: dir }); // and saving works again
  });
});

describe('recoverInPlace', () => {
  it('removes only listed regular files that still have the partial mode', () => {
    const root = tempDir();
    const dvcDir = path.join(root, '.dvc');
    const make = (name: string, mode: number) => {
      const p = path.join(root, name);
      fs.writeFileSync(p, name);
      fs.chmodSync(p, mode);
      return p;
    };
    const partial = make('partial', PARTIAL_MODE);
    const complete = make('complete', 0o644);
    const unlisted = make('unlisted-partial', PARTIAL_MODE);
    fs.mkdirSync(path.join(root, 'a-dir'), { mode: 0o755 });
    fs.chmodSync(path.join(root, 'a-dir'), PARTIAL_MODE);
    const outside = path.join(tempDir(), 'outside');
    fs.writeFileSync(outside, 'not ours');
    fs.chmodSync(outside, PARTIAL_MODE);
    beginInPlace(dvcDir, root, [
      partial,
      complete,
      path.join(root, 'a-dir'),
      path.join(root, 'gone'),
      outside,
    ]);
    expect(recoverInPlace(dvcDir, root)).toBe(1);
    expect(fs.existsSync(partial)).toBe(false);
    expect(fs.readFileSync(complete, 'utf8')).toBe('complete');
    expect(fs.existsSync(unlisted)).toBe(true);
    expect(fs.existsSync(path.join(root, 'a-dir'))).toBe(true);
    expect(fs.existsSync(outside)).toBe(true);
    expect(fs.existsSync(path.join(dvcDir, 'tmp', 'cpv-checkout-journal.json'))).toBe(false);
    expect(recoverInPlace(dvcDir, root)).toBe(0); // no journal: nothing to do
  });
});
