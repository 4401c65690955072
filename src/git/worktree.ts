/**
 * The index and the work tree, for the paths a caller names: stage, unstage, status, and checking
 * out paths at a revision. Always scoped to those paths — never a walk of the whole tree, which is
 * slow on the large repositories cpv is for. Writers take git's `index.lock` (through the write
 * lock) so the git CLI and cpv never write the index at the same time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../errors.js';
import { currentUmask, writeFileAtomic } from '../fsutil.js';
import type { GitContext } from './context.js';
import { toCpvError } from './git-errors.js';
import { loadGit, repoPath } from './iso.js';
import type { RepoWriteLock } from './lock.js';
import { isUnborn, peel, readTree, resolveRev, type TreeEntry } from './revs.js';

/** Paths relative to the repo root ('.' for the root itself); E_TARGET_OUTSIDE for anything outside. */
export function relPaths(ctx: GitContext, paths: string[]): string[] {
  return paths.map((p) => {
    const rel = repoPath(ctx.dir, p);
    if (
      rel === '..' ||
      rel.startsWith('../') ||
      path.isAbsolute(rel) ||
      rel === '.git' ||
      rel.startsWith('.git/')
    ) {
      throw new CpvError('E_TARGET_OUTSIDE', `'${p}' is outside the git work tree ${ctx.dir}`, {
        hint: 'name paths inside the repository',
      });
    }
    return rel === '' ? '.' : rel;
  });
}

const under = (file: string, rel: string) => rel === '.' || file === rel || file.startsWith(`${rel}/`);

function existsInWorkTree(ctx: GitContext, rel: string): boolean {
  return fs.lstatSync(path.join(ctx.dir, rel), { throwIfNoEntry: false }) !== undefined;
}

async function indexFiles(ctx: GitContext): Promise<string[]> {
  const git = await loadGit();
  try {
    return await git.listFiles({ fs: ctx.fs, dir: ctx.dir, gitdir: ctx.gitdir, cache: ctx.cache });
  } catch (err) {
    throw toCpvError(err, { action: 'read the git index' });
  }
}

/**
 * Stages `paths` like `git add`: new and changed files are added, files deleted from the work
 * tree are removed from the index. Ignored files are skipped unless `force`.
 */
export async function stage(
  ctx: GitContext,
  lock: RepoWriteLock,
  paths: string[],
  options: { force?: boolean } = {},
): Promise<void> {
  const rels = relPaths(ctx, paths);
  if (rels.length === 0) return;
  await lock.lockGitFile('index');
  const git = await loadGit();
  const present = rels.filter((r) => existsInWorkTree(ctx, r));
  const tracked = await indexFiles(ctx);
  // `git add dir` also stages the removal of tracked files deleted under dir
  const gone = [
    ...rels.filter((r) => !present.includes(r)),
    ...tracked.filter((f) => present.some((r) => r !== f && under(f, r)) && !existsInWorkTree(ctx, f)),
  ];
  if (gone.length > 0) {
    const unknown = gone.find((r) => !tracked.some((f) => under(f, r)));
    if (unknown) {
      throw new CpvError('E_TARGET_MISSING', `'${unknown}' is neither in the work tree nor in the index`, {
        hint: 'check the path',
      });
    }
  }
  try {
    if (present.length > 0) {
      await git.add({
        fs: ctx.fs,
        dir: ctx.dir,
        gitdir: ctx.gitdir,
        filepath: present,
        force: options.force,
        cache: ctx.cache,
      });
    }
    if (gone.length > 0)
      await git.remove({ fs: ctx.fs, dir: ctx.dir, gitdir: ctx.gitdir, filepath: gone, cache: ctx.cache });
  } catch (err) {
    throw toCpvError(err, { action: `stage ${rels.join(' ')}` });
  }
}

/** Unstages `paths` like `git reset -- <paths>`: their index entries go back to what HEAD has. */
export async function unstage(ctx: GitContext, lock: RepoWriteLock, paths: string[]): Promise<void> {
  const rels = relPaths(ctx, paths);
  if (rels.length === 0) return;
  await lock.lockGitFile('index');
  const git = await loadGit();
  const files = new Set<string>();
  for (const f of await indexFiles(ctx)) if (rels.some((r) => under(f, r))) files.add(f);
  if (!(await isUnborn(ctx))) {
    for (const r of rels) {
      for (const e of await headFilesUnder(ctx, r)) files.add(e.path);
    }
  }
  try {
    for (const filepath of files) {
      await git.resetIndex({ fs: ctx.fs, dir: ctx.dir, gitdir: ctx.gitdir, filepath, cache: ctx.cache });
    }
  } catch (err) {
    throw toCpvError(err, { action: `unstage ${rels.join(' ')}` });
  }
}

/** Files at HEAD under `rel` (the file itself if it is one); none if HEAD lacks it. */
async function headFilesUnder(ctx: GitContext, rel: string): Promise<TreeEntry[]> {
  try {
    return await filesAt(ctx, 'HEAD', rel);
  } catch (err) {
    if ((err as CpvError).code === 'E_BAD_REV') return [];
    throw err;
  }
}

/** The file entries at `rev` for `rel`: itself when it is a file, everything below when a directory. */
async function filesAt(ctx: GitContext, rev: string, rel: string): Promise<TreeEntry[]> {
  if (rel === '.') return readTree(ctx, rev, '', { recursive: true });
  const parent = path.posix.dirname(rel);
  const siblings = await readTree(ctx, rev, parent === '.' ? '' : parent);
  const self = siblings.find((e) => e.path === rel);
  if (!self) {
    throw new CpvError('E_BAD_REV', `path '${rel}' does not exist in '${rev}'`, {
      hint: 'check the path and the revision',
    });
  }
  return self.type === 'tree' ? readTree(ctx, rev, rel, { recursive: true }) : [self];
}

export type StagedChange = 'added' | 'modified' | 'deleted';
export type UnstagedChange = 'modified' | 'deleted' | 'untracked';

export interface FileStatus {
  path: string;
  /** HEAD → index; null when the index matches HEAD. */
  staged: StagedChange | null;
  /** index → work tree; null when the work tree matches the index. */
  unstaged: UnstagedChange | null;
}

/**
 * The status of every file at or below `paths` that HEAD, the index or the work tree has
 * (ignored untracked files excluded), clean ones included with both fields null.
 */
export async function status(ctx: GitContext, paths: string[]): Promise<FileStatus[]> {
  const rels = relPaths(ctx, paths);
  if (rels.length === 0) return [];
  const git = await loadGit();
  let rows: Array<[string, number, number, number]>;
  try {
    rows = await git.statusMatrix({
      fs: ctx.fs,
      dir: ctx.dir,
      gitdir: ctx.gitdir,
      filepaths: rels,
      cache: ctx.cache,
    });
  } catch (err) {
    throw toCpvError(err, { action: `status of ${rels.join(' ')}` });
  }
  return rows.map(([file, head, workdir, stageState]) => ({
    path: file,
    staged: stagedChange(head, stageState),
    unstaged: unstagedChange(workdir, stageState),
  }));
}

// statusMatrix codes: head 0 absent / 1 present; workdir 0 absent / 1 = HEAD / 2 differs from
// HEAD; stage 0 absent / 1 = HEAD / 2 = work tree / 3 differs from both.
function stagedChange(head: number, stageState: number): StagedChange | null {
  if (head === 0) return stageState === 0 ? null : 'added';
  if (stageState === 0) return 'deleted';
  return stageState === 1 ? null : 'modified';
}

function unstagedChange(workdir: number, stageState: number): UnstagedChange | null {
  if (workdir === 0) return stageState === 0 ? null : 'deleted';
  if (stageState === 0) return 'untracked';
  if (stageState === 2) return null;
  if (stageState === 1) return workdir === 1 ? null : 'modified';
  return 'modified';
}

/**
 * `git checkout <rev> -- <paths>`: writes the files at or below each path as `rev` has them into
 * the work tree and the index. Files the work tree has but `rev` lacks are left alone, as git
 * does. Every path is checked before anything is written.
 */
export async function checkoutPaths(
  ctx: GitContext,
  lock: RepoWriteLock,
  rev: string,
  paths: string[],
): Promise<string[]> {
  const rels = relPaths(ctx, paths);
  await peel(ctx, await resolveRev(ctx, rev), 'tree', rev);
  const entries = new Map<string, TreeEntry>();
  for (const rel of rels) for (const e of await filesAt(ctx, rev, rel)) entries.set(e.path, e);
  await lock.lockGitFile('index');
  const git = await loadGit();
  const written: string[] = [];
  try {
    for (const e of entries.values()) {
      if (e.type !== 'blob') continue; // submodules are not checked out
      const { blob } = await git.readBlob({ fs: ctx.fs, gitdir: ctx.gitdir, oid: e.oid, cache: ctx.cache });
      writeEntry(path.join(ctx.dir, e.path), e.mode, blob);
      written.push(e.path);
    }
    if (written.length > 0) {
      await git.add({
        fs: ctx.fs,
        dir: ctx.dir,
        gitdir: ctx.gitdir,
        filepath: written,
        force: true,
        cache: ctx.cache,
      });
    }
  } catch (err) {
    throw toCpvError(err, { action: `checkout ${rev} -- ${rels.join(' ')}` });
  }
  return written;
}

function writeEntry(abs: string, mode: string, content: Uint8Array): void {
  const existing = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (existing?.isDirectory()) fs.rmSync(abs, { recursive: true });
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  if (mode === '120000') {
    if (existing && !existing.isDirectory()) fs.rmSync(abs);
    fs.symlinkSync(Buffer.from(content).toString('utf8'), abs);
    return;
  }
  if (existing?.isSymbolicLink()) fs.rmSync(abs);
  // as git does: 0666 or 0777 less the umask
  writeFileAtomic(abs, content, (mode === '100755' ? 0o777 : 0o666) & ~currentUmask());
}

/** What `fastForward` did. */
export type FastForwardResult = 'fast-forward' | 'up-to-date' | 'diverged';

/**
 * `git merge --ff-only <target>` on the checked-out `branch`: moves it forward to `target` (a ref
 * or commit) and updates the index and work tree to match. When `target` is already contained
 * the answer is 'up-to-date'; when the histories diverged, 'diverged', and nothing changes.
 */
export async function fastForward(
  ctx: GitContext,
  lock: RepoWriteLock,
  branch: string,
  target: string,
): Promise<FastForwardResult> {
  await lock.lockGitFile(`refs/heads/${branch}`);
  await lock.lockGitFile('index');
  const git = await loadGit();
  try {
    const result = await git.merge({
      fs: ctx.fs,
      dir: ctx.dir,
      gitdir: ctx.gitdir,
      ours: branch,
      theirs: target,
      fastForwardOnly: true,
      cache: ctx.cache,
    });
    if (!result.fastForward) return 'up-to-date';
    await git.checkout({ fs: ctx.fs, dir: ctx.dir, gitdir: ctx.gitdir, ref: branch, cache: ctx.cache });
    return 'fast-forward';
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'FastForwardError' || code === 'MergeNotSupportedError') return 'diverged';
    throw toCpvError(err, { action: `fast-forward ${branch} to ${target}` });
  }
}
