/**
 * What every git operation needs to know about its repository: the work tree, the git directory,
 * the filesystem isomorphic-git is given and isomorphic-git's object cache (parsed pack indexes,
 * which never go stale because packfiles are immutable).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FsClient } from 'isomorphic-git';
import { CpvError } from '../errors.js';
import { gitFsFor } from './iso.js';

export interface GitContext {
  /** The work tree root. */
  dir: string;
  /** The git directory (usually `<dir>/.git`). */
  gitdir: string;
  fs: FsClient;
  cache: object;
}

/**
 * The git directory of the work tree `dir`: `.git` itself, or where a `.git` file
 * (`gitdir: <path>`, written for submodules and worktrees) points.
 */
export function gitDirOf(dir: string): string {
  const dotgit = path.join(dir, '.git');
  let st: fs.Stats;
  try {
    st = fs.statSync(dotgit);
  } catch {
    throw new CpvError('E_NOT_GIT', `not a git repository: ${dir}`, {
      hint: 'run `cpv init` in a git repository, or create one with `git init`',
    });
  }
  if (st.isDirectory()) return dotgit;
  const pointer = /^gitdir:\s*(.+?)\s*$/m.exec(fs.readFileSync(dotgit, 'utf8'));
  if (!pointer?.[1]) {
    throw new CpvError('E_GIT_CORRUPT', `${dotgit} is a file without a 'gitdir:' line`, {
      hint: 'restore .git, or remove the file and clone again',
    });
  }
  const gitdir = path.resolve(dir, pointer[1]);
  if (fs.existsSync(path.join(gitdir, 'commondir'))) {
    // a `git worktree`: refs and objects live in the main repository, which isomorphic-git cannot follow
    throw new CpvError('E_GIT', `${dir} is a linked git worktree, which cpv cannot write to`, {
      hint: 'run cpv in the main working tree of the repository',
    });
  }
  return gitdir;
}

export function makeContext(dir: string, gitdir = gitDirOf(dir)): GitContext {
  return { dir, gitdir, fs: gitFsFor(gitdir), cache: {} };
}
