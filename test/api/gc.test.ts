/**
 * `cpv gc`: on the DVC-recorded history fixture every scope leaves exactly the cache DVC left and
 * prints DVC's lines; refusals delete nothing; kept revisions stay checkout-able; cloud gc.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { checkout } from '../../src/api/checkout.js';
import { gc } from '../../src/api/gc.js';
import { initRepo } from '../../src/api/init.js';
import { removeTargets } from '../../src/api/remove.js';
import { repoStatus } from '../../src/api/status.js';
import { renderGcResult, scopeWarning } from '../../src/cli/commands/gc.js';
import { CpvError } from '../../src/errors.js';
import { gitCli, gitRepo, materialise, snapshot, tempDir } from '../helpers/tmp.js';
import { FIXTURES } from '../helpers/vectors.js';

interface CacheFile {
  path: string;
  mode: string;
  size: number;
  md5: string;
}
interface HistoryJson {
  expect: Record<string, unknown>;
  commands: Record<string, { stdout: string; stderr: string }>;
}

function unpack(name: string): { top: string; repo: string } {
  const top = tempDir(`cpv-gc-${name}-`);
  const r = spawnSync('tar', ['-xzpf', path.join(FIXTURES, 'repos', `${name}.tar.gz`), '-C', top]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return { top: path.join(top, name), repo: path.join(top, name, 'repo') };
}

const history = JSON.parse(
  fs.readFileSync(path.join(FIXTURES, 'repos', 'history.json'), 'utf8'),
) as HistoryJson;

/** The cache as the fixture JSON lists it: path, mode, size. */
function cacheListing(repo: string): Array<Omit<CacheFile, 'md5'>> {
  const out: Array<Omit<CacheFile, 'md5'>> = [];
  const visit = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) visit(abs);
      else {
        const st = fs.statSync(abs);
        out.push({ path: path.relative(repo, abs), mode: (st.mode & 0o777).toString(8), size: st.size });
      }
    }
  };
  visit(path.join(repo, '.dvc/cache'));
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

const expected = (key: string) =>
  (history.expect[key] as CacheFile[]).map(({ path: p, mode, size }) => ({ path: p, mode, size }));

async function expectError(p: Promise<unknown>, code: string): Promise<CpvError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CpvError);
  expect((err as CpvError).code).toBe(code);
  return err as CpvError;
}

describe('cpv gc on the DVC history fixture', () => {
  it.each([
    ['gc_w', { workspace: true }],
    ['gc_a', { allBranches: true }],
    ['gc_T', { allTags: true }],
    ['gc_all_commits', { allCommits: true }],
  ])('%s leaves the cache DVC left and prints its lines', async (key, scope) => {
    const { repo } = unpack('history');
    const result = await gc({ cwd: repo, force: true, ...scope });
    expect(cacheListing(repo)).toEqual(expected(`${key}_cache_after`));
    expect(renderGcResult(result)).toBe(history.commands[key]!.stdout);
    expect(`WARNING: ${scopeWarning(scope)}\n`).toBe(history.commands[key]!.stderr);
    expect((await repoStatus([], { cwd: repo })).stages).toEqual({});
  });

  it('--dry removes nothing and says what it would remove', async () => {
    const { repo } = unpack('history');
    const before = cacheListing(repo);
    const result = await gc({ cwd: repo, workspace: true, dryRun: true });
    expect(cacheListing(repo)).toEqual(before);
    expect(cacheListing(repo)).toEqual(expected('gc_w_dry_cache_after'));
    expect(result.plan.objects).toHaveLength(8);
    expect(renderGcResult(result)).toMatch(/^Would remove 8 objects \(.+\) from repo cache\.\n/);
  });

  it('refuses without a scope, and without force or a yes; the confirmation sees count and size', async () => {
    const { repo } = unpack('history');
    const before = cacheListing(repo);
    await expectError(gc({ cwd: repo }), 'E_USAGE');
    const err = await expectError(gc({ cwd: repo, workspace: true }), 'E_NEEDS_FORCE');
    expect(err.message).toContain('8 objects');
    expect(err.hint).toContain('--force');
    await expectError(gc({ cwd: repo, workspace: true, confirm: () => false }), 'E_NEEDS_FORCE');
    expect(cacheListing(repo)).toEqual(before);
    let seen: { count: number; bytes: number } | undefined;
    await gc({
      cwd: repo,
      allTags: true,
      confirm: (plan) => {
        seen = { count: plan.objects.length, bytes: plan.bytes };
        return true;
      },
    });
    expect(seen).toEqual({ count: 4, bytes: 131072 + 4096 + 17 + 363 });
    expect(cacheListing(repo)).toEqual(expected('gc_T_cache_after'));
  });

  it('after gc -a every branch still checks out with a clean status', async () => {
    const { repo } = unpack('history');
    await gc({ cwd: repo, allBranches: true, force: true });
    for (const branch of ['exp', 'main']) {
      gitCli(repo, 'checkout', '-q', branch);
      await checkout([], { cwd: repo });
      expect((await repoStatus([], { cwd: repo })).stages, branch).toEqual({});
    }
  });
});

describe('cpv gc details', () => {
  it('removes stale temp files and unused legacy objects, keeps used legacy objects', async () => {
    const dir = gitRepo();
    materialise(dir, { 'a.txt': 'a\n' });
    await initRepo(dir);
    // A DVC 2.x style output: no `hash:` key, object in the legacy layout.
    const legacyOid = '60b725f10c9c85c70d97880dfe8191b3'; // md5("a\n") (no CRLF to strip)
    materialise(dir, {
      'a.txt.dvc': `outs:\n- md5: ${legacyOid}\n  size: 2\n  path: a.txt\n`,
      [`.dvc/cache/${legacyOid.slice(0, 2)}/${legacyOid.slice(2)}`]: 'a\n',
      '.dvc/cache/00/0000000000000000000000000000ff': 'unused legacy',
      '.dvc/cache/files/md5/.tmp-deadbeef': 'half a copy',
      '.dvc/cache/files/md5/ab/.tmp-cafe': 'half a copy',
    });
    const result = await gc({ cwd: dir, workspace: true, force: true });
    expect(result.removed).toEqual({ repo: 0, legacy: 1 });
    expect(fs.existsSync(path.join(dir, `.dvc/cache/${legacyOid.slice(0, 2)}/${legacyOid.slice(2)}`))).toBe(
      true,
    );
    expect(fs.existsSync(path.join(dir, '.dvc/cache/00/0000000000000000000000000000ff'))).toBe(false);
    expect(fs.existsSync(path.join(dir, '.dvc/cache/files/md5/.tmp-deadbeef'))).toBe(false);
    expect(fs.existsSync(path.join(dir, '.dvc/cache/files/md5/ab/.tmp-cafe'))).toBe(false);
    expect(renderGcResult(result)).toBe(
      "No unused 'repo' cache to remove.\nNo unused 'local' cache to remove.\nRemoved 1 objects from legacy cache.\n",
    );
  });

  it('refuses to run when a kept revision cannot be read (nothing deleted)', async () => {
    const dir = gitRepo();
    materialise(dir, { 'x.txt': 'x' });
    await initRepo(dir);
    await addTargets(['x.txt'], { cwd: dir });
    gitCli(dir, 'add', '-A');
    gitCli(dir, 'commit', '-qm', 'one');
    fs.writeFileSync(path.join(dir, 'broken.dvc'), 'outs: [not: {valid');
    gitCli(dir, 'add', 'broken.dvc');
    gitCli(dir, 'commit', '-qm', 'broken');
    fs.rmSync(path.join(dir, 'broken.dvc'));
    const before = snapshot(path.join(dir, '.dvc/cache'));
    const err = await gc({ cwd: dir, allCommits: true, force: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CpvError);
    expect(snapshot(path.join(dir, '.dvc/cache'))).toEqual(before);
  });

  it('-c removes unused objects from the remote too (local remote of the basic fixture)', async () => {
    const { top, repo } = unpack('basic');
    const remoteFiles = () => Object.keys(snapshot(path.join(top, 'remote'))).filter((k) => !k.endsWith('/'));
    const before = remoteFiles();
    await removeTargets(['data.dvc'], { cwd: repo });
    const dry = await gc({ cwd: repo, workspace: true, cloud: true, dryRun: true });
    expect(remoteFiles()).toEqual(before);
    const result = await gc({ cwd: repo, workspace: true, cloud: true, force: true });
    expect(result.cloud?.removed).toBe(dry.cloud?.removed);
    const modelOid = fs.readFileSync(path.join(repo, 'model.bin.dvc'), 'utf8').match(/md5: (\w+)/)![1]!;
    const after = remoteFiles();
    expect(after).toEqual([`files/md5/${modelOid.slice(0, 2)}/${modelOid.slice(2)}`]);
    expect(before.length - after.length).toBe(result.cloud?.removed);
    expect(renderGcResult(result)).toContain(`Removed ${result.cloud?.removed} objects from remote.\n`);
  });
});
