/**
 * The git operations the checkpoint API needs, behind one small interface so the implementation
 * can move to the shared git layer (`src/git/`) once its commit/tag/push API lands, without
 * touching the checkpoint classes. For now it calls isomorphic-git directly, through
 * `atomicGitFs` (no half-written refs or index) and under `withWriteLock` for every write (no two
 * cpv writers at once, and none while the git CLI holds its own lock files).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FsClient } from 'isomorphic-git';
import { CpvError } from '../../errors.js';
import { authCallbacks, type GitCredentials, redact } from '../../git/auth.js';
import { atomicGitFs } from '../../git/git-fs.js';
import { withWriteLock } from '../../git/lock.js';

type IsoGit = typeof import('isomorphic-git');
type Http = typeof import('isomorphic-git/http/node');

let gitModule: Promise<IsoGit> | undefined;
let httpModule: Promise<Http> | undefined;
const loadGit = (): Promise<IsoGit> => {
  gitModule ??= import('isomorphic-git').then((m) => (m.default ?? m) as IsoGit);
  return gitModule;
};
const loadHttp = (): Promise<Http> => {
  httpModule ??= import('isomorphic-git/http/node').then((m) => (m.default ?? m) as Http);
  return httpModule;
};

export interface Identity {
  name: string;
  email: string;
}

export interface TagInfo {
  name: string;
  /** The commit the tag points at. */
  commit: string;
  message: string;
  /** When the tag was made (ISO 8601). */
  createdAt: string;
}

export const DEFAULT_BRANCH = 'main';
export const ORIGIN = 'origin';

/** Who commits: configured identity, git's env vars, then user@host like git's own fallback. */
export function resolveIdentity(
  configured: { name?: string; email?: string } | undefined,
  env = process.env,
): Identity {
  const user = (() => {
    try {
      return os.userInfo().username;
    } catch {
      return 'cpv';
    }
  })();
  return {
    name: configured?.name ?? env.GIT_AUTHOR_NAME ?? env.GIT_COMMITTER_NAME ?? user,
    email: configured?.email ?? env.GIT_AUTHOR_EMAIL ?? env.GIT_COMMITTER_EMAIL ?? `${user}@${os.hostname()}`,
  };
}

function gitError(what: string, err: unknown, secrets: Array<string | undefined> = []): CpvError {
  if (err instanceof CpvError) return err;
  const message = redact((err as Error)?.message ?? String(err), secrets);
  return new CpvError('E_GIT', `${what}: ${message}`, {
    hint: 'Check the model repository with `git status`; nothing was pushed.',
    cause: err,
  });
}

/** A git repository holding one model. */
export class ModelGit {
  readonly gitdir: string;

  constructor(readonly dir: string) {
    this.gitdir = path.join(dir, '.git');
  }

  private fs(): FsClient {
    return atomicGitFs(this.gitdir) as unknown as FsClient;
  }

  exists(): boolean {
    return fs.existsSync(this.gitdir);
  }

  async init(): Promise<void> {
    const git = await loadGit();
    await git.init({ fs, dir: this.dir, defaultBranch: DEFAULT_BRANCH });
  }

  /** Files whose content differs between the work tree, the index and HEAD (ignored files excluded). */
  async changedFiles(): Promise<string[]> {
    const git = await loadGit();
    const rows = await git.statusMatrix({ fs, dir: this.dir });
    return rows.filter(([, head, work, stage]) => !(head === 1 && work === 1 && stage === 1)).map(([f]) => f);
  }

  /** Stages every change (new, modified, deleted) and commits; returns the commit, or undefined if nothing changed. */
  async commitAll(message: string, author: Identity): Promise<string | undefined> {
    const git = await loadGit();
    return withWriteLock(this.gitdir, async () => {
      try {
        for (const [filepath, head, work, stage] of await git.statusMatrix({ fs, dir: this.dir })) {
          if (head === 1 && work === 1 && stage === 1) continue;
          if (work === 0) await git.remove({ fs: this.fs(), dir: this.dir, filepath });
          else await git.add({ fs: this.fs(), dir: this.dir, filepath });
        }
        const rows = await git.statusMatrix({ fs, dir: this.dir });
        if (!rows.some(([, head, , stage]) => head !== 1 || stage !== 1)) return undefined;
        return await git.commit({ fs: this.fs(), dir: this.dir, message, author });
      } catch (err) {
        throw gitError('commit failed', err);
      }
    });
  }

  async headCommit(): Promise<string | undefined> {
    const git = await loadGit();
    try {
      return await git.resolveRef({ fs, dir: this.dir, ref: 'HEAD' });
    } catch {
      return undefined; // no commit yet
    }
  }

  async listTags(): Promise<string[]> {
    const git = await loadGit();
    return git.listTags({ fs, dir: this.dir });
  }

  async hasTag(name: string): Promise<boolean> {
    return (await this.listTags()).includes(name);
  }

  /** Creates an annotated tag on HEAD (or `commit`); `force` replaces an existing one. */
  async tag(
    name: string,
    message: string,
    tagger: Identity,
    opts: { force?: boolean; commit?: string } = {},
  ): Promise<void> {
    const git = await loadGit();
    await withWriteLock(this.gitdir, async () => {
      if (!opts.force && (await this.hasTag(name))) {
        throw new CpvError('E_TAG_EXISTS', `tag ${name} exists already`, {
          hint: 'Choose another version, or pass force to move the tag.',
        });
      }
      try {
        await git.annotatedTag({
          fs: this.fs(),
          dir: this.dir,
          ref: name,
          message,
          tagger,
          force: opts.force ?? false,
          ...(opts.commit ? { object: opts.commit } : {}),
        });
      } catch (err) {
        throw gitError(`cannot create tag ${name}`, err);
      }
    });
  }

  async deleteTag(name: string): Promise<void> {
    const git = await loadGit();
    await withWriteLock(this.gitdir, async () => {
      await git.deleteTag({ fs: this.fs(), dir: this.dir, ref: name });
    });
  }

  /** The commit, message and time of a tag; E_BAD_REV when it does not exist. */
  async tagInfo(name: string): Promise<TagInfo> {
    const git = await loadGit();
    let oid: string;
    try {
      oid = await git.resolveRef({ fs, dir: this.dir, ref: `refs/tags/${name}` });
    } catch {
      throw new CpvError('E_BAD_REV', `no checkpoint tagged ${name}`, {
        hint: 'List the versions with readCheckpointTag() (cpv model versions).',
      });
    }
    const obj = await git.readObject({ fs, dir: this.dir, oid });
    if (obj.type === 'tag') {
      const { tag } = await git.readTag({ fs, dir: this.dir, oid });
      return {
        name,
        commit: await git.resolveRef({ fs, dir: this.dir, ref: tag.object }).catch(() => tag.object),
        message: tag.message.trim(),
        createdAt: new Date(tag.tagger.timestamp * 1000).toISOString(),
      };
    }
    const { commit } = await git.readCommit({ fs, dir: this.dir, oid });
    return {
      name,
      commit: oid,
      message: commit.message.trim(),
      createdAt: new Date(commit.committer.timestamp * 1000).toISOString(),
    };
  }

  /** The files in a commit's tree (posix paths). */
  async filesAt(commit: string): Promise<string[]> {
    const git = await loadGit();
    return git.listFiles({ fs, dir: this.dir, ref: commit });
  }

  /** A file's bytes at a commit, or undefined if it is not there. */
  async readAt(commit: string, filepath: string): Promise<Uint8Array | undefined> {
    const git = await loadGit();
    try {
      const { blob } = await git.readBlob({ fs, dir: this.dir, oid: commit, filepath });
      return blob;
    } catch {
      return undefined;
    }
  }

  /** Commit time of a commit (ISO 8601). */
  async commitTime(commit: string): Promise<string> {
    const git = await loadGit();
    const { commit: c } = await git.readCommit({ fs, dir: this.dir, oid: commit });
    return new Date(c.committer.timestamp * 1000).toISOString();
  }

  /** Points `origin` at `url` (no credentials are ever written into it). */
  async setOrigin(url: string): Promise<void> {
    const git = await loadGit();
    await withWriteLock(this.gitdir, async () => {
      await git.addRemote({ fs: this.fs(), dir: this.dir, remote: ORIGIN, url, force: true });
    });
  }

  async originUrl(): Promise<string | undefined> {
    const git = await loadGit();
    const remotes = await git.listRemotes({ fs, dir: this.dir });
    return remotes.find((r) => r.remote === ORIGIN)?.url;
  }

  /** Pushes refs (`refs/heads/main`, `refs/tags/v1.0`) to origin; `delete` removes a remote ref. */
  async push(
    ref: string,
    credentials: GitCredentials | undefined,
    opts: { delete?: boolean; force?: boolean } = {},
  ): Promise<void> {
    const git = await loadGit();
    const http = await loadHttp();
    const auth = authCallbacks(credentials);
    let result: Awaited<ReturnType<IsoGit['push']>>;
    try {
      result = await git.push({
        fs: this.fs(),
        http,
        dir: this.dir,
        remote: ORIGIN,
        ref,
        remoteRef: ref,
        force: opts.force ?? false,
        delete: opts.delete ?? false,
        onAuth: auth.onAuth,
        onAuthFailure: auth.onAuthFailure,
      });
    } catch (err) {
      throw pushError(ref, err, auth.refused(), credentials);
    }
    const failure = result.ok
      ? undefined
      : (result.error ?? Object.values(result.refs ?? {}).find((r) => !r.ok)?.error);
    if (!result.ok || failure) {
      throw new CpvError('E_PUSH_REJECTED', `the git host refused ${ref}: ${failure ?? 'rejected'}`, {
        hint: 'Someone else may have pushed first: download the latest version, then try again.',
      });
    }
  }

  /** Fetches branches and tags from origin and fast-forwards main. */
  async pull(credentials: GitCredentials | undefined, author: Identity): Promise<void> {
    const git = await loadGit();
    const http = await loadHttp();
    const auth = authCallbacks(credentials);
    await withWriteLock(this.gitdir, async () => {
      try {
        await git.pull({
          fs: this.fs(),
          http,
          dir: this.dir,
          remote: ORIGIN,
          ref: DEFAULT_BRANCH,
          singleBranch: true,
          fastForwardOnly: true,
          author,
          onAuth: auth.onAuth,
          onAuthFailure: auth.onAuthFailure,
        });
        await git.fetch({
          fs: this.fs(),
          http,
          dir: this.dir,
          remote: ORIGIN,
          tags: true,
          onAuth: auth.onAuth,
          onAuthFailure: auth.onAuthFailure,
        });
      } catch (err) {
        throw pushError('fetch', err, auth.refused(), credentials);
      }
    });
  }

  /** Fetches branches and tags from origin without touching the work tree. */
  async fetch(credentials: GitCredentials | undefined): Promise<void> {
    const git = await loadGit();
    const http = await loadHttp();
    const auth = authCallbacks(credentials);
    await withWriteLock(this.gitdir, async () => {
      try {
        await git.fetch({
          fs: this.fs(),
          http,
          dir: this.dir,
          remote: ORIGIN,
          tags: true,
          prune: true,
          pruneTags: true,
          onAuth: auth.onAuth,
          onAuthFailure: auth.onAuthFailure,
        });
      } catch (err) {
        throw pushError('fetch', err, auth.refused(), credentials);
      }
    });
  }

  /** Clones `url` into this directory (which must not exist or be empty). */
  async clone(url: string, credentials: GitCredentials | undefined): Promise<void> {
    const git = await loadGit();
    const http = await loadHttp();
    const auth = authCallbacks(credentials);
    try {
      await git.clone({
        fs,
        http,
        dir: this.dir,
        url,
        ref: DEFAULT_BRANCH,
        onAuth: auth.onAuth,
        onAuthFailure: auth.onAuthFailure,
      });
      await git.fetch({
        fs,
        http,
        dir: this.dir,
        remote: ORIGIN,
        tags: true,
        onAuth: auth.onAuth,
        onAuthFailure: auth.onAuthFailure,
      });
    } catch (err) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      throw pushError('clone', err, auth.refused(), credentials);
    }
  }
}

function pushError(
  what: string,
  err: unknown,
  refused: boolean,
  credentials: GitCredentials | undefined,
): CpvError {
  const e = err as { code?: string; data?: { statusCode?: number }; message?: string };
  const status = e?.data?.statusCode;
  const message = redact(e?.message ?? String(err), [credentials?.password]);
  if (refused || status === 401 || status === 403) {
    return new CpvError('E_AUTH', `the git host refused the credentials (${what})`, {
      hint: 'Check the git username and token with `cpv doctor`; run `cpv setup` to change them.',
      cause: err,
    });
  }
  if (status === 404) {
    return new CpvError('E_REMOTE_NOT_FOUND', `the git repository does not exist on the host (${what})`, {
      hint: 'Create the repository on the git host, or check the URL template (cpv setup).',
      cause: err,
    });
  }
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN/.test(`${e?.code ?? ''} ${message}`)) {
    return new CpvError('E_NETWORK', `cannot reach the git host (${what}): ${message}`, {
      hint: 'Check the network and the URL template; the checkpoint is safe locally, run the command again.',
      cause: err,
    });
  }
  if (status !== undefined && status >= 400) {
    return new CpvError('E_PUSH_REJECTED', `the git host answered HTTP ${status} (${what})`, {
      hint: 'The host refused the update; the checkpoint is safe locally, run the command again later.',
      cause: err,
    });
  }
  return gitError(`git ${what} failed`, err, [credentials?.password]);
}
