/**
 * Clone, fetch and push over smart HTTP(S) (and SSH through `ssh-transport.ts`), with credentials
 * from options, the URL or the environment offered through isomorphic-git's `onAuth`.
 *
 * Credentials never reach `.git/config` (URLs are stripped of `user:password@` before
 * isomorphic-git sees them) nor any message (every error goes through `toCpvError` with the secrets
 * to redact). isomorphic-git pushes one ref per call; `push` batches around that: one request learns
 * the remote's refs, refs already there are skipped, the rest are pushed in order, and once the
 * server has accepted the credentials they are sent up front instead of after a 401 each time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import {
  authCallbacks,
  credentialsFromEnv,
  type GitCredentials,
  resolveCredentials,
  splitUrlCredentials,
} from './auth.js';
import type { GitContext } from './context.js';
import { toCpvError } from './git-errors.js';
import { type GitHttpClient, type HttpClientOptions, makeHttpClient } from './http.js';
import { repairCoreSection } from './init.js';
import { gitFsFor, loadGit } from './iso.js';
import type { RepoWriteLock } from './lock.js';
import { assertRefName } from './refname.js';
import { remoteBranchNames, tagNames } from './revs.js';
import { isSshUrl, type SshOptions, sshTransport } from './ssh-transport.js';

export interface RemoteOptions {
  /** Credentials for HTTPS; default from the URL, then the environment (see `credentialsFromEnv`). */
  credentials?: GitCredentials;
  /** Where credentials, proxy and CA settings are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** HTTP client settings (extra CA, timeout). */
  http?: HttpClientOptions;
  /** SSH settings for ssh:// and scp-like URLs. */
  ssh?: SshOptions;
  onProgress?: (event: { phase: string; loaded: number; total?: number }) => void;
}

/** One conversation with one remote: its clean URL, transport, auth callbacks and secrets. */
interface Session {
  /** The URL with any credentials removed: what is stored and shown. */
  url: string;
  /** The URL handed to isomorphic-git (for SSH, an http-shaped stand-in the SSH transport understands). */
  isoUrl: string;
  http: GitHttpClient;
  headers: Record<string, string>;
  callbacks: {
    onAuth: () => { username?: string; password?: string; cancel?: boolean };
    onAuthFailure: () => { cancel: true };
    onAuthSuccess: () => void;
    onProgress?: (event: { phase: string; loaded: number; total?: number }) => void;
  };
  fail(err: unknown, action: string): CpvError;
  /** Ends the connection, if the transport keeps one (SSH). */
  close(): void;
}

function openSession(rawUrl: string, options: RemoteOptions): Session {
  const env = options.env ?? process.env;
  if (isSshUrl(rawUrl)) {
    const transport = sshTransport(rawUrl, { env, ...options.ssh });
    return {
      url: rawUrl,
      isoUrl: transport.isoUrl,
      http: transport.http,
      headers: {},
      callbacks: {
        onAuth: () => ({ cancel: true }),
        onAuthFailure: () => ({ cancel: true }),
        onAuthSuccess: () => {},
        onProgress: options.onProgress,
      },
      fail: (err, action) => transport.fail(err, action),
      close: () => transport.close(),
    };
  }
  const { url, credentials: fromUrl } = splitUrlCredentials(rawUrl);
  if (!/^https?:\/\//i.test(url)) {
    throw new CpvError('E_REMOTE_CONFIG', `unsupported git remote URL '${url}'`, {
      hint: 'use an https://, http://, ssh:// or user@host:path URL',
    });
  }
  const credentials = resolveCredentials(url, [options.credentials, fromUrl, credentialsFromEnv(env, url)]);
  const auth = authCallbacks(credentials);
  const headers: Record<string, string> = {};
  const secrets = [credentials?.password, fromUrl.password];
  return {
    url,
    isoUrl: url,
    http: makeHttpClient({ env, ...options.http }),
    headers,
    callbacks: {
      onAuth: auth.onAuth,
      onAuthFailure: auth.onAuthFailure,
      onAuthSuccess: () => {
        // accepted once: send them up front on the next requests of this session
        if (credentials) {
          const basic = Buffer.from(`${credentials.username ?? ''}:${credentials.password ?? ''}`).toString(
            'base64',
          );
          headers.Authorization = `Basic ${basic}`;
        }
      },
      onProgress: options.onProgress,
    },
    fail: (err, action) =>
      toCpvError(err, {
        action,
        secrets,
        authRefused: auth.refused(),
        hadCredentials: credentials !== undefined,
      }),
    close: () => {},
  };
}

/**
 * Runs `fn`, one conversation over `session`: what it throws becomes a CpvError naming `action`
 * (CpvErrors pass as they are), and the session is closed however it ends.
 */
async function converse<T>(session: Session, action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CpvError) throw err;
    throw session.fail(err, action);
  } finally {
    session.close();
  }
}

// ---------------------------------------------------------------------------------- clone

export interface CloneOptions extends RemoteOptions {
  /** Branch or tag to check out; default the remote's HEAD. */
  ref?: string;
  /** Shallow clone of this many commits. */
  depth?: number;
  singleBranch?: boolean;
  /** Do not fetch tags. */
  noTags?: boolean;
  /** Name of the remote; default origin. */
  remote?: string;
  /** The branch to start on when the remote repository is empty; default main (as GitRepo.init). */
  defaultBranch?: string;
}

/**
 * Clones `url` into `dir` (created; must be empty if it exists) and checks out the default branch
 * or `ref`. On failure nothing is left behind.
 */
export async function clone(url: string, dir: string, options: CloneOptions = {}): Promise<void> {
  const root = path.resolve(dir);
  const existed = fs.existsSync(root);
  if (existed && fs.readdirSync(root).length > 0) {
    throw new CpvError('E_USAGE', `cannot clone into ${root}: it exists and is not empty`, {
      hint: 'pick a new directory',
    });
  }
  const session = openSession(url, options);
  const git = await loadGit();
  fs.mkdirSync(root, { recursive: true });
  try {
    await git.clone({
      fs: gitFsFor(path.join(root, '.git')),
      http: session.http,
      dir: root,
      url: session.isoUrl,
      ref: options.ref,
      depth: options.depth,
      singleBranch: options.singleBranch,
      noTags: options.noTags,
      remote: options.remote,
      headers: session.headers,
      ...session.callbacks,
    });
    if (session.isoUrl !== session.url) await setRemoteUrl(root, options.remote ?? 'origin', session.url);
    repairCoreSection(path.join(root, '.git'));
    await startEmptyCloneOn(root, options.defaultBranch ?? 'main');
  } catch (err) {
    if (existed)
      for (const entry of fs.readdirSync(root))
        fs.rmSync(path.join(root, entry), { recursive: true, force: true });
    else fs.rmSync(root, { recursive: true, force: true });
    throw session.fail(err, `clone ${session.url}`);
  } finally {
    session.close();
  }
}

/** An empty remote leaves isomorphic-git's clone on 'master': move the unborn HEAD to `branch`. */
async function startEmptyCloneOn(root: string, branch: string): Promise<void> {
  assertRefName(branch, 'branch');
  const gitdir = path.join(root, '.git');
  const git = await loadGit();
  try {
    await git.resolveRef({ fs: gitFsFor(gitdir), gitdir, ref: 'HEAD' });
  } catch {
    writeFileAtomic(path.join(gitdir, 'HEAD'), `ref: refs/heads/${branch}\n`);
  }
}

async function setRemoteUrl(dir: string, remote: string, url: string): Promise<void> {
  const git = await loadGit();
  await git.setConfig({
    fs: gitFsFor(path.join(dir, '.git')),
    dir,
    path: `remote.${remote}.url`,
    value: url,
  });
}

/**
 * The refs a remote repository advertises, name → object id (`git ls-remote <url>`), without a
 * local repository: for checking a host and its credentials before anything is cloned.
 */
export async function lsRemote(url: string, options: RemoteOptions = {}): Promise<Map<string, string>> {
  const session = openSession(url, options);
  return converse(session, `list the refs of ${session.url}`, () => serverRefs(session, false));
}

/** The URL configured for `remote` (its pushurl when pushing). */
export async function remoteUrl(ctx: GitContext, remote: string, forPush = false): Promise<string> {
  const git = await loadGit();
  const get = (key: string) =>
    git.getConfig({ fs: ctx.fs, gitdir: ctx.gitdir, path: key }) as Promise<string | undefined>;
  const url =
    (forPush ? await get(`remote.${remote}.pushurl`) : undefined) ?? (await get(`remote.${remote}.url`));
  if (!url) {
    throw new CpvError('E_NO_REMOTE', `no git remote named '${remote}'`, {
      hint: `add it with: git remote add ${remote} <url>`,
    });
  }
  return url;
}

/** The URL configured for `remote`, or undefined when there is no such remote. */
export async function findRemoteUrl(ctx: GitContext, remote: string): Promise<string | undefined> {
  const git = await loadGit();
  const remotes = await git.listRemotes({ fs: ctx.fs, gitdir: ctx.gitdir });
  return remotes.find((r) => r.remote === remote)?.url;
}

/**
 * Points `remote` at `url`, creating it (with git's default fetch refspec) if it does not exist.
 * Credentials in an HTTPS URL are stripped: they are never stored in `.git/config`.
 */
export async function setRemote(
  ctx: GitContext,
  lock: RepoWriteLock,
  remote: string,
  url: string,
): Promise<void> {
  const clean = splitUrlCredentials(url).url;
  await lock.lockGitFile('config');
  const git = await loadGit();
  try {
    await git.addRemote({ fs: ctx.fs, gitdir: ctx.gitdir, remote, url: clean, force: true });
  } catch (err) {
    throw toCpvError(err, { action: `set remote ${remote}` });
  }
}

// ---------------------------------------------------------------------------------- fetch

export interface FetchOptions extends RemoteOptions {
  remote?: string;
  /** Fetch tags too (default true). */
  tags?: boolean;
  /**
   * Also delete what the remote no longer has: its remote-tracking branches here and, with tags,
   * local tags it does not advertise (`git fetch --prune --prune-tags`). For hosts whose tags are
   * the truth, such as a checkpoint repo whose rolled-back releases must vanish everywhere.
   */
  prune?: boolean;
}

export interface FetchResult {
  /** Remote branches as now recorded under refs/remotes/<remote>/. */
  branches: Record<string, string>;
  /** Tags that were new here. */
  newTags: string[];
  /** With `prune`: the refs deleted here because the remote no longer has them. */
  pruned: string[];
}

/** Remote refs as `listServerRefs` gives them, mapped name → oid. */
async function serverRefs(session: Session, forPush: boolean): Promise<Map<string, string>> {
  const git = await loadGit();
  const refs = await git.listServerRefs({
    http: session.http,
    url: session.isoUrl,
    forPush,
    protocolVersion: 1, // git http-backend answers a v2 request for receive-pack without the service line
    headers: session.headers,
    onAuth: session.callbacks.onAuth,
    onAuthFailure: session.callbacks.onAuthFailure,
    onAuthSuccess: session.callbacks.onAuthSuccess,
  });
  return new Map(refs.map((r) => [r.ref, r.oid]));
}

/**
 * Fetches every branch of `remote` into refs/remotes/<remote>/ and, unless `tags: false`, the
 * remote's tags that are new here. git's lock files are taken for every ref about to change.
 */
export async function fetch(
  ctx: GitContext,
  lock: RepoWriteLock,
  options: FetchOptions = {},
): Promise<FetchResult> {
  const remote = options.remote ?? 'origin';
  const session = openSession(await remoteUrl(ctx, remote), options);
  const git = await loadGit();
  const tagsBefore = new Set(await tagNames(ctx));
  const action = `fetch from ${remote} (${session.url})`;
  const pruned = await converse(session, action, async () => {
    const advertised = await serverRefs(session, false);
    // Pruned here, not by isomorphic-git: its pruning lists the ref directories, and would take
    // the lock files held in them for refs.
    const gone = await refsToPrune(ctx, remote, advertised, tagsBefore, options);
    await lockFetchedRefs(lock, remote, advertised, tagsBefore, gone, options);
    await git.fetch({
      fs: ctx.fs,
      http: session.http,
      gitdir: ctx.gitdir,
      url: session.isoUrl,
      remote,
      tags: options.tags !== false,
      singleBranch: false,
      headers: session.headers,
      cache: ctx.cache,
      ...session.callbacks,
    });
    for (const ref of gone) await git.deleteRef({ fs: ctx.fs, gitdir: ctx.gitdir, ref });
    return gone;
  });
  const branches: Record<string, string> = {};
  for (const ref of await remoteBranchNames(ctx, remote)) {
    branches[ref] = await git.resolveRef({
      fs: ctx.fs,
      gitdir: ctx.gitdir,
      ref: `refs/remotes/${remote}/${ref}`,
    });
  }
  const newTags = (await tagNames(ctx)).filter((t) => !tagsBefore.has(t));
  return { branches, newTags, pruned };
}

/**
 * With `prune`: the remote-tracking branches of `remote` and (with tags) the local tags that the
 * remote no longer advertises, as full ref names.
 */
async function refsToPrune(
  ctx: GitContext,
  remote: string,
  advertised: Map<string, string>,
  tagsBefore: Set<string>,
  options: FetchOptions,
): Promise<string[]> {
  if (!options.prune) return [];
  const gone: string[] = [];
  for (const branch of await remoteBranchNames(ctx, remote)) {
    if (!advertised.has(`refs/heads/${branch}`)) gone.push(`refs/remotes/${remote}/${branch}`);
  }
  if (options.tags === false) return gone;
  for (const tag of tagsBefore) {
    if (!advertised.has(`refs/tags/${tag}`)) gone.push(`refs/tags/${tag}`);
  }
  return gone;
}

/**
 * Takes git's lock file of every ref a fetch may change: the remote-tracking branch of each
 * advertised branch, each advertised tag new here, and the refs about to be pruned (with
 * `packed-refs`, where a deleted ref may also be listed).
 */
async function lockFetchedRefs(
  lock: RepoWriteLock,
  remote: string,
  advertised: Map<string, string>,
  tagsBefore: Set<string>,
  pruned: string[],
  options: FetchOptions,
): Promise<void> {
  for (const ref of advertised.keys()) {
    if (ref.startsWith('refs/heads/')) await lock.lockGitFile(`refs/remotes/${remote}/${ref.slice(11)}`);
    else if (
      options.tags !== false &&
      ref.startsWith('refs/tags/') &&
      !ref.endsWith('^{}') &&
      !tagsBefore.has(ref.slice(10))
    ) {
      await lock.lockGitFile(ref);
    }
  }
  for (const ref of pruned) await lock.lockGitFile(ref);
  if (pruned.length > 0) await lock.lockGitFile('packed-refs');
}

// ---------------------------------------------------------------------------------- push

export interface PushOptions extends RemoteOptions {
  remote?: string;
  /** Branch to push; default the current branch. Pass `false` to push tags only. */
  branch?: string | false;
  /** Tags to push: names, or `true` for every local tag. */
  tags?: string[] | true;
  /** Overwrite the remote's branch or tags even when that loses commits (git push --force). */
  force?: boolean;
}

export interface PushResult {
  /** Refs the remote accepted. */
  pushed: string[];
  /** Refs the remote already had at the same object. */
  upToDate: string[];
}

/**
 * Pushes the branch, then the tags. A rejected branch stops before any tag is sent; rejected tags
 * do not stop the other tags, and are all named in one E_PUSH_REJECTED at the end.
 */
export async function push(
  ctx: GitContext,
  lock: RepoWriteLock,
  options: PushOptions = {},
): Promise<PushResult> {
  const git = await loadGit();
  const remote = options.remote ?? 'origin';
  const url = await remoteUrl(ctx, remote, true);
  const branch =
    options.branch === false
      ? undefined
      : (options.branch ?? (await git.currentBranch({ fs: ctx.fs, gitdir: ctx.gitdir })));
  if (options.branch !== false && !branch) {
    throw new CpvError('E_USAGE', 'HEAD is detached: name the branch to push', { hint: 'pass branch' });
  }
  const wanted = options.tags === true ? await tagNames(ctx) : (options.tags ?? []);
  const refs = [...(branch ? [`refs/heads/${branch}`] : []), ...wanted.map((t) => `refs/tags/${t}`)];
  const local = new Map<string, string>();
  for (const ref of refs) {
    try {
      local.set(ref, await git.resolveRef({ fs: ctx.fs, gitdir: ctx.gitdir, ref }));
    } catch {
      throw new CpvError('E_BAD_REV', `nothing to push: '${ref}' does not exist here`, {
        hint: 'check the branch and tag names',
      });
    }
  }
  const result: PushResult = { pushed: [], upToDate: [] };
  const rejected: string[] = [];
  // Opened once the refs are known to exist here: a refusal before this needs no connection.
  const session = openSession(url, options);
  const action = `push to ${remote} (${session.url})`;
  await converse(session, action, async () => {
    const remoteRefs = await serverRefs(session, true);
    if (branch) await lock.lockGitFile(`refs/remotes/${remote}/${branch}`);
    for (const ref of refs) {
      const there = remoteRefs.get(ref);
      if (there === local.get(ref)) {
        result.upToDate.push(ref);
        continue;
      }
      if (ref.startsWith('refs/tags/') && there && !options.force) {
        rejected.push(`${ref.slice(10)} (already exists there)`);
        continue;
      }
      await git.push({
        fs: ctx.fs,
        http: session.http,
        gitdir: ctx.gitdir,
        url: session.isoUrl,
        remote,
        ref,
        remoteRef: ref,
        force: options.force,
        headers: session.headers,
        cache: ctx.cache,
        ...session.callbacks,
      });
      result.pushed.push(ref);
    }
  });
  if (rejected.length > 0) {
    throw new CpvError(
      'E_PUSH_REJECTED',
      `${action}: rejected tags ${rejected.join(', ')}${result.pushed.length ? `; pushed ${result.pushed.join(', ')}` : ''}`,
      {
        hint: 'a tag never moves silently: pick another name, or push with force to overwrite the remote tag',
      },
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------- delete

export interface DeleteRemoteRefOptions extends RemoteOptions {
  remote?: string;
}

/**
 * Deletes `ref` (`refs/heads/…` or `refs/tags/…`) on the remote (`git push --delete`), for
 * example a tag whose release was rolled back. isomorphic-git wants the ref to exist here too, so
 * delete the local one after this. A refusal by the host is E_PUSH_REJECTED.
 */
export async function deleteRemoteRef(
  ctx: GitContext,
  lock: RepoWriteLock,
  ref: string,
  options: DeleteRemoteRefOptions = {},
): Promise<void> {
  const git = await loadGit();
  const remote = options.remote ?? 'origin';
  const session = openSession(await remoteUrl(ctx, remote, true), options);
  const action = `delete ${ref} on ${remote} (${session.url})`;
  const result = await converse(session, action, async () => {
    if (ref.startsWith('refs/heads/')) await lock.lockGitFile(`refs/remotes/${remote}/${ref.slice(11)}`);
    return git.push({
      fs: ctx.fs,
      http: session.http,
      gitdir: ctx.gitdir,
      url: session.isoUrl,
      remote,
      ref,
      remoteRef: ref,
      delete: true,
      headers: session.headers,
      cache: ctx.cache,
      ...session.callbacks,
    });
  });
  const failure = Object.values(result.refs ?? {}).find((r) => !r.ok)?.error;
  if (!result.ok || failure !== undefined) {
    throw new CpvError('E_PUSH_REJECTED', `${action}: refused (${failure ?? 'rejected'})`, {
      hint: `delete ${ref} on the git host by hand`,
    });
  }
}
