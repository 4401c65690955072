/**
 * Local ref and remote operations of GitRepo, checked against the git CLI as a peer: deleting a
 * tag (loose or packed), pointing a remote at a URL (never storing credentials), and fast-forwarding
 * the checked-out branch with its work tree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitRepo } from '../../src/git/repo.js';
import { tempDir } from '../helpers/tmp.js';
import { fsckClean, g, IDENTITY } from './peer.js';

async function repoWithCommit(): Promise<GitRepo> {
  const repo = await GitRepo.init(tempDir('cpv-refs-'), { defaultBranch: 'main' });
  fs.writeFileSync(path.join(repo.dir, 'a.txt'), 'a\n');
  await repo.commit({ message: 'one', author: IDENTITY, paths: ['a.txt'] });
  return repo;
}

describe('GitRepo ref and remote operations', () => {
  it('deletes a loose tag and a packed one; a missing tag is E_BAD_REV', async () => {
    const repo = await repoWithCommit();
    await repo.tag({ name: 'v1', message: 'first', tagger: IDENTITY });
    await repo.tag({ name: 'v2', message: 'second', tagger: IDENTITY });
    g(repo.dir, 'pack-refs', '--all');
    await repo.tag({ name: 'v3', message: 'third', tagger: IDENTITY }); // loose
    await repo.deleteTag('v1');
    await repo.deleteTag('v3');
    expect(g(repo.dir, 'tag', '-l').trim()).toBe('v2');
    expect(fs.readFileSync(path.join(repo.dir, '.git', 'packed-refs'), 'utf8')).not.toContain('refs/tags/v1');
    await expect(repo.deleteTag('v1')).rejects.toMatchObject({ code: 'E_BAD_REV' });
    expect(fs.readdirSync(path.join(repo.dir, '.git')).filter((f) => f.endsWith('.lock'))).toEqual([]);
    fsckClean(repo.dir);
  });

  it('points a remote at a URL, creating it with the default refspec, and never stores credentials', async () => {
    const repo = await repoWithCommit();
    expect(await repo.remoteUrl('origin')).toBeUndefined();
    await repo.setRemote('origin', 'https://bob:hunter2@example.com/team/model.git');
    expect(await repo.remoteUrl('origin')).toBe('https://example.com/team/model.git');
    expect(g(repo.dir, 'config', 'remote.origin.fetch').trim()).toBe('+refs/heads/*:refs/remotes/origin/*');
    await repo.setRemote('origin', 'git@example.com:team/model.git');
    expect(g(repo.dir, 'remote', 'get-url', 'origin').trim()).toBe('git@example.com:team/model.git');
    expect(fs.readFileSync(path.join(repo.dir, '.git', 'config'), 'utf8')).not.toContain('hunter2');
  });

  it('fast-forwards the branch and its work tree; says up-to-date or diverged and then changes nothing', async () => {
    const repo = await repoWithCommit();
    const base = await repo.resolve('HEAD');
    // Someone else's commit on top, as a remote-tracking branch (what a fetch leaves).
    g(repo.dir, 'branch', 'ahead');
    g(repo.dir, 'checkout', '-q', 'ahead');
    fs.writeFileSync(path.join(repo.dir, 'b.txt'), 'b\n');
    g(repo.dir, 'add', 'b.txt');
    g(repo.dir, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '-m', 'two');
    const ahead = g(repo.dir, 'rev-parse', 'HEAD').trim();
    g(repo.dir, 'update-ref', 'refs/remotes/origin/main', ahead);
    g(repo.dir, 'checkout', '-q', 'main');
    expect(fs.existsSync(path.join(repo.dir, 'b.txt'))).toBe(false);

    expect(await repo.fastForward('main', 'refs/remotes/origin/main')).toBe('fast-forward');
    expect(g(repo.dir, 'rev-parse', 'main').trim()).toBe(ahead);
    expect(fs.readFileSync(path.join(repo.dir, 'b.txt'), 'utf8')).toBe('b\n');
    expect(g(repo.dir, 'status', '--porcelain')).toBe('');
    expect(await repo.fastForward('main', 'refs/remotes/origin/main')).toBe('up-to-date');

    // Diverged: a local commit the other side lacks, and theirs that we lack.
    fs.writeFileSync(path.join(repo.dir, 'c.txt'), 'c\n');
    const mine = await repo.commit({ message: 'mine', author: IDENTITY, paths: ['c.txt'] });
    g(repo.dir, 'update-ref', 'refs/remotes/origin/main', base);
    g(repo.dir, 'update-ref', 'refs/heads/other', base);
    expect(await repo.fastForward('main', 'refs/remotes/origin/main')).toBe('up-to-date'); // base is contained
    g(repo.dir, 'checkout', '-q', 'other');
    fs.writeFileSync(path.join(repo.dir, 'd.txt'), 'd\n');
    g(repo.dir, 'add', 'd.txt');
    g(repo.dir, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '-m', 'theirs');
    const theirs = g(repo.dir, 'rev-parse', 'HEAD').trim();
    g(repo.dir, 'checkout', '-q', 'main');
    g(repo.dir, 'update-ref', 'refs/remotes/origin/main', theirs);
    expect(await repo.fastForward('main', 'refs/remotes/origin/main')).toBe('diverged');
    expect(g(repo.dir, 'rev-parse', 'main').trim()).toBe(mine);
    expect(fs.existsSync(path.join(repo.dir, 'd.txt'))).toBe(false);
    fsckClean(repo.dir);
  });
});
