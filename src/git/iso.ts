/**
 * The one place isomorphic-git is loaded and handed a filesystem. Loading is lazy because most
 * cpv commands never touch git and CLI start-up time matters; the filesystem is the atomic one
 * from `git-fs.ts`, so a reader (the git CLI, another cpv) never sees a half-written git file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FsClient } from 'isomorphic-git';
import { atomicGitFs } from './git-fs.js';

export type IsoGit = typeof import('isomorphic-git');
let gitModule: Promise<IsoGit> | undefined;

export function loadGit(): Promise<IsoGit> {
  gitModule ??= import('isomorphic-git').then((m) => (m.default ?? m) as IsoGit);
  return gitModule;
}

const fsCache = new Map<string, FsClient>();

/** The filesystem to give isomorphic-git for the repository whose git directory is `gitdir`. */
export function gitFsFor(gitdir: string): FsClient {
  const key = path.resolve(gitdir);
  let client = fsCache.get(key);
  if (!client) {
    client = atomicGitFs(key, fs.promises) as FsClient;
    fsCache.set(key, client);
  }
  return client;
}

/** `p` (absolute, or relative to `root`) as the posix path relative to `root` that git stores. */
export function repoPath(root: string, p: string): string {
  const rel = path.relative(root, path.resolve(root, p));
  return rel.split(path.sep).join('/');
}
