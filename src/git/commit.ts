/**
 * Committing the index, the way git does it under its locks: with `index.lock` and the branch's
 * `<ref>.lock` held, read the branch again (another writer may have moved it while we waited),
 * build the tree and the commit with that as parent, then rename the lock file over the ref.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../errors.js';
import type { GitContext } from './context.js';
import { toCpvError } from './git-errors.js';
import { type Identity, resolveIdentity } from './identity.js';
import { loadGit } from './iso.js';
import type { RepoWriteLock } from './lock.js';
import { cleanMessage } from './message.js';
import { appendReflog, reflogLine } from './reflog.js';
import { stage } from './worktree.js';

export interface CommitOptions {
  message: string;
  author?: Partial<Identity>;
  /**
   * Default: from `GIT_COMMITTER_*` or the git config, as git finds it; when none is found there
   * but an author was given explicitly, the author (a library caller need not set up git config).
   */
  committer?: Partial<Identity>;
  /** Stage these paths first, under the same lock, so no other writer's staging slips in between. */
  paths?: string[];
  /** Commit even when the tree equals the parent's (git's --allow-empty). */
  allowEmpty?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** What HEAD points at: a branch ref (`refs/heads/x`), or 'HEAD' itself when detached. */
export function headTarget(ctx: GitContext): string {
  const head = fs.readFileSync(path.join(ctx.gitdir, 'HEAD'), 'utf8').trim();
  const sym = /^ref:\s*(\S+)$/.exec(head);
  return sym?.[1] ?? 'HEAD';
}

/** The commit `ref` points at now (loose or packed), or undefined for an unborn branch. */
export async function currentValue(ctx: GitContext, ref: string): Promise<string | undefined> {
  const git = await loadGit();
  try {
    return await git.resolveRef({ fs: ctx.fs, gitdir: ctx.gitdir, ref });
  } catch (err) {
    if ((err as { code?: string }).code === 'NotFoundError') return undefined;
    throw toCpvError(err, { action: `read ${ref}` });
  }
}

/** core.logAllRefUpdates: unset means true in a repository with a work tree, as in git. */
async function logsRefUpdates(ctx: GitContext): Promise<boolean> {
  const git = await loadGit();
  const value = await git.getConfig({ fs: ctx.fs, gitdir: ctx.gitdir, path: 'core.logallrefupdates' });
  return value === undefined || value === true || value === 'true' || value === 'always';
}

function committerFor(
  options: CommitOptions,
  author: Identity,
  identityOptions: { env: NodeJS.ProcessEnv; gitdir: string },
): Identity {
  try {
    return resolveIdentity('committer', options.committer, identityOptions);
  } catch (err) {
    if (options.author?.name && options.author.email && !options.committer) return author;
    throw err;
  }
}

/** Commits the index on the current branch (or detached HEAD); returns the new commit's id. */
export async function commit(ctx: GitContext, lock: RepoWriteLock, options: CommitOptions): Promise<string> {
  const message = cleanMessage(options.message ?? '');
  if (message === '') {
    throw new CpvError('E_USAGE', 'empty commit message', { hint: 'give a message describing the change' });
  }
  const identityOptions = { env: options.env ?? process.env, gitdir: ctx.gitdir };
  const author = resolveIdentity('author', options.author, identityOptions);
  const committer = committerFor(options, author, identityOptions);
  const ref = headTarget(ctx);
  await lock.lockGitFile('index');
  if (options.paths && options.paths.length > 0) await stage(ctx, lock, options.paths);
  await lock.lockGitFile(ref);
  if (ref !== 'HEAD') await lock.lockGitFile('HEAD'); // git holds it too: HEAD's reflog changes
  const parent = await currentValue(ctx, ref); // re-read under the lock
  const git = await loadGit();
  let oid: string;
  try {
    oid = await git.commit({
      fs: ctx.fs,
      dir: ctx.dir,
      gitdir: ctx.gitdir,
      message,
      author,
      committer,
      ref,
      parent: parent ? [parent] : [],
      noUpdateBranch: true,
      disallowEmpty: !options.allowEmpty,
      cache: ctx.cache,
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'EmptyCommitError') {
      throw new CpvError('E_GIT', 'nothing to commit: the index matches the last commit', {
        hint: 'stage changes first, or pass allowEmpty',
      });
    }
    throw toCpvError(err, { action: 'commit' });
  }
  if (await logsRefUpdates(ctx)) {
    const subject = message.split('\n')[0] ?? '';
    const line = reflogLine(
      parent,
      oid,
      committer as Required<Identity>,
      `commit${parent ? '' : ' (initial)'}: ${subject}`,
    );
    appendReflog(ctx.gitdir, ref === 'HEAD' ? ['HEAD'] : [ref, 'HEAD'], line);
  }
  lock.commitGitFile(ref, `${oid}\n`);
  return oid;
}
