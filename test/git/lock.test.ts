/**
 * The write lock against the git CLI's lock files and against other cpv writers: waits, times
 * out naming the lock, never deletes a live lock, and recovers stale ones.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GitRepo } from '../../src/git/repo.js';
import { tempDir } from '../helpers/tmp.js';
import { fsckClean, g, git, IDENTITY } from './peer.js';

const author = IDENTITY;

async function repoWithCommit(lock = {}): Promise<GitRepo> {
  const repo = await GitRepo.init(path.join(tempDir(), 'w'), { lock });
  fs.writeFileSync(path.join(repo.dir, 'base'), 'base\n');
  await repo.commit({ message: 'base', author, paths: ['base'] });
  return repo;
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

const lockFiles = (repo: GitRepo) => fs.readdirSync(repo.gitdir).filter((f) => f.includes('lock'));

describe('git write lock', () => {
  it('serialises concurrent writers in one process: every commit lands, history stays linear', async () => {
    const repo = await repoWithCommit();
    const files = Array.from({ length: 8 }, (_, i) => `f${i}`);
    for (const f of files) fs.writeFileSync(path.join(repo.dir, f), f);
    const oids = await Promise.all(
      files.map((f) =>
        repo.commit({ message: `add ${f}`, author, paths: [f] }).then(async (oid) => {
          await repo.tag({ name: `t-${f}`, message: f, tagger: author, rev: oid });
          return oid;
        }),
      ),
    );
    expect(new Set(oids).size).toBe(8);
    expect(Number(g(repo.dir, 'rev-list', '--count', 'HEAD'))).toBe(9);
    expect(g(repo.dir, 'tag', '-l').trim().split('\n')).toHaveLength(8);
    expect(g(repo.dir, 'status', '--porcelain')).toBe('');
    expect(lockFiles(repo)).toEqual([]);
    fsckClean(repo.dir);
  });

  it("waits for git's index.lock, and commits once git lets go", async () => {
    const repo = await repoWithCommit({ timeoutMs: 5000 });
    const gitsLock = path.join(repo.gitdir, 'index.lock');
    fs.writeFileSync(gitsLock, '');
    fs.writeFileSync(path.join(repo.dir, 'x'), 'x');
    let done = false;
    const pending = repo.commit({ message: 'x', author, paths: ['x'] }).then((oid) => {
      done = true;
      return oid;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    expect(g(repo.dir, 'rev-list', '--count', 'HEAD').trim()).toBe('1');
    fs.rmSync(gitsLock);
    const oid = await pending;
    expect(g(repo.dir, 'rev-parse', 'HEAD').trim()).toBe(oid);
    fsckClean(repo.dir);
  });

  it('times out with E_GIT_LOCKED naming the lock, leaving the lock and the repo as they were', async () => {
    const repo = await repoWithCommit({ timeoutMs: 200 });
    const head = g(repo.dir, 'rev-parse', 'HEAD');
    const refLock = path.join(repo.gitdir, 'refs', 'heads', 'main.lock');
    fs.writeFileSync(refLock, '');
    fs.writeFileSync(path.join(repo.dir, 'y'), 'y');
    const err = await repo.commit({ message: 'y', author, paths: ['y'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_GIT_LOCKED' });
    expect((err as Error).message).toContain('main.lock');
    expect(fs.existsSync(refLock)).toBe(true);
    expect(g(repo.dir, 'rev-parse', 'HEAD')).toBe(head);
    expect(fs.existsSync(path.join(repo.gitdir, 'index.lock'))).toBe(false); // ours released
    expect(fs.existsSync(path.join(repo.gitdir, 'cpv.lock'))).toBe(false);
  });

  it('holds index.lock while writing, so git add refuses, and releases everything after', async () => {
    const repo = await repoWithCommit();
    fs.writeFileSync(path.join(repo.dir, 'z'), 'z');
    let cliWhileHeld: ReturnType<typeof git> | undefined;
    await repo.write(async (lock) => {
      await lock.lockGitFile('index');
      cliWhileHeld = git(repo.dir, ['add', 'z']);
    });
    expect(cliWhileHeld?.status).not.toBe(0);
    expect(cliWhileHeld?.stderr).toMatch(/index\.lock/);
    expect(git(repo.dir, ['add', 'z']).status).toBe(0);
    expect(fs.readdirSync(repo.gitdir).filter((f) => f.includes('lock'))).toEqual([]);
  });

  it('removes a git lock file old enough to be left over by a killed git', async () => {
    const repo = await repoWithCommit({ timeoutMs: 2000 });
    const stale = path.join(repo.gitdir, 'index.lock');
    fs.writeFileSync(stale, '');
    const hourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(stale, hourAgo, hourAgo);
    fs.writeFileSync(path.join(repo.dir, 's'), 's');
    await repo.commit({ message: 's', author, paths: ['s'] });
    expect(g(repo.dir, 'log', '-1', '--format=%s').trim()).toBe('s');
    expect(fs.existsSync(stale)).toBe(false);
  });

  it("reclaims a dead cpv's lock and the git locks it recorded, but not a fresh unrecorded git lock", async () => {
    const repo = await repoWithCommit({ timeoutMs: 300 });
    const refLock = path.join(repo.gitdir, 'refs', 'heads', 'main.lock');
    fs.writeFileSync(refLock, '');
    const info = {
      pid: await deadPid(),
      hostname: os.hostname(),
      nonce: 'dead0001',
      created: new Date().toISOString(),
      gitLocks: [{ file: 'refs/heads/main', ino: fs.statSync(refLock).ino }],
    };
    fs.writeFileSync(path.join(repo.gitdir, 'cpv.lock'), JSON.stringify(info));
    fs.writeFileSync(path.join(repo.dir, 'r'), 'r');
    await repo.commit({ message: 'r', author, paths: ['r'] });
    expect(fs.existsSync(refLock)).toBe(false);
    expect(g(repo.dir, 'log', '-1', '--format=%s').trim()).toBe('r');

    // same again, but the ref lock is not the recorded one (another git made it): it must stay
    fs.writeFileSync(refLock, '');
    fs.writeFileSync(
      path.join(repo.gitdir, 'cpv.lock'),
      JSON.stringify({ ...info, gitLocks: [{ file: 'refs/heads/main', ino: 1 }] }),
    );
    fs.writeFileSync(path.join(repo.dir, 'q'), 'q');
    await expect(repo.commit({ message: 'q', author, paths: ['q'] })).rejects.toMatchObject({
      code: 'E_GIT_LOCKED',
    });
    expect(fs.existsSync(refLock)).toBe(true);
    expect(fs.existsSync(path.join(repo.gitdir, 'cpv.lock'))).toBe(false); // the dead cpv's was reclaimed
  });

  it('reclaims a git lock a dead cpv created after recording its intent (killed before the inode was saved)', async () => {
    const repo = await repoWithCommit({ timeoutMs: 300 });
    const refLock = path.join(repo.gitdir, 'refs', 'heads', 'main.lock');
    const since = Date.now();
    fs.writeFileSync(refLock, '');
    const intent = { file: 'refs/heads/main', ino: 0, since };
    const dead = {
      pid: await deadPid(),
      hostname: os.hostname(),
      nonce: 'dead0002',
      created: '',
      gitLocks: [intent],
    };
    fs.writeFileSync(path.join(repo.gitdir, 'cpv.lock'), JSON.stringify(dead));
    fs.writeFileSync(path.join(repo.dir, 'p'), 'p');
    await repo.commit({ message: 'p', author, paths: ['p'] });
    expect(g(repo.dir, 'log', '-1', '--format=%s').trim()).toBe('p');
    expect(fs.existsSync(refLock)).toBe(false);

    // A lock file older than the recorded intent is someone else's: it stays.
    fs.writeFileSync(refLock, '');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(refLock, old, old);
    const later = { ...dead, gitLocks: [{ ...intent, since: Date.now() }] };
    fs.writeFileSync(path.join(repo.gitdir, 'cpv.lock'), JSON.stringify(later));
    fs.writeFileSync(path.join(repo.dir, 'o'), 'o');
    await expect(repo.commit({ message: 'o', author, paths: ['o'] })).rejects.toMatchObject({
      code: 'E_GIT_LOCKED',
    });
    expect(fs.existsSync(refLock)).toBe(true);
  });

  it('recovers when a writer is killed while releasing its git locks', async () => {
    const repo = await repoWithCommit({ timeoutMs: 300 });
    // A real process (the built library) takes index.lock and dies by SIGKILL at the very moment
    // its release goes to remove index.lock: the state a kill -9 at that instant leaves.
    const lockModule = path.resolve(import.meta.dirname, '../../dist/git/lock.js');
    const child = `
      import fs from 'node:fs';
      import { syncBuiltinESMExports } from 'node:module';
      const rm = fs.rmSync;
      fs.rmSync = (p, o) => {
        if (String(p).endsWith('index.lock')) process.kill(process.pid, 'SIGKILL');
        return rm(p, o);
      };
      syncBuiltinESMExports();
      const { withWriteLock } = await import(${JSON.stringify(pathToFileURL(lockModule).href)});
      await withWriteLock(${JSON.stringify(repo.gitdir)}, (lock) => lock.lockGitFile('index'));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' });
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(lockFiles(repo).sort()).toEqual(['cpv.lock', 'index.lock']);

    fs.writeFileSync(path.join(repo.dir, 'k'), 'k');
    await repo.commit({ message: 'k', author, paths: ['k'] });
    expect(g(repo.dir, 'log', '-1', '--format=%s').trim()).toBe('k');
    expect(lockFiles(repo)).toEqual([]);
    fsckClean(repo.dir);
  });

  it('reclaims at once when the process killed was itself reclaiming (its guard names a dead pid)', async () => {
    const repo = await repoWithCommit({ timeoutMs: 300 });
    const pid = await deadPid();
    const dead = { pid, hostname: os.hostname(), nonce: 'dead0003', created: '', gitLocks: [] };
    fs.writeFileSync(path.join(repo.gitdir, 'cpv.lock'), JSON.stringify(dead));
    fs.writeFileSync(path.join(repo.gitdir, 'cpv-reclaim.lock'), `${pid} ${os.hostname()}`);
    fs.writeFileSync(path.join(repo.dir, 'j'), 'j');
    await repo.commit({ message: 'j', author, paths: ['j'] });
    expect(lockFiles(repo)).toEqual([]);

    // A fresh guard of a live process is respected: nothing is reclaimed while it is there.
    fs.writeFileSync(path.join(repo.gitdir, 'cpv.lock'), JSON.stringify(dead));
    fs.writeFileSync(path.join(repo.gitdir, 'cpv-reclaim.lock'), `${process.pid} ${os.hostname()}`);
    await expect(repo.tag({ name: 'w', message: 'm', tagger: author })).rejects.toMatchObject({
      code: 'E_GIT_LOCKED',
    });
    expect(lockFiles(repo).sort()).toEqual(['cpv-reclaim.lock', 'cpv.lock']);
  });

  it('never takes the lock from a live cpv process', async () => {
    const repo = await repoWithCommit({ timeoutMs: 300 });
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      const info = {
        pid: sleeper.pid,
        hostname: os.hostname(),
        nonce: 'live0001',
        created: '',
        gitLocks: [],
      };
      fs.writeFileSync(path.join(repo.gitdir, 'cpv.lock'), JSON.stringify(info));
      const err = await repo.tag({ name: 'v', message: 'm', tagger: author }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_GIT_LOCKED' });
      expect((err as Error).message).toContain(`cpv process ${sleeper.pid}`);
      expect(JSON.parse(fs.readFileSync(path.join(repo.gitdir, 'cpv.lock'), 'utf8')).nonce).toBe('live0001');
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
