/**
 * Reading history without touching the work tree: resolve a revision, peel tags, walk the log,
 * read a file or a tree at any revision, list tags. Nothing here writes, so nothing here locks;
 * writers replace files by rename, so every read sees a whole file.
 *
 * Revisions are what `git rev-parse` takes for the common cases: a ref name (`HEAD`, `main`,
 * `v1.0`, `refs/tags/v1.0`, `origin/main`), a full or abbreviated object id, each followed by any
 * of `~N`, `^N`, `^{}`, `^{commit}`, `^{tree}`.
 */
import { CpvError } from '../errors.js';
import type { GitContext } from './context.js';
import { toCpvError } from './git-errors.js';
import { loadGit } from './iso.js';
import { refNameProblem } from './refname.js';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';

export interface Person {
  name: string;
  email: string;
  timestamp: number;
  timezoneOffset: number;
}

export interface CommitInfo {
  oid: string;
  message: string;
  tree: string;
  parents: string[];
  author: Person;
  committer: Person;
}

export interface TreeEntry {
  /** Path from the repository root, posix separators. */
  path: string;
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
}

export interface TagInfo {
  name: string;
  /** What `refs/tags/<name>` holds: the tag object for an annotated tag, else the target itself. */
  oid: string;
  /** The object the tag finally points at, tags peeled (usually a commit). */
  target: string;
  targetType: ObjectType;
  annotated: boolean;
  message?: string;
  tagger?: Person;
}

function badRev(rev: string, why = 'unknown revision'): CpvError {
  return new CpvError('E_BAD_REV', `${why} '${rev}'`, {
    hint: 'check the name: list tags with `cpv` / `git tag`, branches with `git branch`',
  });
}

/**
 * The type and parsed content of an object. A missing object is E_BAD_REV when the caller named it
 * (`named`), and E_GIT_CORRUPT when the repository itself points at it (a tag's target, a parent).
 */
async function readObject(ctx: GitContext, oid: string, rev: string, named = false) {
  const git = await loadGit();
  try {
    return await git.readObject({ fs: ctx.fs, gitdir: ctx.gitdir, oid, cache: ctx.cache });
  } catch (err) {
    if (named && (err as { code?: string }).code === 'NotFoundError')
      throw badRev(rev, 'no object for revision');
    throw toCpvError(err, { action: `read ${rev}` });
  }
}

const isNotFound = (err: unknown) => (err as { code?: string }).code === 'NotFoundError';

/** A ref name or object id (no suffixes) to an object id. */
async function resolveBase(ctx: GitContext, base: string, rev: string): Promise<string> {
  const git = await loadGit();
  if (base === '') throw badRev(rev);
  if (!/^[0-9a-f]{40}$/i.test(base)) {
    try {
      return await git.resolveRef({ fs: ctx.fs, gitdir: ctx.gitdir, ref: base });
    } catch (err) {
      if (!isNotFound(err)) throw toCpvError(err, { action: `resolve ${rev}` });
    }
  }
  if (/^[0-9a-f]{4,40}$/i.test(base)) {
    try {
      return await git.expandOid({
        fs: ctx.fs,
        gitdir: ctx.gitdir,
        oid: base.toLowerCase(),
        cache: ctx.cache,
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'AmbiguousError') {
        throw new CpvError('E_BAD_REV', `short object id '${base}' is ambiguous`, {
          hint: 'give more digits',
        });
      }
      if (!isNotFound(err)) throw toCpvError(err, { action: `resolve ${rev}` });
    }
  }
  throw badRev(rev);
}

/** Follows tags until an object of `to` (or, for 'any', anything but a tag). */
export async function peel(
  ctx: GitContext,
  oid: string,
  to: 'commit' | 'tree' | 'any',
  rev = oid,
): Promise<string> {
  let current = oid;
  for (let depth = 0; depth < 64; depth++) {
    const obj = await readObject(ctx, current, rev);
    if (obj.type === 'tag') {
      current = (obj.object as { object: string }).object;
      continue;
    }
    if (to === 'any' || obj.type === to) return current;
    if (to === 'tree' && obj.type === 'commit') return (obj.object as { tree: string }).tree;
    throw new CpvError('E_BAD_REV', `'${rev}' is a ${obj.type}, not a ${to}`, {
      hint: `name a ${to === 'tree' ? 'commit or tree' : 'commit'}, such as a branch or tag`,
    });
  }
  throw badRev(rev, 'tag chain too long for');
}

/** The object id `rev` names (tags are not peeled unless the revision says so). */
export async function resolveRev(ctx: GitContext, rev: string): Promise<string> {
  const m = /^(.*?)((?:~\d*|\^\d*|\^\{[a-z]*\})*)$/.exec(rev.trim());
  const base = m?.[1] ?? '';
  let oid = await resolveBase(ctx, base, rev);
  // a full oid resolves without existing: make sure it does (a ref to a missing object is damage)
  await readObject(ctx, oid, rev, /^[0-9a-f]{40}$/i.test(base));
  for (const op of (m?.[2] ?? '').match(/~\d*|\^\{[a-z]*\}|\^\d*/g) ?? []) {
    oid = await applySuffix(ctx, oid, op, rev);
  }
  return oid;
}

async function applySuffix(ctx: GitContext, oid: string, op: string, rev: string): Promise<string> {
  if (op.startsWith('^{')) {
    const want = op.slice(2, -1);
    if (want === '') return peel(ctx, oid, 'any', rev);
    if (want === 'commit' || want === 'tree') return peel(ctx, oid, want, rev);
    if (want === 'tag' && (await readObject(ctx, oid, rev)).type === 'tag') return oid;
    throw badRev(rev, `cannot peel to '${want}' in`);
  }
  const n = op.length > 1 ? Number(op.slice(1)) : 1;
  let commit = await peel(ctx, oid, 'commit', rev);
  if (op.startsWith('^')) {
    if (n === 0) return commit;
    const parents = await parentsOf(ctx, commit, rev);
    const parent = parents[n - 1];
    if (!parent) throw badRev(rev, `no parent ${n} for`);
    return parent;
  }
  for (let i = 0; i < n; i++) {
    const first = (await parentsOf(ctx, commit, rev))[0];
    if (!first) throw badRev(rev, 'history is shorter than');
    commit = first;
  }
  return commit;
}

async function parentsOf(ctx: GitContext, commit: string, rev: string): Promise<string[]> {
  const obj = await readObject(ctx, commit, rev);
  return (obj.object as { parent: string[] }).parent;
}

/** The commit `rev` names, tags peeled. */
export async function resolveCommit(ctx: GitContext, rev: string): Promise<string> {
  return peel(ctx, await resolveRev(ctx, rev), 'commit', rev);
}

export interface LogOptions {
  /** Where to start; default HEAD. */
  rev?: string;
  /** At most this many commits. */
  depth?: number;
  /** Only commits that changed this path (slower: compares trees). */
  path?: string;
}

/** Commits reachable from `rev`, newest first. An unborn branch has an empty log. */
export async function log(ctx: GitContext, options: LogOptions = {}): Promise<CommitInfo[]> {
  const git = await loadGit();
  const rev = options.rev ?? 'HEAD';
  let start: string;
  try {
    start = await resolveCommit(ctx, rev);
  } catch (err) {
    if (options.rev === undefined && (err as CpvError).code === 'E_BAD_REV' && (await isUnborn(ctx)))
      return [];
    throw err;
  }
  try {
    const entries = await git.log({
      fs: ctx.fs,
      gitdir: ctx.gitdir,
      ref: start,
      depth: options.depth,
      filepath: options.path,
      cache: ctx.cache,
    });
    return entries.map((e) => ({
      oid: e.oid,
      message: e.commit.message,
      tree: e.commit.tree,
      parents: e.commit.parent,
      author: e.commit.author,
      committer: e.commit.committer,
    }));
  } catch (err) {
    throw toCpvError(err, { action: `log ${rev}` });
  }
}

/** Whether HEAD names a branch with no commits yet. */
export async function isUnborn(ctx: GitContext): Promise<boolean> {
  const git = await loadGit();
  try {
    await git.resolveRef({ fs: ctx.fs, gitdir: ctx.gitdir, ref: 'HEAD' });
    return false;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw toCpvError(err, { action: 'resolve HEAD' });
  }
}

const cleanPath = (p: string) => p.replace(/^\.?\/+/, '').replace(/\/+$/, '');

/** The bytes of `filepath` as committed at `rev`. */
export async function readFileAtRev(ctx: GitContext, rev: string, filepath: string): Promise<Uint8Array> {
  const git = await loadGit();
  const tree = await peel(ctx, await resolveRev(ctx, rev), 'tree', rev);
  const rel = cleanPath(filepath);
  try {
    const { blob } = await git.readBlob({
      fs: ctx.fs,
      gitdir: ctx.gitdir,
      oid: tree,
      filepath: rel,
      cache: ctx.cache,
    });
    return blob;
  } catch (err) {
    throw pathError(err, rev, rel);
  }
}

function pathError(err: unknown, rev: string, rel: string): CpvError {
  const code = (err as { code?: string }).code;
  const what = (err as { data?: { what?: string } }).data?.what ?? '';
  if (code === 'NotFoundError' && !/^[0-9a-f]{40}$/.test(what)) {
    return new CpvError('E_BAD_REV', `path '${rel}' does not exist in '${rev}'`, {
      hint: 'check the path (relative to the repository root) and the revision',
    });
  }
  if (code === 'ObjectTypeError') {
    return new CpvError(
      'E_USAGE',
      `'${rel}' in '${rev}' is ${/tree/.test(String(err)) ? 'a directory' : 'not a file'}`,
      {
        hint: 'read a directory with readTree',
      },
    );
  }
  return toCpvError(err, { action: `read ${rev}:${rel}` });
}

/** The entries of the directory `dirpath` ('' for the root) at `rev`; with `recursive`, every file below it. */
export async function readTree(
  ctx: GitContext,
  rev: string,
  dirpath = '',
  options: { recursive?: boolean } = {},
): Promise<TreeEntry[]> {
  const git = await loadGit();
  const root = await peel(ctx, await resolveRev(ctx, rev), 'tree', rev);
  const rel = cleanPath(dirpath);
  const out: TreeEntry[] = [];
  const visit = async (oid: string, prefix: string, filepath?: string): Promise<void> => {
    let result: Awaited<ReturnType<typeof git.readTree>>;
    try {
      result = await git.readTree({ fs: ctx.fs, gitdir: ctx.gitdir, oid, filepath, cache: ctx.cache });
    } catch (err) {
      throw pathError(err, rev, rel);
    }
    for (const e of result.tree) {
      const full = prefix ? `${prefix}/${e.path}` : e.path;
      if (e.type === 'tree' && options.recursive) await visit(e.oid, full);
      else out.push({ path: full, mode: e.mode, type: e.type, oid: e.oid });
    }
  };
  await visit(root, rel, rel || undefined);
  return out;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Tag names, sorted as git sorts refs. isomorphic-git lists every file under refs/tags, so a
 * writer's `<name>.lock` or a temp file caught mid-write would show up as a tag: names git could
 * not have made are dropped.
 */
export async function tagNames(ctx: GitContext): Promise<string[]> {
  const git = await loadGit();
  try {
    const names = await git.listTags({ fs: ctx.fs, gitdir: ctx.gitdir });
    return names.filter((n) => refNameProblem(n) === undefined).sort(byteOrder);
  } catch (err) {
    throw toCpvError(err, { action: 'list tags' });
  }
}

/** Local branch names (refs/heads/), filtered the same way. */
export async function branchNames(ctx: GitContext): Promise<string[]> {
  const git = await loadGit();
  const names = await git.listBranches({ fs: ctx.fs, gitdir: ctx.gitdir });
  return names.filter((n) => refNameProblem(n) === undefined).sort(byteOrder);
}

/** Branch names under refs/remotes/<remote>/ (without HEAD), filtered the same way. */
export async function remoteBranchNames(ctx: GitContext, remote: string): Promise<string[]> {
  const git = await loadGit();
  const names = await git.listBranches({ fs: ctx.fs, gitdir: ctx.gitdir, remote });
  return names.filter((n) => n !== 'HEAD' && refNameProblem(n) === undefined).sort(byteOrder);
}

/** Every tag with its target peeled and its message when annotated. */
export async function listTags(ctx: GitContext): Promise<TagInfo[]> {
  const out: TagInfo[] = [];
  for (const name of await tagNames(ctx)) out.push(await readTagInfo(ctx, name));
  return out;
}

/** One tag's details; E_BAD_REV when there is no such tag. */
export async function readTagInfo(ctx: GitContext, name: string): Promise<TagInfo> {
  const git = await loadGit();
  let oid: string;
  try {
    oid = await git.resolveRef({ fs: ctx.fs, gitdir: ctx.gitdir, ref: `refs/tags/${name}` });
  } catch (err) {
    if (isNotFound(err)) throw badRev(name, 'no tag');
    throw toCpvError(err, { action: `read tag ${name}` });
  }
  const obj = await readObject(ctx, oid, name);
  if (obj.type !== 'tag')
    return { name, oid, target: oid, targetType: obj.type as ObjectType, annotated: false };
  const tag = obj.object as { message: string; tagger: Person };
  const target = await peel(ctx, oid, 'any', name);
  const targetType = (await readObject(ctx, target, name)).type as ObjectType;
  return { name, oid, target, targetType, annotated: true, message: tag.message, tagger: tag.tagger };
}
