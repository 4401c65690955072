/**
 * Many writers at once in one repository: parallel node processes each committing and tagging
 * through the built library, plus the git CLI committing at the same time. Everything must land
 * and `git fsck` stay clean. Uses dist/ (npm test builds it first).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitRepo } from '../../src/git/repo.js';
import { tempDir } from '../helpers/tmp.js';
import { fsckClean, g, git, IDENTITY } from './peer.js';

const worker = path.resolve(import.meta.dirname, 'fixtures/stress-worker.mjs');
const dist = path.resolve(import.meta.dirname, '../../dist/git/repo.js');

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [worker, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

/**
 * One `git commit -i <file>` of a change to a tracked file — one git process stages and commits
 * under one index.lock, as cpv does — retried while a cpv writer holds the locks (git does not wait).
 */
async function cliCommit(dir: string, name: string): Promise<number> {
  fs.writeFileSync(path.join(dir, `${name}.txt`), `${name} changed by git\n`);
  for (let attempt = 1; ; attempt++) {
    const commit = git(dir, ['commit', '-q', '-m', `commit ${name}`, '-i', `${name}.txt`]);
    if (commit.status === 0) return attempt;
    if (!/lock|File exists|cannot lock ref/i.test(commit.stderr) || attempt > 400) {
      throw new Error(`git failed for ${name}: ${commit.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
  }
}

describe('stress: parallel writers in one repository', () => {
  it('N node processes committing and tagging, with git committing alongside: all land, fsck clean', async () => {
    expect(fs.existsSync(dist), 'dist/ is missing: run npm run build (npm test does it first)').toBe(true);
    const repo = await GitRepo.init(path.join(tempDir(), 'stress'));
    const workers = 5;
    const perWorker = 4;
    const cliCommits = 6;
    const cliFiles = Array.from({ length: cliCommits }, (_, i) => `cli-${i}.txt`);
    for (const f of cliFiles) fs.writeFileSync(path.join(repo.dir, f), 'initial\n');
    await repo.commit({ message: 'root', author: IDENTITY, paths: cliFiles });
    const cli = (async () => {
      for (let i = 0; i < cliCommits; i++) await cliCommit(repo.dir, `cli-${i}`);
    })();
    const results = await Promise.all(
      Array.from({ length: workers }, (_, id) => run([repo.dir, String(id), String(perWorker)])),
    );
    await cli;
    for (const r of results) expect(r.stderr).toBe('');
    expect(results.map((r) => r.code)).toEqual(Array(workers).fill(0));

    const subjects = g(repo.dir, 'log', '--format=%s').trim().split('\n');
    expect(subjects).toHaveLength(1 + workers * perWorker + cliCommits);
    const tags = g(repo.dir, 'tag', '-l').trim().split('\n').sort();
    const expected = Array.from({ length: workers }, (_, w) =>
      Array.from({ length: perWorker }, (_, i) => `w${w}-${i}`),
    ).flat();
    expect(tags).toEqual(expected.sort());
    for (const t of expected) {
      // each tag is annotated and points at the commit that added its file
      expect(g(repo.dir, 'cat-file', '-t', t).trim()).toBe('tag');
      expect(g(repo.dir, 'log', '-1', '--format=%s', `${t}^{commit}`).trim()).toBe(`commit ${t}`);
    }
    const files = g(repo.dir, 'ls-tree', '--name-only', 'HEAD').trim().split('\n');
    expect(files).toHaveLength(workers * perWorker + cliCommits);
    for (const f of cliFiles) expect(g(repo.dir, 'show', `HEAD:${f}`)).toMatch(/changed by git/);
    expect(g(repo.dir, 'status', '--porcelain')).toBe('');
    expect(fs.readdirSync(repo.gitdir).filter((f) => f.includes('lock'))).toEqual([]);
    fsckClean(repo.dir);
  });

  it('recovers when a writer is killed while holding the locks', async () => {
    const repo = await GitRepo.init(path.join(tempDir(), 'killed'), { lock: { timeoutMs: 10_000 } });
    fs.writeFileSync(path.join(repo.dir, 'a'), 'a');
    await repo.commit({ message: 'a', author: IDENTITY, paths: ['a'] });
    const child = spawn(process.execPath, [worker, repo.dir, 'k', '0', 'hold'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => String(d).includes('held') && resolve()),
    );
    expect(fs.existsSync(path.join(repo.gitdir, 'index.lock'))).toBe(true);
    expect(git(repo.dir, ['commit', '--allow-empty', '-m', 'blocked']).status).not.toBe(0);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    fs.writeFileSync(path.join(repo.dir, 'b'), 'b');
    await repo.commit({ message: 'b', author: IDENTITY, paths: ['b'] });
    expect(g(repo.dir, 'log', '--format=%s').trim().split('\n')).toEqual(['b', 'a']);
    expect(fs.readdirSync(repo.gitdir).filter((f) => f.includes('lock'))).toEqual([]);
    expect(fs.readdirSync(path.join(repo.gitdir, 'refs', 'heads'))).toEqual(['main']);
    fsckClean(repo.dir);
  });
});
