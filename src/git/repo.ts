/**
 * `GitRepo`: one git repository, everything cpv does with git in one object. Reads go straight to
 * the files; every write runs under the repository's write lock (`lock.ts`) and takes git's own
 * lock files for what it changes, so cpv processes and the git CLI never corrupt each other.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../errors.js';
import { type CommitOptions, commit } from './commit.js';
import { type GitContext, makeContext } from './context.js';
import { toCpvError } from './git-errors.js';
import { initRepository } from './init.js';
import { loadGit } from './iso.js';
import { type LockOptions, type RepoWriteLock, withWriteLock } from './lock.js';
import { assertRefName } from './refname.js';
import {
  type CloneOptions,
  clone,
  type DeleteRemoteRefOptions,
  deleteRemoteRef,
  type FetchOptions,
  type FetchResult,
  fetch,
  findRemoteUrl,
  type PushOptions,
  type PushResult,
  push,
  setRemote,
} from './remotes.js';
import {
  branchNames,
  type CommitInfo,
  type LogOptions,
  listTags,
  log,
  peel,
  readFileAtRev,
  readTagInfo,
  readTree,
  resolveCommit,
  resolveRev,
  type TagInfo,
  type TreeEntry,
  tagNames,
} from './revs.js';
import { findGitRoot } from './scm.js';
import { createTag, deleteTag, type TagOptions, type TagResult } from './tags.js';
import {
  checkoutPaths,
  type FastForwardResult,
  type FileStatus,
  fastForward,
  stage,
  status,
  unstage,
} from './worktree.js';

export interface OpenOptions {
  /** How long writes wait for another writer's lock; see `LockOptions`. */
  lock?: LockOptions;
}

export class GitRepo {
  readonly dir: string;
  readonly gitdir: string;
  /** @internal the context handed to the operation modules */
  readonly ctx: GitContext;
  private readonly lockOptions: LockOptions;

  private constructor(ctx: GitContext, options: OpenOptions) {
    this.ctx = ctx;
    this.dir = ctx.dir;
    this.gitdir = ctx.gitdir;
    this.lockOptions = options.lock ?? {};
  }

  /** The repository containing `start` (it or the nearest parent with `.git`). */
  static open(start: string, options: OpenOptions = {}): GitRepo {
    const root = findGitRoot(start);
    if (!root) {
      throw new CpvError('E_NOT_GIT', `not inside a git repository: ${path.resolve(start)}`, {
        hint: 'run `git init` first, or clone a repository',
      });
    }
    return new GitRepo(makeContext(root), options);
  }

  /**
   * Creates a repository in `dir` (made if missing), like `git init`; an existing one is opened
   * untouched, as `git init` leaves it.
   */
  static async init(dir: string, options: OpenOptions & { defaultBranch?: string } = {}): Promise<GitRepo> {
    const root = path.resolve(dir);
    const branch = options.defaultBranch ?? 'main';
    assertRefName(branch, 'branch');
    if (!fs.existsSync(path.join(root, '.git'))) initRepository(root, branch);
    return new GitRepo(makeContext(root), options);
  }

  /** Clones `url` into `dir` (see `remotes.clone`) and opens it. */
  static async clone(url: string, dir: string, options: CloneOptions & OpenOptions = {}): Promise<GitRepo> {
    await clone(url, dir, options);
    return GitRepo.open(dir, options);
  }

  /**
   * Runs `fn` holding the write lock. Anything it throws that is not already a CpvError (a bug
   * in a path we did not foresee) still reaches the caller as one, never as a raw library error.
   */
  async write<T>(fn: (lock: RepoWriteLock) => Promise<T>): Promise<T> {
    try {
      return await withWriteLock(this.gitdir, fn, this.lockOptions);
    } catch (err) {
      throw toCpvError(err, { action: `write to the git repository ${this.dir}` });
    }
  }

  // ------------------------------------------------------------------ index and work tree

  stage(paths: string[], options: { force?: boolean } = {}): Promise<void> {
    return this.write((lock) => stage(this.ctx, lock, paths, options));
  }

  unstage(paths: string[]): Promise<void> {
    return this.write((lock) => unstage(this.ctx, lock, paths));
  }

  status(paths: string[]): Promise<FileStatus[]> {
    return status(this.ctx, paths);
  }

  /** Writes `paths` as they are at `rev` into the work tree and the index; returns the files written. */
  checkout(rev: string, paths: string[]): Promise<string[]> {
    return this.write((lock) => checkoutPaths(this.ctx, lock, rev, paths));
  }

  /** `git merge --ff-only target` on the checked-out `branch`; see `fastForward`. */
  fastForward(branch: string, target: string): Promise<FastForwardResult> {
    return this.write((lock) => fastForward(this.ctx, lock, branch, target));
  }

  // ------------------------------------------------------------------ commits and tags

  commit(options: CommitOptions): Promise<string> {
    return this.write((lock) => commit(this.ctx, lock, options));
  }

  tag(options: TagOptions): Promise<TagResult> {
    return this.write((lock) => createTag(this.ctx, lock, options));
  }

  /** Deletes a local tag (loose or packed); E_BAD_REV when there is none. */
  deleteTag(name: string): Promise<void> {
    return this.write((lock) => deleteTag(this.ctx, lock, name));
  }

  /** Tag names only (cheaper than listTags), without lock or temp files caught mid-write. */
  tagNames(): Promise<string[]> {
    return tagNames(this.ctx);
  }

  /** Local branch names, without lock or temp files caught mid-write. */
  branchNames(): Promise<string[]> {
    return branchNames(this.ctx);
  }

  listTags(): Promise<TagInfo[]> {
    return listTags(this.ctx);
  }

  readTag(name: string): Promise<TagInfo> {
    return readTagInfo(this.ctx, name);
  }

  // ------------------------------------------------------------------ remotes

  fetch(options: FetchOptions = {}): Promise<FetchResult> {
    return this.write((lock) => fetch(this.ctx, lock, options));
  }

  push(options: PushOptions = {}): Promise<PushResult> {
    return this.write((lock) => push(this.ctx, lock, options));
  }

  /** The URL of `remote`, or undefined when there is no such remote. */
  remoteUrl(remote: string): Promise<string | undefined> {
    return findRemoteUrl(this.ctx, remote);
  }

  /** Points `remote` at `url` (created if missing; credentials in the URL are never stored). */
  setRemote(remote: string, url: string): Promise<void> {
    return this.write((lock) => setRemote(this.ctx, lock, remote, url));
  }

  /** Deletes `ref` on the remote (`git push --delete`); see `deleteRemoteRef`. */
  deleteRemoteRef(ref: string, options: DeleteRemoteRefOptions = {}): Promise<void> {
    return this.write((lock) => deleteRemoteRef(this.ctx, lock, ref, options));
  }

  // ------------------------------------------------------------------ history

  /** The object id `rev` names (`HEAD`, a branch, a tag, an id, with `~N` `^N` `^{}` suffixes). */
  resolve(rev: string): Promise<string> {
    return resolveRev(this.ctx, rev);
  }

  /** The commit `rev` names, tags peeled. */
  resolveCommit(rev: string): Promise<string> {
    return resolveCommit(this.ctx, rev);
  }

  /** Follows tags from `oid` to a commit, a tree, or any non-tag object. */
  peel(oid: string, to: 'commit' | 'tree' | 'any' = 'any'): Promise<string> {
    return peel(this.ctx, oid, to);
  }

  log(options: LogOptions = {}): Promise<CommitInfo[]> {
    return log(this.ctx, options);
  }

  readFile(rev: string, filepath: string): Promise<Uint8Array> {
    return readFileAtRev(this.ctx, rev, filepath);
  }

  readTree(rev: string, dirpath = '', options: { recursive?: boolean } = {}): Promise<TreeEntry[]> {
    return readTree(this.ctx, rev, dirpath, options);
  }

  /** The current branch's short name, or undefined when HEAD is detached. */
  async currentBranch(): Promise<string | undefined> {
    const git = await loadGit();
    const name = await git.currentBranch({ fs: this.ctx.fs, gitdir: this.gitdir });
    return name ?? undefined;
  }
}
