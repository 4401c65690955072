/**
 * An unreadable file under `cpv add`: one clear error, exit 1, nothing half-written.
 *
 * Permission bits do not stop root, and CI runs as root. So when we are root the CLI runs as the
 * unprivileged user `nobody` on a repo it owns, with one root-owned file it cannot read; as any
 * other user the file's mode 000 does the same job.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initRepo } from '../../src/api/init.js';
import { materialise, snapshot, tempDir } from '../helpers/tmp.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');

/** Hands every path under `dir` to `nobody`, except the paths in `keep`. */
function giveToNobody(dir: string, keep: Set<string>): void {
  fs.chmodSync(dir, 0o755);
  fs.chownSync(dir, NOBODY, NOBODY);
  for (const entry of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const p = path.join(dir, entry);
    if (!keep.has(p)) fs.lchownSync(p, NOBODY, NOBODY);
  }
}

/**
 * The snapshot without directory entries: a refused directory add may leave the empty cache
 * directories (`.dvc/cache/files/md5/`) it prepared, which are harmless, but never a file.
 */
function filesOnly(snap: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(snap).filter(([, v]) => v !== 'dir'));
}

// HOME is the repo here, so the compile cache (~/.cache/cpv) would land in the snapshot: off.
function runCli(cwd: string, args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    ...(isRoot
      ? { uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: cwd, CPV_COMPILE_CACHE: 'off' } }
      : {}),
  });
}

describe('cpv add of an unreadable file', () => {
  it.each([
    ['the file itself', ['data/secret.bin']],
    ['a directory holding it', ['data']],
  ])('%s → E_UNREADABLE, exit 1, cache and workspace unchanged', async (_name, targets) => {
    const parent = tempDir();
    fs.chmodSync(parent, 0o755);
    const dir = path.join(parent, 'repo');
    fs.mkdirSync(dir);
    materialise(dir, { 'data/ok.txt': 'fine', 'data/secret.bin': 'hidden' });
    await initRepo(dir, { noScm: true });
    const secret = path.join(dir, 'data/secret.bin');
    fs.chmodSync(secret, 0o000);
    if (isRoot) giveToNobody(dir, new Set([secret]));
    const before = filesOnly(snapshot(dir));

    const r = runCli(dir, ['add', ...targets]);

    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/secret\.bin/);
    expect(lines[0]).toMatch(/cannot read|permission denied/);
    expect(r.stderr).toMatch(/hint/i);
    expect(filesOnly(snapshot(dir))).toEqual(before);
  });
});
