/**
 * The git operations the checkpoint API needs, behind one small interface (`ModelGit`), all of
 * them through the shared git layer (`GitRepo` in `src/git/`): its write lock and git's own lock
 * files for every change, identity lookup, and one way to reach a host (HTTPS with proxy, CA and
 * credentials that are never stored, or SSH). What is here is the checkpoint repo's conventions:
 * one branch `main`, one remote `origin`, tags pruned from the host, fast-forward-only pulls.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CpvError } from '../../errors.js';
import type { GitCredentials } from '../../git/auth.js';
import { GitRepo } from '../../git/repo.js';
import type { SshOptions } from '../../git/ssh-transport.js';

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

/** How to reach the git host: HTTPS credentials and/or SSH settings, and the environment. */
export interface RemoteAccess {
  credentials?: GitCredentials;
  ssh?: SshOptions;
  env?: NodeJS.ProcessEnv;
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

/** A git repository holding one model. */
export class ModelGit {
  readonly gitdir: string;

  constructor(readonly dir: string) {
    this.gitdir = path.join(dir, '.git');
  }

  exists(): boolean {
    return fs.existsSync(this.gitdir);
  }

  async init(): Promise<void> {
    await GitRepo.init(this.dir, { defaultBranch: DEFAULT_BRANCH });
  }

  private open(): GitRepo {
    return GitRepo.open(this.dir);
  }

  /**
   * Files git sees changed: modified or deleted tracked files, and (with `untracked`) new files
   * that no ignore rule covers.
   */
  async changedFiles(opts: { untracked?: boolean } = {}): Promise<string[]> {
    const rows = await this.open().status(['.']);
    return rows
      .filter((r) => r.staged !== null || r.unstaged !== null)
      .filter((r) => opts.untracked || r.staged !== null || r.unstaged !== 'untracked')
      .map((r) => r.path);
  }

  /**
   * Commits every change to tracked files plus the new files named in `add` (`'all'`: every new
   * file); returns the commit, or undefined when nothing changed. Other new files — a user's notes
   * or logs in the repo — are left alone, untracked.
   */
  async commitAll(
    message: string,
    author: Identity,
    add: string[] | 'all' = [],
  ): Promise<string | undefined> {
    const untracked = await this.changedFiles({ untracked: true });
    const tracked = new Set(await this.changedFiles());
    const paths = untracked.filter((f) => tracked.has(f) || add === 'all' || add.includes(f));
    if (paths.length === 0) return undefined;
    const who = { name: author.name, email: author.email };
    return this.open().commit({ message, author: who, committer: who, paths });
  }

  async headCommit(): Promise<string | undefined> {
    return this.open()
      .resolve('HEAD')
      .catch(() => undefined); // no commit yet
  }

  async listTags(): Promise<string[]> {
    return (await this.open().listTags()).map((t) => t.name);
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
    await this.open().tag({
      name,
      message,
      tagger: { name: tagger.name, email: tagger.email },
      force: opts.force ?? false,
      ...(opts.commit ? { rev: opts.commit } : {}),
    });
  }

  async deleteTag(name: string): Promise<void> {
    await this.open().deleteTag(name);
  }

  /** The commit, message and time of a tag; E_BAD_REV when it does not exist. */
  async tagInfo(name: string): Promise<TagInfo> {
    if (!(await this.hasTag(name))) {
      throw new CpvError('E_BAD_REV', `no checkpoint tagged ${name}`, {
        hint: 'List the versions with readCheckpointTag() (cpv model versions).',
      });
    }
    const repo = this.open();
    const info = await repo.readTag(name);
    const commit = await repo.resolveCommit(info.target);
    const when =
      info.tagger?.timestamp ?? (await repo.log({ rev: commit, depth: 1 }))[0]?.committer.timestamp ?? 0;
    return {
      name,
      commit,
      message: (info.message ?? '').trim(),
      createdAt: new Date(when * 1000).toISOString(),
    };
  }

  /** The files in a commit's tree (posix paths). */
  async filesAt(commit: string): Promise<string[]> {
    return [...(await this.blobsAt(commit)).keys()];
  }

  /** Path → blob id of every file in a commit's tree. */
  async blobsAt(commit: string): Promise<Map<string, string>> {
    const entries = await this.open().readTree(commit, '', { recursive: true });
    return new Map(entries.filter((e) => e.type === 'blob').map((e) => [e.path, e.oid]));
  }

  /** A file's bytes at a commit, or undefined if it is not there. */
  async readAt(commit: string, filepath: string): Promise<Uint8Array | undefined> {
    try {
      return await this.open().readFile(commit, filepath);
    } catch (err) {
      if (err instanceof CpvError && err.code === 'E_BAD_REV') return undefined;
      throw err;
    }
  }

  /** Points `origin` at `url` (no credentials are ever written into it). */
  async setOrigin(url: string): Promise<void> {
    await this.open().setRemote(ORIGIN, url);
  }

  async originUrl(): Promise<string | undefined> {
    return this.open().remoteUrl(ORIGIN);
  }

  /**
   * Pushes one ref (`refs/heads/main`, `refs/tags/v1.0`) to origin through the shared git layer;
   * `delete` removes it from the host instead (while it still exists here).
   */
  async push(
    ref: string,
    access: RemoteAccess,
    opts: { delete?: boolean; force?: boolean } = {},
  ): Promise<void> {
    if (opts.delete) return this.deleteRemoteRef(ref, access);
    const tag = /^refs\/tags\/(.+)$/.exec(ref)?.[1];
    const branch = /^refs\/heads\/(.+)$/.exec(ref)?.[1];
    const common = { ...access, force: opts.force ?? false };
    if (tag !== undefined) await this.open().push({ ...common, branch: false, tags: [tag] });
    else await this.open().push({ ...common, branch: branch ?? DEFAULT_BRANCH });
  }

  private async deleteRemoteRef(ref: string, access: RemoteAccess): Promise<void> {
    await this.open().deleteRemoteRef(ref, access);
  }

  /**
   * Fetches branches and tags from origin, deleting here the tags deleted on the host (a rolled-back
   * release disappears everywhere).
   */
  async fetch(access: RemoteAccess): Promise<void> {
    await this.open().fetch({ ...access, tags: true, prune: true });
  }

  /** Fetches, then fast-forwards main (and the work tree) to origin's main; refuses to merge. */
  async pull(access: RemoteAccess): Promise<void> {
    await this.fetch(access);
    const theirs = `refs/remotes/${ORIGIN}/${DEFAULT_BRANCH}`;
    const repo = this.open();
    if ((await repo.resolve(theirs).catch(() => undefined)) === undefined) return; // the host has no main yet
    if ((await repo.fastForward(DEFAULT_BRANCH, theirs)) === 'diverged') {
      throw new CpvError(
        'E_PUSH_REJECTED',
        `${this.dir} has commits the git host does not, and the host has others`,
        {
          hint: 'The histories diverged (a push failed earlier while someone else pushed): merge them with git, then retry.',
        },
      );
    }
  }

  /** Clones `url` into this directory (which must not exist or be empty); nothing is left on failure. */
  async clone(url: string, access: RemoteAccess): Promise<void> {
    try {
      await GitRepo.clone(url, this.dir, { ...access, ref: DEFAULT_BRANCH });
    } catch (err) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      throw err;
    }
  }
}
