/**
 * The few git facts the data commands need (find the repo, stage files, is a path tracked or
 * ignored), read through isomorphic-git so no `git` binary is needed. isomorphic-git is loaded
 * lazily: most commands never touch git, and start-up time matters for the CLI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeContext } from './context.js';
import { loadGit } from './iso.js';
import { withWriteLock } from './lock.js';
import { stage } from './worktree.js';

/** The nearest directory at or above `start` holding `.git` (a directory or a worktree file). */
export function findGitRoot(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const posix = (p: string): string => p.split(path.sep).join('/');

/**
 * Stages the given paths (relative to the git root, or absolute) like `git add`, holding the
 * repository's write lock and git's `index.lock` (see `lock.ts`).
 */
export async function stageFiles(gitRoot: string, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  const ctx = makeContext(gitRoot);
  await withWriteLock(ctx.gitdir, (lock) => stage(ctx, lock, paths));
}

/** Whether git's index holds `relpath` itself or anything under it (a tracked directory). */
export async function isTrackedByGit(gitRoot: string, target: string): Promise<boolean> {
  const [tracked] = await trackedByGit(gitRoot, [target]);
  return tracked === true;
}

/** `isTrackedByGit` for each of `targets`, reading git's index once for all of them. */
export async function trackedByGit(gitRoot: string, targets: readonly string[]): Promise<boolean[]> {
  if (targets.length === 0 || !fs.existsSync(path.join(gitRoot, '.git', 'index'))) {
    return targets.map(() => false);
  }
  const git = await loadGit();
  // Every tracked file and every directory above one: each target is then one lookup, not a
  // scan of the index (a `remove` of many files in a big repo).
  const known = new Set<string>();
  for (const f of await git.listFiles({ fs, dir: gitRoot })) {
    for (let p = f; p !== '' && !known.has(p); p = p.slice(0, Math.max(0, p.lastIndexOf('/')))) known.add(p);
  }
  return targets.map((target) => known.has(posix(path.relative(gitRoot, path.resolve(gitRoot, target)))));
}

/** Whether git's ignore rules (all .gitignore files and info/exclude) already ignore `target`. */
export async function isIgnoredByGit(gitRoot: string, target: string): Promise<boolean> {
  const git = await loadGit();
  const rel = posix(path.relative(gitRoot, path.resolve(gitRoot, target)));
  return git.isIgnored({ fs, dir: gitRoot, filepath: rel });
}
