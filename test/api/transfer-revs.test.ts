/**
 * push / fetch / status -c with `-a`, `-T`, `-A` (DVC's all-branches, all-tags, all-commits): the
 * data older revisions record is found in git history, without a checkout, and moved like the
 * workspace's; targets select in those revisions too; `push: false` is honoured there as well.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { cloudStatus } from '../../src/api/cloud-status.js';
import { fetch } from '../../src/api/fetch.js';
import { initRepo } from '../../src/api/init.js';
import { pull } from '../../src/api/pull.js';
import { push } from '../../src/api/push.js';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../../src/cli/output.js';
import { CpvError } from '../../src/errors.js';
import { gitCli, gitRepo, materialise, tempDir } from '../helpers/tmp.js';

/** The remote's object keys (`files/md5/xx/yyyy…`), sorted. */
function remoteKeys(remote: string): string[] {
  const keys: string[] = [];
  const visit = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) visit(abs);
      else keys.push(path.relative(remote, abs).split(path.sep).join('/'));
    }
  };
  if (fs.existsSync(remote)) visit(remote);
  return keys.sort();
}

const key = (md5: string) => `files/md5/${md5.slice(0, 2)}/${md5.slice(2)}`;
const md5Of = (dvcFile: string) =>
  /md5: ([0-9a-f]{32}(?:\.dir)?)/.exec(fs.readFileSync(dvcFile, 'utf8'))![1]!;

/** Overwrites a tracked (read-only) file. */
function rewrite(file: string, text: string): void {
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, text);
}

/**
 * A repo whose history holds three versions of `model.bin` and two of `data/`:
 * tag `v1` (model v1, data v1) ← `main` (model v2, data v2); branch `exp` (model v3) off `v1`.
 * The workspace is `main`; the local cache has every version.
 */
async function history() {
  const a = gitRepo();
  const remote = path.join(tempDir('cpv-remote-'), 'store');
  materialise(a, { 'model.bin': 'model v1', 'data/a.txt': 'alpha v1', 'data/b.txt': 'bravo' });
  await initRepo(a);
  fs.writeFileSync(
    path.join(a, '.dvc', 'config'),
    `[core]\n    remote = origin\n['remote "origin"']\n    url = ${remote}\n`,
  );
  const commit = async (message: string) => {
    await addTargets(['model.bin', 'data'], { cwd: a });
    gitCli(a, 'add', '-A');
    gitCli(a, 'commit', '-q', '-m', message);
    return { model: md5Of(path.join(a, 'model.bin.dvc')), data: md5Of(path.join(a, 'data.dvc')) };
  };
  const v1 = await commit('v1');
  gitCli(a, 'tag', 'v1');
  gitCli(a, 'checkout', '-q', '-b', 'exp');
  rewrite(path.join(a, 'model.bin'), 'model v3');
  const v3 = await commit('exp');
  gitCli(a, 'checkout', '-q', 'main');
  rewrite(path.join(a, 'model.bin'), 'model v2');
  rewrite(path.join(a, 'data/a.txt'), 'alpha v2');
  const v2 = await commit('v2');
  return { a, remote, v1, v2, v3 };
}

const fileMd5 = (text: string) => createHash('md5').update(text).digest('hex');

describe('push -a / -T / -A', () => {
  it('without a scope pushes the workspace only; -T adds the tagged version, -a the branch tips', async () => {
    const { a, remote, v1, v2, v3 } = await history();
    await push([], { cwd: a });
    const workspaceOnly = remoteKeys(remote);
    expect(workspaceOnly).toContain(key(v2.model));
    expect(workspaceOnly).not.toContain(key(v1.model));

    const tags = await push([], { cwd: a, allTags: true });
    // model v1, data v1's manifest and its changed file (alpha v1); bravo is shared with v2.
    expect(tags.pushed).toBe(3);
    expect(remoteKeys(remote)).toEqual(
      [...workspaceOnly, key(v1.model), key(v1.data), key(fileMd5('alpha v1'))].sort(),
    );
    expect(remoteKeys(remote)).not.toContain(key(v3.model));

    const branches = await push([], { cwd: a, allBranches: true });
    expect(branches.pushed).toBe(1); // model v3, the tip of exp
    expect(remoteKeys(remote)).toContain(key(v3.model));
    expect((await push([], { cwd: a, allCommits: true })).pushed).toBe(0);
  });

  it('targets select in every revision: a file inside a directory, or one .dvc file', async () => {
    const { a, remote, v1, v2 } = await history();
    await push(['data/a.txt'], { cwd: a, allCommits: true });
    expect(remoteKeys(remote)).toEqual([key(fileMd5('alpha v1')), key(fileMd5('alpha v2'))].sort());
    await push(['model.bin.dvc'], { cwd: a, allTags: true });
    expect(remoteKeys(remote)).toEqual(
      [key(fileMd5('alpha v1')), key(fileMd5('alpha v2')), key(v1.model), key(v2.model)].sort(),
    );
  });

  it('honours push: false in the revision that records it', async () => {
    const { a, remote, v1 } = await history();
    gitCli(a, 'checkout', '-q', 'v1');
    fs.appendFileSync(path.join(a, 'model.bin.dvc'), '  push: false\n');
    gitCli(a, 'commit', '-q', '-am', 'v1 model not pushed');
    gitCli(a, 'tag', '-f', 'v1');
    gitCli(a, 'checkout', '-q', 'main');
    await push([], { cwd: a, allTags: true });
    expect(remoteKeys(remote)).not.toContain(key(v1.model));
    expect(remoteKeys(remote)).toContain(key(v1.data));
  });

  it('names an old version missing from the local cache and fails; the rest is pushed', async () => {
    const { a, remote, v1, v2 } = await history();
    const cached = path.join(a, '.dvc/cache', key(v1.model));
    fs.chmodSync(cached, 0o644);
    fs.rmSync(cached);
    const err = await push([], { cwd: a, allTags: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CpvError);
    expect((err as CpvError).code).toBe('E_TRANSFER_INCOMPLETE');
    expect((err as CpvError).message).toContain('model.bin (not in the local cache (nor on the remote))');
    expect((err as { failed: Array<{ oid: string }> }).failed.map((f) => f.oid)).toEqual([v1.model]);
    expect(remoteKeys(remote)).toContain(key(v2.model));
    expect(remoteKeys(remote)).toContain(key(v1.data));
  });
});

describe('fetch / pull / status -c with revisions', () => {
  it('a fresh clone fetches every version with -A; without it only the workspace version', async () => {
    const { a, v1, v2, v3 } = await history();
    await push([], { cwd: a, allCommits: true });
    const b = path.join(tempDir('cpv-clone-'), 'b');
    gitCli(path.dirname(b), 'clone', '-q', a, b);
    gitCli(b, 'branch', '-q', 'exp', 'origin/exp'); // branches are local refs, as after a checkout
    const cache = (md5: string) => fs.existsSync(path.join(b, '.dvc/cache', key(md5)));

    await fetch([], { cwd: b });
    expect([cache(v2.model), cache(v1.model), cache(v3.model)]).toEqual([true, false, false]);
    const all = await fetch([], { cwd: b, allCommits: true });
    expect(all.fetched).toBe(4); // model v1 and v3, data v1's manifest and alpha v1
    expect([cache(v1.model), cache(v3.model), cache(v1.data), cache(fileMd5('alpha v1'))]).toEqual([
      true,
      true,
      true,
      true,
    ]);

    // pull -a fetches every branch's data but checks out the workspace's.
    const c = path.join(tempDir('cpv-clone-'), 'c');
    gitCli(path.dirname(c), 'clone', '-q', a, c);
    gitCli(c, 'branch', '-q', 'exp', 'origin/exp');
    await pull([], { cwd: c, allBranches: true });
    expect(fs.readFileSync(path.join(c, 'model.bin'), 'utf8')).toBe('model v2');
    expect(fs.existsSync(path.join(c, '.dvc/cache', key(v3.model)))).toBe(true);
  });

  it('status -c -T lists the tagged version as new until it is pushed', async () => {
    const { a, remote, v1 } = await history();
    await push([], { cwd: a });
    expect((await cloudStatus([], { cwd: a })).status).toEqual({});
    // model v1, data v1's manifest and its own file; the files v1 shares with v2 are in sync.
    const tagged = await cloudStatus([], { cwd: a, allTags: true });
    expect(tagged.status).toEqual({ 'model.bin': 'new', data: 'new', 'data/a.txt': 'new' });
    await push(['model.bin'], { cwd: a, allTags: true });
    expect(fs.existsSync(path.join(remote, key(v1.model)))).toBe(true);
    expect((await cloudStatus([], { cwd: a, allTags: true })).status).toEqual({
      data: 'new',
      'data/a.txt': 'new',
    });
  });

  it('refuses the revision flags in a repository without git', async () => {
    const dir = tempDir();
    materialise(dir, { foo: 'foo' });
    await initRepo(dir, { noScm: true });
    await addTargets(['foo'], { cwd: dir });
    fs.writeFileSync(
      path.join(dir, '.dvc', 'config'),
      `[core]\n    no_scm = True\n    remote = origin\n['remote "origin"']\n    url = ${tempDir()}\n`,
    );
    const err = await push([], { cwd: dir, allTags: true }).catch((e: unknown) => e);
    expect((err as CpvError).code).toBe('E_NOT_GIT');
  });
});

describe('the CLI flags', () => {
  async function cpv(cwd: string, ...args: string[]) {
    const output = captureOutput();
    const code = await main(['--cwd', cwd, ...args], output);
    return { code, stdout: output.stdout, stderr: output.stderr };
  }

  it('push -T, fetch -a, status -c -A pass the scopes; local status refuses them as DVC does', async () => {
    const { a, remote, v1 } = await history();
    expect((await cpv(a, 'push', '-T')).stdout).toBe('7 files pushed\n');
    expect(remoteKeys(remote)).toContain(key(v1.model));
    expect((await cpv(a, 'status', '-c', '-A')).stdout).toBe('\tnew:                model.bin\n');
    const refused = await cpv(a, 'status', '-a', '-j', '2');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'the following options are meaningless for local status: --all-branches, --jobs',
    );
  });
});
