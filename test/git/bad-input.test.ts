/** Bad input and damaged repositories: one clear error with a stable code, nothing half-written. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpvError } from '../../src/errors.js';
import { GitRepo } from '../../src/git/repo.js';
import { tempDir } from '../helpers/tmp.js';
import { g, IDENTITY } from './peer.js';

const author = IDENTITY;

async function repoWithHistory(): Promise<GitRepo> {
  const repo = await GitRepo.init(path.join(tempDir(), 'r'));
  fs.writeFileSync(path.join(repo.dir, 'model.dvc'), 'outs: 1\n');
  await repo.commit({ message: 'one', author, paths: ['model.dvc'] });
  await repo.tag({ name: 'v1', message: 'first', tagger: author });
  return repo;
}

function looseObjectPath(repo: GitRepo, oid: string): string {
  return path.join(repo.gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
}

function refsSnapshot(repo: GitRepo): string {
  return g(repo.dir, 'for-each-ref', '--format=%(refname) %(objectname)');
}

describe('bad input', () => {
  it('refuses invalid tag names before writing anything', async () => {
    const repo = await repoWithHistory();
    const before = refsSnapshot(repo);
    for (const name of [
      'a..b',
      'has space',
      'x.lock',
      '.hidden',
      'a/',
      'tilde~1',
      'q?',
      'colon:',
      '-dash',
      'at@{x',
      '',
      'back\\slash',
    ]) {
      const err = await repo.tag({ name, message: 'm', tagger: author }).catch((e: unknown) => e);
      expect(err, JSON.stringify(name)).toBeInstanceOf(CpvError);
      expect(err).toMatchObject({ code: 'E_BAD_REF_NAME' });
      expect((err as CpvError).hint).toBeTruthy();
    }
    expect(refsSnapshot(repo)).toBe(before);
    expect(fs.readdirSync(path.join(repo.gitdir, 'refs', 'tags'))).toEqual(['v1']);
  });

  it('refuses an existing tag without force, naming it', async () => {
    const repo = await repoWithHistory();
    const before = refsSnapshot(repo);
    const err = await repo.tag({ name: 'v1', message: 'again', tagger: author }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_TAG_EXISTS', message: "tag 'v1' already exists" });
    expect(refsSnapshot(repo)).toBe(before);
  });

  it('names a missing revision or path', async () => {
    const repo = await repoWithHistory();
    await expect(repo.resolve('v2')).rejects.toThrow("unknown revision 'v2'");
    await expect(
      repo.tag({ name: 'v2', message: 'm', rev: 'nowhere', tagger: author }),
    ).rejects.toMatchObject({ code: 'E_BAD_REV' });
    await expect(repo.checkout('nowhere', ['model.dvc'])).rejects.toMatchObject({ code: 'E_BAD_REV' });
    await expect(repo.readFile('v1', 'missing.dvc')).rejects.toThrow(
      "path 'missing.dvc' does not exist in 'v1'",
    );
    await expect(repo.log({ rev: 'HEAD~5' })).rejects.toMatchObject({ code: 'E_BAD_REV' });
  });

  it('reports a corrupted loose object as E_GIT_CORRUPT', async () => {
    const repo = await repoWithHistory();
    const blob = g(repo.dir, 'rev-parse', 'HEAD:model.dvc').trim();
    const file = looseObjectPath(repo, blob);
    fs.chmodSync(file, 0o644);
    const bytes = fs.readFileSync(file);
    bytes.fill(0x41, 2); // keep the zlib header, garble the rest
    fs.writeFileSync(file, bytes);
    const err = await repo.readFile('HEAD', 'model.dvc').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CpvError);
    expect(err).toMatchObject({ code: 'E_GIT_CORRUPT' });
    expect((err as CpvError).hint).toMatch(/fsck/);
  });

  it('reports an object whose content does not match its id as E_GIT_CORRUPT', async () => {
    const repo = await repoWithHistory();
    const commit = g(repo.dir, 'rev-parse', 'HEAD').trim();
    const other = g(repo.dir, 'rev-parse', 'HEAD^{tree}').trim();
    const file = looseObjectPath(repo, commit);
    fs.chmodSync(file, 0o644);
    fs.copyFileSync(looseObjectPath(repo, other), file); // valid zlib, wrong content
    const err = await repo.log().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_GIT_CORRUPT' });
  });

  it('reports a missing object as E_GIT_CORRUPT when a ref points at it', async () => {
    const repo = await repoWithHistory();
    const blob = g(repo.dir, 'rev-parse', 'HEAD:model.dvc').trim();
    fs.rmSync(looseObjectPath(repo, blob));
    const err = await repo.readFile('HEAD', 'model.dvc').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_GIT_CORRUPT' });
    expect((err as Error).message).toContain(blob);
    // a ref to a missing commit is damage too, while a made-up id is just a bad revision
    const commit = g(repo.dir, 'rev-parse', 'HEAD').trim();
    fs.rmSync(looseObjectPath(repo, commit));
    await expect(repo.resolve('HEAD')).rejects.toMatchObject({ code: 'E_GIT_CORRUPT' });
    await expect(repo.resolve('v1^{commit}')).rejects.toMatchObject({ code: 'E_GIT_CORRUPT' });
    await expect(repo.resolve('1111111111111111111111111111111111111111')).rejects.toMatchObject({
      code: 'E_BAD_REV',
    });
  });

  it('reports a damaged index as E_GIT_CORRUPT', async () => {
    const repo = await repoWithHistory();
    const index = path.join(repo.gitdir, 'index');
    const bytes = fs.readFileSync(index);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff; // break the trailing checksum
    fs.writeFileSync(index, bytes);
    fs.writeFileSync(path.join(repo.dir, 'new'), 'n');
    await expect(repo.stage(['new'])).rejects.toMatchObject({ code: 'E_GIT_CORRUPT' });
    await expect(repo.unstage(['model.dvc'])).rejects.toMatchObject({ code: 'E_GIT_CORRUPT' });
    await expect(repo.status(['model.dvc'])).rejects.toMatchObject({ code: 'E_GIT_CORRUPT' });
    await expect(repo.commit({ message: 'x', author, allowEmpty: true })).rejects.toMatchObject({
      code: 'E_GIT_CORRUPT',
    });
    await expect(repo.checkout('HEAD', ['model.dvc'])).rejects.toMatchObject({ code: 'E_GIT_CORRUPT' });
  });

  it('reports a truncated packfile as E_GIT_CORRUPT', async () => {
    const repo = await repoWithHistory();
    g(repo.dir, 'gc', '-q');
    const packDir = path.join(repo.gitdir, 'objects', 'pack');
    const pack = fs.readdirSync(packDir).find((f) => f.endsWith('.pack'))!;
    const packFile = path.join(packDir, pack);
    fs.chmodSync(packFile, 0o644);
    const bytes = fs.readFileSync(packFile);
    fs.writeFileSync(packFile, bytes.subarray(0, bytes.length - 40));
    const fresh = GitRepo.open(repo.dir);
    const err = await fresh.readFile('v1', 'model.dvc').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_GIT_CORRUPT' });
  });

  it('says so when the directory is not a git repository', () => {
    expect(() => GitRepo.open(tempDir())).toThrowError(expect.objectContaining({ code: 'E_NOT_GIT' }));
  });
});
