/**
 * `cpv diff` and `cpv ls` read `.dvc` files out of git history (no checkout) and must print what
 * DVC 3.51.2 printed on the same repositories (fixtures/dvc/repos/{history,basic,modified}.json).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { diffRevisions } from '../../src/api/diff.js';
import { initRepo } from '../../src/api/init.js';
import { listTracked } from '../../src/api/ls.js';
import { diffJson, renderDiffText } from '../../src/cli/commands/diff.js';
import { lsJson, renderLsText } from '../../src/cli/commands/ls.js';
import { pyJsonDumps } from '../../src/dvcfile/pyjson.js';
import { CpvError } from '../../src/errors.js';
import { GitHistory } from '../../src/git/history.js';
import { gitCli, gitRepo, materialise, tempDir } from '../helpers/tmp.js';
import { FIXTURES } from '../helpers/vectors.js';

interface Recorded {
  argv: string[];
  stdout: string;
}
interface FixtureJson {
  git: { refs: Record<string, string | { commit: string }>; commits: Array<{ commit: string }> };
  commands: Record<string, Recorded>;
}

function unpack(name: string): { repo: string; json: FixtureJson } {
  const top = tempDir(`cpv-diff-${name}-`);
  const r = spawnSync('tar', ['-xzpf', path.join(FIXTURES, 'repos', `${name}.tar.gz`), '-C', top]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  const json = JSON.parse(
    fs.readFileSync(path.join(FIXTURES, 'repos', `${name}.json`), 'utf8'),
  ) as FixtureJson;
  return { repo: path.join(top, name, 'repo'), json };
}

const jsonLine = (v: unknown) => `${pyJsonDumps(v, { sortKeys: false })}\n`;

describe('cpv diff against DVC', () => {
  const { repo, json } = unpack('history');
  const cmd = (name: string) => json.commands[name]!.stdout;

  it('v1.0 → v1.1: JSON, JSON with hashes, and text are byte-identical to DVC', async () => {
    const diff = await diffRevisions('v1.0', 'v1.1', { cwd: repo });
    expect(jsonLine(diffJson(diff, false))).toBe(cmd('diff_json_v1_0_v1_1'));
    expect(jsonLine(diffJson(diff, true))).toBe(cmd('diff_json_show_hash_v1_0_v1_1'));
    expect(renderDiffText(diff, false)).toBe(cmd('diff_text_v1_0_v1_1'));
  });

  it('v1.1 → exp (a branch) equals DVC', async () => {
    const diff = await diffRevisions('v1.1', 'exp', { cwd: repo });
    expect(jsonLine(diffJson(diff, false))).toBe(cmd('diff_json_v1_1_exp'));
  });

  it('HEAD vs a clean workspace is empty; commit ids, short ids and ~N work as revisions', async () => {
    const diff = await diffRevisions('HEAD', undefined, { cwd: repo });
    expect(diff).toEqual({ added: [], deleted: [], modified: [], renamed: [], 'not in cache': [] });
    expect(renderDiffText(diff, false)).toBe('');
    const [c0, c1] = json.git.commits.map((c) => c.commit);
    const byOid = await diffRevisions(c0!, c1!, { cwd: repo });
    expect(byOid).toEqual(await diffRevisions('v1.0', 'v1.1', { cwd: repo }));
    expect(await diffRevisions(c0!.slice(0, 7), 'main', { cwd: repo })).toEqual(byOid);
    expect(await diffRevisions('main~1', 'main', { cwd: repo })).toEqual(byOid);
  });

  it('an unknown revision is one clear error', async () => {
    const err = await diffRevisions('no-such-tag', undefined, { cwd: repo }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CpvError);
    expect((err as CpvError).code).toBe('E_BAD_REV');
  });

  it('modified fixture: HEAD vs workspace equals DVC (json, show-hash, text)', async () => {
    const m = unpack('modified');
    const diff = await diffRevisions('HEAD', undefined, { cwd: m.repo });
    expect(jsonLine(diffJson(diff, false))).toBe(m.json.commands.diff_json!.stdout);
    expect(jsonLine(diffJson(diff, true))).toBe(m.json.commands.diff_json_show_hash!.stdout);
    expect(renderDiffText(diff, false)).toBe(m.json.commands.diff_text!.stdout);
  });

  it('detects renames, and lists unchanged data missing from the cache', async () => {
    const dir = gitRepo();
    materialise(dir, { 'data/a.txt': 'alpha', 'data/b.txt': 'bravo' });
    await initRepo(dir);
    await addTargets(['data'], { cwd: dir });
    gitCli(dir, 'add', '-A');
    gitCli(dir, 'commit', '-qm', 'data');
    fs.renameSync(path.join(dir, 'data/a.txt'), path.join(dir, 'data/renamed.txt'));
    const diff = await diffRevisions('HEAD', undefined, { cwd: dir });
    expect(diff.renamed).toEqual([
      { path: { old: 'data/a.txt', new: 'data/renamed.txt' }, hash: '2c1743a391305fbf367df8e4f069f9f9' },
    ]);
    expect(diff.added).toEqual([]);
    expect(diff.deleted).toEqual([]);
    expect(diff.modified.map((m) => m.path)).toEqual(['data/']);
    expect(renderDiffText(diff, true)).toBe(
      'Renamed:\n    2c1743a3  data/a.txt -> data/renamed.txt\n\nModified:\n' +
        `    ${diff.modified[0]!.hash.old.slice(0, 8)}..${diff.modified[0]!.hash.new.slice(0, 8)}  data/\n\n` +
        'files summary: 1 renamed\n',
    );
    fs.renameSync(path.join(dir, 'data/renamed.txt'), path.join(dir, 'data/a.txt'));
    fs.rmSync(path.join(dir, '.dvc/cache/files/md5/2c'), { recursive: true });
    expect((await diffRevisions('HEAD', undefined, { cwd: dir }))['not in cache']).toEqual([
      { path: 'data/a.txt', hash: '2c1743a391305fbf367df8e4f069f9f9' },
    ]);
  });
});

describe('cpv ls against DVC', () => {
  const { repo, json } = unpack('history');

  it.each([
    ['v1.0', 'ls_json_rev_v1_0'],
    ['v1.1', 'ls_json_rev_v1_1'],
    ['exp', 'ls_json_rev_exp'],
    [undefined, 'ls_json_workspace'],
  ])('rev %s equals `dvc ls --json -R --dvc-only`', async (rev, key) => {
    const entries = await listTracked(rev, { cwd: repo });
    expect(jsonLine(lsJson(entries, false))).toBe(json.commands[key]!.stdout);
  });

  it('basic fixture: unicode, tabs and spaces in names as DVC escapes them', async () => {
    const b = unpack('basic');
    const entries = await listTracked(undefined, { cwd: b.repo });
    expect(jsonLine(lsJson(entries, false))).toBe(b.json.commands.ls_json_recursive_dvc_only!.stdout);
  });

  it('text lists hash, size (recorded or cached) and path of every file', async () => {
    const entries = await listTracked('v1.0', { cwd: repo });
    const text = renderLsText(entries);
    expect(text.split('\n')).toContain(`fca0e38634fd4d93509086172d98880c  131072  model.bin`);
    expect(text).toMatch(/^615b8e3532211c62a25fc859f489a12e {4}2048 {2}data\/images\/img0\.bin$/m);
    const withHash = lsJson(entries, true) as Array<{ md5: string; path: string }>;
    expect(withHash.find((e) => e.path === 'model.bin')?.md5).toBe('fca0e38634fd4d93509086172d98880c');
  });
});

describe('GitHistory', () => {
  it('finds branch, tag and all-commit tips as the fixture records them', async () => {
    const { repo, json } = unpack('history');
    const h = new GitHistory(repo);
    const refs = json.git.refs;
    const commitOf = (r: string) => {
      const v = refs[r]!;
      return typeof v === 'string' ? v : v.commit;
    };
    expect((await h.branchCommits()).sort()).toEqual(
      [commitOf('refs/heads/exp'), commitOf('refs/heads/main')].sort(),
    );
    expect((await h.tagCommits()).sort()).toEqual(
      [commitOf('refs/tags/v1.0'), commitOf('refs/tags/v1.1')].sort(),
    );
    expect((await h.allCommits()).sort()).toEqual(json.git.commits.map((c) => c.commit).sort());
    const outs = await h.outputsAt(commitOf('refs/tags/v1.0'));
    expect(outs.map((o) => [o.path, o.md5, o.source])).toEqual([
      ['data', 'b6e9ba9c4fa3cd5056d85facca945b76.dir', 'data.dvc'],
      ['model.bin', 'fca0e38634fd4d93509086172d98880c', 'model.bin.dvc'],
    ]);
  });

  it('reads .dvc files in sub-directories and dvc.lock outputs, skipping DVC sub-repos', async () => {
    const dir = gitRepo();
    materialise(dir, {
      'sub/x.bin.dvc':
        'outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661\n  size: 1\n  hash: md5\n  path: x.bin\n',
      'dvc.lock':
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - path: model.pt\n      hash: md5\n      md5: 92eb5ffee6ae2fec3ad71c777531578f\n      size: 1\n",
      'nested/.dvc/config': '',
      'nested/y.dvc': 'outs:\n- md5: 4a8a08f09d37b73795649038408b5f33\n  size: 1\n  hash: md5\n  path: y\n',
    });
    gitCli(dir, 'add', '-A');
    gitCli(dir, 'commit', '-qm', 'x');
    const h = new GitHistory(dir);
    const outs = await h.outputsAt(await h.resolveCommit('HEAD'));
    expect(outs.map((o) => [o.path, o.source])).toEqual([
      ['model.pt', 'dvc.lock'],
      ['sub/x.bin', 'sub/x.bin.dvc'],
    ]);
  });
});

describe('cpv diff before the first commit', () => {
  it('shows everything tracked in the workspace as added', async () => {
    const dir = gitRepo();
    materialise(dir, { 'm.bin': 'm', 'd/a': 'a' });
    await initRepo(dir);
    await addTargets(['m.bin', 'd'], { cwd: dir });
    const diff = await diffRevisions(undefined, undefined, { cwd: dir });
    expect(diff.added.map((e) => e.path)).toEqual(['d/', 'd/a', 'm.bin']);
    expect(renderDiffText(diff, false)).toBe(
      'Added:\n    d/\n    d/a\n    m.bin\n\nfiles summary: 2 added\n',
    );
  });
});
