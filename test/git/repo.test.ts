/**
 * GitRepo against the git CLI: what cpv writes, git reads exactly (same object ids as git for the
 * same content, identity and date; fsck clean); what git writes, cpv reads exactly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpvError } from '../../src/errors.js';
import { GitRepo } from '../../src/git/repo.js';
import { tempDir } from '../helpers/tmp.js';
import { fsckClean, g, git, IDENTITY, WHEN } from './peer.js';

const who = { ...IDENTITY, ...WHEN };

function write(root: string, rel: string, content: string, mode?: number): void {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  if (mode !== undefined) fs.chmodSync(p, mode);
}

async function cpvRepo(): Promise<GitRepo> {
  const dir = path.join(tempDir(), 'work');
  return GitRepo.init(dir);
}

/** A CLI-made repo: three commits, a lightweight and two annotated tags, some packed. */
function cliRepo(): string {
  const dir = tempDir();
  g(dir, 'init', '-q', '-b', 'main');
  write(dir, 'a.txt', 'one\n');
  write(dir, 'data/model.dvc', 'outs:\n- md5: 1\n');
  g(dir, 'add', '.');
  g(dir, 'commit', '-q', '-m', 'first');
  g(dir, 'tag', '-a', 'v1', '-m', 'release one\n\nwith body');
  write(dir, 'a.txt', 'two\n');
  write(dir, 'bin/run.sh', '#!/bin/sh\n', 0o755);
  fs.symlinkSync('a.txt', path.join(dir, 'link'));
  g(dir, 'add', '.');
  g(dir, 'commit', '-q', '-m', 'second');
  g(dir, 'tag', 'light');
  g(dir, 'pack-refs', '--all');
  write(dir, 'data/model.dvc', 'outs:\n- md5: 3\n');
  g(dir, 'commit', '-q', '-am', 'third');
  g(dir, 'tag', '-a', 'exp/run-3', '-m', 'nested name');
  return dir;
}

describe('GitRepo writes what git reads', () => {
  it('init makes a repository git accepts, on branch main', async () => {
    const repo = await cpvRepo();
    expect(g(repo.dir, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/main');
    expect(g(repo.dir, 'status', '--porcelain')).toBe('');
    fsckClean(repo.dir);
    expect(await repo.log()).toEqual([]);
    expect(await repo.currentBranch()).toBe('main');
    // the same core settings as git init (isomorphic-git's own init would turn filemode and symlinks off)
    const twin = tempDir();
    g(twin, 'init', '-q', '-b', 'main');
    expect(g(repo.dir, 'config', '--local', '--list')).toBe(g(twin, 'config', '--local', '--list'));
  });

  it('init leaves an existing repository alone', async () => {
    const dir = cliRepo();
    const head = g(dir, 'rev-parse', 'HEAD');
    const repo = await GitRepo.init(dir);
    expect(g(dir, 'rev-parse', 'HEAD')).toBe(head);
    expect(await repo.resolve('HEAD')).toBe(head.trim());
  });

  it('stages and commits exactly the objects git would write', async () => {
    const repo = await cpvRepo();
    const twin = tempDir();
    g(twin, 'init', '-q', '-b', 'main');
    for (const root of [repo.dir, twin]) {
      write(root, 'model.dvc', 'outs:\n- md5: abc\n  path: model\n');
      write(root, 'sub/dir/run.sh', '#!/bin/sh\necho hi\n', 0o755);
      write(root, '.gitignore', '/model\n');
    }
    await repo.stage(['model.dvc', 'sub', '.gitignore']);
    g(twin, 'add', 'model.dvc', 'sub', '.gitignore');
    expect(g(repo.dir, 'ls-files', '-s')).toBe(g(twin, 'ls-files', '-s'));
    expect(g(repo.dir, 'status', '--porcelain')).toBe(g(twin, 'status', '--porcelain'));

    const oid = await repo.commit({
      message: 'Track model  \n\n\n body line\n\n',
      author: who,
      committer: who,
    });
    g(twin, 'commit', '-q', '-m', 'Track model  \n\n\n body line\n\n');
    expect(oid).toBe(g(twin, 'rev-parse', 'HEAD').trim());
    expect(g(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(oid);
    expect(g(repo.dir, 'status', '--porcelain')).toBe('');
    fsckClean(repo.dir);

    // a second commit on top: parent and tree agree with git's
    write(repo.dir, 'model.dvc', 'outs:\n- md5: def\n  path: model\n');
    write(twin, 'model.dvc', 'outs:\n- md5: def\n  path: model\n');
    await repo.stage(['model.dvc']);
    g(twin, 'add', 'model.dvc');
    const second = await repo.commit({ message: 'v2', author: who, committer: who });
    g(twin, 'commit', '-q', '-m', 'v2');
    expect(second).toBe(g(twin, 'rev-parse', 'HEAD').trim());
    expect(g(repo.dir, 'log', '--format=%H %P %s').trim().split('\n')).toEqual([
      `${second} ${oid} v2`,
      `${oid}  Track model`,
    ]);
    // reflogs as git writes them
    for (const ref of ['HEAD', 'main']) {
      expect(g(repo.dir, 'log', '-g', '--format=%H %gs %gn', ref)).toBe(
        g(twin, 'log', '-g', '--format=%H %gs %gn', ref),
      );
    }
    expect(g(repo.dir, 'rev-parse', 'HEAD@{1}').trim()).toBe(oid);
    fsckClean(repo.dir);
  });

  it('refuses an empty commit unless allowed, and a blank message', async () => {
    const repo = await cpvRepo();
    write(repo.dir, 'f', 'x');
    await repo.stage(['f']);
    await repo.commit({ message: 'one', author: who, committer: who });
    await expect(repo.commit({ message: 'again', author: who, committer: who })).rejects.toMatchObject({
      code: 'E_GIT',
    });
    await expect(repo.commit({ message: ' \n ', author: who, committer: who })).rejects.toMatchObject({
      code: 'E_USAGE',
    });
    const empty = await repo.commit({ message: 'empty', author: who, committer: who, allowEmpty: true });
    expect(g(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(empty);
  });

  it('stages deletions, unstages back to HEAD, and rejects unknown paths', async () => {
    const repo = await cpvRepo();
    write(repo.dir, 'keep', '1');
    write(repo.dir, 'gone', '2');
    await repo.stage(['keep', 'gone']);
    await repo.commit({ message: 'base', author: who, committer: who });
    fs.rmSync(path.join(repo.dir, 'gone'));
    write(repo.dir, 'keep', 'changed');
    write(repo.dir, 'new', 'n');
    await repo.stage(['gone', 'keep', 'new']);
    expect(g(repo.dir, 'status', '--porcelain')).toBe('D  gone\nM  keep\nA  new\n');
    await repo.unstage(['gone', 'keep', 'new']);
    expect(g(repo.dir, 'status', '--porcelain')).toBe(' D gone\n M keep\n?? new\n');
    await expect(repo.stage(['nowhere'])).rejects.toMatchObject({ code: 'E_TARGET_MISSING' });
    await expect(repo.stage(['../outside'])).rejects.toMatchObject({ code: 'E_TARGET_OUTSIDE' });
    expect(g(repo.dir, 'status', '--porcelain')).toBe(' D gone\n M keep\n?? new\n');
  });

  it('unstages on an unborn branch (nothing committed yet)', async () => {
    const repo = await cpvRepo();
    write(repo.dir, 'a', '1');
    await repo.stage(['a']);
    await repo.unstage(['a']);
    expect(g(repo.dir, 'status', '--porcelain')).toBe('?? a\n');
  });

  it('writes annotated tags identical to git tag -a, and refuses an existing one unless forced', async () => {
    const repo = await cpvRepo();
    const twin = tempDir();
    g(twin, 'init', '-q', '-b', 'main');
    for (const root of [repo.dir, twin]) write(root, 'f', 'content\n');
    await repo.stage(['f']);
    g(twin, 'add', 'f');
    await repo.commit({ message: 'c', author: who, committer: who });
    g(twin, 'commit', '-q', '-m', 'c');

    const t = await repo.tag({ name: 'v1.0', message: 'First release\n\nnotes', tagger: who });
    g(twin, 'tag', '-a', 'v1.0', '-m', 'First release\n\nnotes');
    expect(t.oid).toBe(g(twin, 'rev-parse', 'v1.0').trim());
    expect(g(repo.dir, 'cat-file', '-t', 'v1.0').trim()).toBe('tag');
    expect(g(repo.dir, 'rev-parse', 'v1.0^{}').trim()).toBe(g(repo.dir, 'rev-parse', 'HEAD').trim());
    expect(g(repo.dir, 'tag', '-l', '-n9')).toBe(g(twin, 'tag', '-l', '-n9'));

    await expect(repo.tag({ name: 'v1.0', message: 'again', tagger: who })).rejects.toMatchObject({
      code: 'E_TAG_EXISTS',
    });
    expect(g(repo.dir, 'rev-parse', 'v1.0').trim()).toBe(t.oid);
    write(repo.dir, 'f', 'more\n');
    await repo.stage(['f']);
    const head2 = await repo.commit({ message: 'c2', author: who, committer: who });
    const moved = await repo.tag({ name: 'v1.0', message: 'moved', tagger: who, force: true });
    expect(moved.replaced).toBe(t.oid);
    expect(g(repo.dir, 'rev-parse', 'v1.0^{}').trim()).toBe(head2);
    // a tag of an older revision, and a nested name
    const old = await repo.tag({ name: 'exp/first', message: 'old one', rev: 'HEAD~1', tagger: who });
    expect(g(repo.dir, 'rev-parse', 'exp/first^{commit}').trim()).toBe(
      g(repo.dir, 'rev-parse', 'HEAD~1').trim(),
    );
    expect(old.target).toBe(g(repo.dir, 'rev-parse', 'HEAD~1').trim());
    await expect(repo.tag({ name: 'exp', message: 'clash', tagger: who })).rejects.toMatchObject({
      code: 'E_BAD_REF_NAME',
    });
    await expect(repo.tag({ name: 'exp/first/deeper', message: 'clash', tagger: who })).rejects.toMatchObject(
      {
        code: 'E_BAD_REF_NAME',
      },
    );
    await expect(repo.tag({ name: 'empty', message: '\n', tagger: who })).rejects.toMatchObject({
      code: 'E_USAGE',
    });
    expect(g(repo.dir, 'tag', '-l').trim().split('\n')).toEqual(['exp/first', 'v1.0']);
    fsckClean(repo.dir);
  });
});

describe('identity', () => {
  it('comes from the option, then GIT_* env, then the repo config, then the global config', async () => {
    const repo = await cpvRepo();
    const globalFile = path.join(tempDir(), 'gitconfig');
    fs.writeFileSync(globalFile, '[user]\n\tname = Global Person\n\temail = global@example.com\n');
    const base = { HOME: '/nonexistent', GIT_CONFIG_GLOBAL: globalFile };
    write(repo.dir, 'f', '1');
    await repo.stage(['f']);
    const authorOf = () => g(repo.dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>').trim();

    await repo.commit({ message: '1', env: base, allowEmpty: true });
    expect(authorOf()).toBe('Global Person <global@example.com>|Global Person <global@example.com>');

    g(repo.dir, 'config', 'user.name', 'Repo Person');
    g(repo.dir, 'config', 'user.email', 'repo@example.com');
    await repo.commit({ message: '2', env: base, allowEmpty: true });
    expect(authorOf()).toBe('Repo Person <repo@example.com>|Repo Person <repo@example.com>');

    await repo.commit({
      message: '3',
      env: { ...base, GIT_AUTHOR_NAME: 'Env Author', GIT_AUTHOR_EMAIL: 'env@example.com' },
      allowEmpty: true,
    });
    expect(authorOf()).toBe('Env Author <env@example.com>|Repo Person <repo@example.com>');

    await repo.commit({
      message: '4',
      env: base,
      author: { name: 'Given', email: 'given@example.com' },
      allowEmpty: true,
    });
    expect(authorOf()).toBe('Given <given@example.com>|Repo Person <repo@example.com>');
    expect(g(repo.dir, 'log', '-1', '--format=%ad', '--date=raw').trim()).toMatch(/^\d{10} [+-]\d{4}$/);

    await repo.commit({
      message: '5',
      env: { ...base, GIT_AUTHOR_DATE: '1700000000 -0230', GIT_COMMITTER_DATE: '@1700000001 +0545' },
      allowEmpty: true,
    });
    expect(g(repo.dir, 'log', '-1', '--format=%ad|%cd', '--date=raw').trim()).toBe(
      '1700000000 -0230|1700000001 +0545',
    );
    fsckClean(repo.dir);
  });

  it('fails clearly when no identity is set anywhere, writing nothing', async () => {
    const repo = await cpvRepo();
    write(repo.dir, 'f', '1');
    await repo.stage(['f']);
    const env = { HOME: '/nonexistent', GIT_CONFIG_GLOBAL: '/dev/null' };
    const err = await repo.commit({ message: 'x', env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CpvError);
    expect(err).toMatchObject({ code: 'E_NO_IDENTITY' });
    expect((err as CpvError).hint).toMatch(/GIT_AUTHOR_NAME/);
    await expect(repo.tag({ name: 't', message: 'm', env, rev: 'HEAD' })).rejects.toMatchObject({
      code: 'E_NO_IDENTITY',
    });
    expect(fs.readdirSync(path.join(repo.gitdir, 'refs', 'heads'))).toEqual([]);
  });
});

describe('GitRepo reads what git writes', () => {
  it('resolves and peels revisions like git rev-parse', async () => {
    const dir = cliRepo();
    const repo = GitRepo.open(path.join(dir, 'data'));
    expect(repo.dir).toBe(dir);
    const revs = [
      'HEAD',
      'main',
      'HEAD~1',
      'HEAD~2',
      'HEAD^',
      'v1',
      'v1^{}',
      'v1^{commit}',
      'v1^{tree}',
      'light',
      'refs/tags/exp/run-3',
      'exp/run-3~1',
      'HEAD^{tree}',
      'main^0',
    ];
    for (const rev of revs) {
      expect(await repo.resolve(rev), rev).toBe(g(dir, 'rev-parse', rev).trim());
    }
    const head = g(dir, 'rev-parse', 'HEAD').trim();
    expect(await repo.resolve(head.slice(0, 7))).toBe(head);
    expect(await repo.resolveCommit('v1')).toBe(g(dir, 'rev-parse', 'v1^{commit}').trim());
    expect(await repo.peel(g(dir, 'rev-parse', 'v1').trim(), 'tree')).toBe(
      g(dir, 'rev-parse', 'v1^{tree}').trim(),
    );
    for (const bad of [
      'nope',
      'HEAD~3',
      'HEAD^2',
      'v1^{blob}',
      '0123456789012345678901234567890123456789',
      '',
    ]) {
      await expect(repo.resolve(bad), bad).rejects.toMatchObject({ code: 'E_BAD_REV' });
    }
  });

  it('lists tags (loose and packed, annotated and lightweight) like git', async () => {
    const dir = cliRepo();
    const repo = GitRepo.open(dir);
    const tags = await repo.listTags();
    expect(tags.map((t) => t.name)).toEqual(g(dir, 'tag', '-l').trim().split('\n'));
    for (const t of tags) {
      expect(t.oid).toBe(g(dir, 'rev-parse', `refs/tags/${t.name}`).trim());
      expect(t.target).toBe(g(dir, 'rev-parse', `${t.name}^{}`).trim());
      expect(t.annotated).toBe(g(dir, 'cat-file', '-t', t.name).trim() === 'tag');
    }
    expect(tags.find((t) => t.name === 'v1')?.message).toBe('release one\n\nwith body\n');
    expect(tags.find((t) => t.name === 'v1')?.tagger?.email).toBe(IDENTITY.email);
    await expect(repo.readTag('v9')).rejects.toMatchObject({ code: 'E_BAD_REV' });
    // a writer's lock file or temp file caught mid-write is not a tag or a branch
    fs.writeFileSync(path.join(dir, '.git/refs/tags/v2.lock'), '');
    fs.writeFileSync(path.join(dir, '.git/refs/tags/.v2.tmp-0a1b'), '');
    fs.writeFileSync(path.join(dir, '.git/refs/heads/main.lock'), '');
    expect(await repo.tagNames()).toEqual(g(dir, 'tag', '-l').trim().split('\n'));
    expect((await repo.listTags()).map((t) => t.name)).toEqual(await repo.tagNames());
    expect(await repo.branchNames()).toEqual(['main']);
  });

  it('walks the log like git log', async () => {
    const dir = cliRepo();
    const repo = GitRepo.open(dir);
    const ours = await repo.log();
    expect(ours.map((c) => c.oid)).toEqual(g(dir, 'log', '--format=%H').trim().split('\n'));
    expect(ours[0]?.message).toBe('third\n');
    expect(ours[0]?.author).toEqual({ ...IDENTITY, ...WHEN });
    expect((await repo.log({ rev: 'v1' })).map((c) => c.oid)).toEqual(
      g(dir, 'log', '--format=%H', 'v1').trim().split('\n'),
    );
    expect((await repo.log({ depth: 1 })).length).toBe(1);
    expect((await repo.log({ path: 'data/model.dvc' })).map((c) => c.oid)).toEqual(
      g(dir, 'log', '--format=%H', '--', 'data/model.dvc').trim().split('\n'),
    );
    await expect(repo.log({ rev: 'missing' })).rejects.toMatchObject({ code: 'E_BAD_REV' });
  });

  it('reads files and trees at any revision, also from packfiles', async () => {
    const dir = cliRepo();
    g(dir, 'gc', '-q');
    expect(fs.readdirSync(path.join(dir, '.git', 'objects', 'pack')).some((f) => f.endsWith('.pack'))).toBe(
      true,
    );
    const repo = GitRepo.open(dir);
    for (const rev of ['v1', 'HEAD~1', 'HEAD', 'light']) {
      for (const file of ['a.txt', 'data/model.dvc']) {
        const want = git(dir, ['show', `${rev}:${file}`]).stdout;
        expect(Buffer.from(await repo.readFile(rev, file)).toString(), `${rev}:${file}`).toBe(want);
      }
      const tree = await repo.readTree(rev, '', { recursive: true });
      const lsTree = g(dir, 'ls-tree', '-r', rev).trim().split('\n');
      expect(tree.map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.path}`)).toEqual(lsTree);
    }
    expect((await repo.readTree('HEAD', 'data')).map((e) => e.path)).toEqual(['data/model.dvc']);
    expect(Buffer.from(await repo.readFile('HEAD', 'link')).toString()).toBe('a.txt');
    await expect(repo.readFile('v1', 'bin/run.sh')).rejects.toMatchObject({ code: 'E_BAD_REV' });
    await expect(repo.readFile('HEAD', 'data')).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(repo.readFile('nope', 'a.txt')).rejects.toMatchObject({ code: 'E_BAD_REV' });
    await expect(repo.readTree('HEAD', 'nope')).rejects.toMatchObject({ code: 'E_BAD_REV' });
  });

  it('reports the status of the given paths like git status', async () => {
    const dir = cliRepo();
    const repo = GitRepo.open(dir);
    write(dir, 'a.txt', 'worktree change\n'); //  M
    write(dir, 'data/model.dvc', 'staged\n');
    g(dir, 'add', 'data/model.dvc'); // M
    write(dir, 'data/new.dvc', 'new\n');
    g(dir, 'add', 'data/new.dvc'); // A
    write(dir, 'data/new.dvc', 'new and changed\n'); // AM
    fs.rmSync(path.join(dir, 'bin/run.sh')); //  D
    write(dir, 'untracked.txt', 'u'); // ??
    const st = await repo.status(['a.txt', 'data', 'bin', 'untracked.txt', 'link']);
    const letters = { added: 'A', modified: 'M', deleted: 'D', untracked: '?' } as const;
    const ours = st
      .filter((s) => s.staged || s.unstaged)
      .map((s) =>
        s.unstaged === 'untracked'
          ? `?? ${s.path}`
          : `${s.staged ? letters[s.staged] : ' '}${s.unstaged ? letters[s.unstaged] : ' '} ${s.path}`,
      )
      .sort();
    expect(ours).toEqual(g(dir, 'status', '--porcelain').trimEnd().split('\n').sort());
    expect(st.find((s) => s.path === 'link')).toEqual({ path: 'link', staged: null, unstaged: null });
  });

  it('checks out given paths at a revision into the work tree and the index', async () => {
    const dir = cliRepo();
    const repo = GitRepo.open(dir);
    write(dir, 'a.txt', 'local edit\n');
    write(dir, 'data/extra', 'not in any commit\n');
    const written = await repo.checkout('v1', ['a.txt', 'data']);
    expect(written.sort()).toEqual(['a.txt', 'data/model.dvc']);
    expect(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(fs.readFileSync(path.join(dir, 'data/model.dvc'), 'utf8')).toBe('outs:\n- md5: 1\n');
    expect(fs.readFileSync(path.join(dir, 'data/extra'), 'utf8')).toBe('not in any commit\n'); // left alone
    expect(g(dir, 'status', '--porcelain').trimEnd().split('\n').sort()).toEqual([
      '?? data/extra',
      'M  a.txt',
      'M  data/model.dvc',
    ]);
    // back to HEAD: executable bit and symlink restored
    fs.chmodSync(path.join(dir, 'bin/run.sh'), 0o644);
    fs.rmSync(path.join(dir, 'link'));
    await repo.checkout('HEAD', ['a.txt', 'data/model.dvc', 'bin', 'link']);
    expect(fs.statSync(path.join(dir, 'bin/run.sh')).mode & 0o111).not.toBe(0);
    expect(fs.readlinkSync(path.join(dir, 'link'))).toBe('a.txt');
    expect(g(dir, 'status', '--porcelain')).toBe('?? data/extra\n');
    // a path missing at the revision fails before anything is written
    write(dir, 'a.txt', 'edit again\n');
    await expect(repo.checkout('v1', ['a.txt', 'bin/run.sh'])).rejects.toMatchObject({ code: 'E_BAD_REV' });
    expect(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe('edit again\n');
  });
});
