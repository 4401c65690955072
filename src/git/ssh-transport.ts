/**
 * SSH remotes (placeholder until the ssh2-based transport lands): recognises ssh URLs so they get
 * a clear error instead of isomorphic-git's "unknown transport".
 */
import { CpvError } from '../errors.js';
import type { GitHttpClient } from './http.js';

export interface SshOptions {
  env?: NodeJS.ProcessEnv;
}

/** `ssh://…`, `git+ssh://…` or scp-like `user@host:path`. */
export function isSshUrl(url: string): boolean {
  if (/^(ssh|git\+ssh|ssh\+git):\/\//i.test(url)) return true;
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && /^[^/:]+:/.test(url) && !/^[a-zA-Z]:[\\/]/.test(url);
}

export function sshTransport(
  url: string,
  _options: SshOptions,
): { isoUrl: string; http: GitHttpClient; fail(err: unknown, action: string): CpvError } {
  throw new CpvError('E_REMOTE_CONFIG', `SSH remotes are not supported yet: ${url}`, {
    hint: 'use the https:// URL of the repository with a token',
  });
}
