/**
 * Annotated tags, written as git writes them: the name checked against check-ref-format, the tag
 * object stored, then `refs/tags/<name>.lock` created, the ref re-checked under the lock (an
 * existing tag is refused unless `force`), and the lock renamed over the ref.
 */
import { CpvError } from '../errors.js';
import type { GitContext } from './context.js';
import { toCpvError } from './git-errors.js';
import { type Identity, resolveIdentity } from './identity.js';
import { loadGit } from './iso.js';
import type { RepoWriteLock } from './lock.js';
import { cleanMessage } from './message.js';
import { assertRefName } from './refname.js';
import { resolveRev, tagNames } from './revs.js';

export interface TagOptions {
  name: string;
  message: string;
  /** What to tag; default HEAD. */
  rev?: string;
  tagger?: Partial<Identity>;
  /** Move an existing tag (git tag -f). */
  force?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface TagResult {
  name: string;
  /** The tag object's id (what refs/tags/<name> now holds). */
  oid: string;
  /** The tagged object. */
  target: string;
  /** The tag's previous value when `force` moved it. */
  replaced?: string;
}

/** E_TAG_EXISTS / E_BAD_REF_NAME if `name` clashes with an existing tag (same name, or a file/dir clash). */
function checkClash(name: string, tags: string[], force: boolean): boolean {
  if (tags.includes(name)) {
    if (force) return true;
    throw new CpvError('E_TAG_EXISTS', `tag '${name}' already exists`, {
      hint: 'pick another name, or pass force to move the tag',
    });
  }
  const clash = tags.find((t) => t.startsWith(`${name}/`) || name.startsWith(`${t}/`));
  if (clash) {
    throw new CpvError('E_BAD_REF_NAME', `tag '${name}' cannot coexist with existing tag '${clash}'`, {
      hint: "git stores tags as files: 'a' and 'a/b' cannot both exist; pick another name",
    });
  }
  return false;
}

/** Creates (or with `force` moves) the annotated tag `options.name`. */
export async function createTag(
  ctx: GitContext,
  lock: RepoWriteLock,
  options: TagOptions,
): Promise<TagResult> {
  assertRefName(options.name, 'tag');
  const message = cleanMessage(options.message ?? '');
  if (message === '') {
    throw new CpvError('E_USAGE', `annotated tag '${options.name}' needs a message`, {
      hint: 'give a message',
    });
  }
  const rev = options.rev ?? 'HEAD';
  const tagger = resolveIdentity('committer', options.tagger, {
    env: options.env ?? process.env,
    gitdir: ctx.gitdir,
  });
  const target = await resolveRev(ctx, rev);
  const git = await loadGit();
  const { type } = await git.readObject({
    fs: ctx.fs,
    gitdir: ctx.gitdir,
    oid: target,
    format: 'content',
    cache: ctx.cache,
  });
  checkClash(options.name, await tagNames(ctx), options.force === true); // fail fast, before locking
  const ref = `refs/tags/${options.name}`;
  await lock.lockGitFile(ref);
  const exists = checkClash(options.name, await tagNames(ctx), options.force === true); // and again under the lock
  const replaced = exists ? await git.resolveRef({ fs: ctx.fs, gitdir: ctx.gitdir, ref }) : undefined;
  let oid: string;
  try {
    oid = await git.writeTag({
      fs: ctx.fs,
      gitdir: ctx.gitdir,
      tag: {
        object: target,
        type: type as 'commit' | 'tree' | 'blob' | 'tag',
        tag: options.name,
        tagger,
        message: message.replace(/\n$/, ''), // isomorphic-git adds the final newline itself
      },
    });
  } catch (err) {
    throw toCpvError(err, { action: `tag ${options.name}` });
  }
  lock.commitGitFile(ref, `${oid}\n`);
  return replaced ? { name: options.name, oid, target, replaced } : { name: options.name, oid, target };
}

/** Deletes the tag `name`, loose or packed, under git's locks; E_BAD_REV when there is none. */
export async function deleteTag(ctx: GitContext, lock: RepoWriteLock, name: string): Promise<void> {
  assertRefName(name, 'tag');
  if (!(await tagNames(ctx)).includes(name)) {
    throw new CpvError('E_BAD_REV', `no tag named '${name}'`, { hint: 'list the tags to see which exist' });
  }
  const ref = `refs/tags/${name}`;
  await lock.lockGitFile(ref);
  await lock.lockGitFile('packed-refs'); // the tag may be listed there too
  const git = await loadGit();
  try {
    await git.deleteRef({ fs: ctx.fs, gitdir: ctx.gitdir, ref });
  } catch (err) {
    throw toCpvError(err, { action: `delete tag ${name}` });
  }
}
