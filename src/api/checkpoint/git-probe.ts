/**
 * Checks that a git host accepts our credentials: an authenticated `info/refs` request (what
 * `git ls-remote` sends first) through isomorphic-git's `getRemoteInfo`. For SSH, the key file must
 * exist and parse as a private key ssh2 can use.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { CpvError, errnoCode } from '../../errors.js';
import { authCallbacks, redact, resolveCredentials } from '../../git/auth.js';

export interface GitProbeResult {
  url: string;
  /** Branches and tags the host listed (0 for an empty repo). */
  refs: number;
}

/** Lists the refs at `url` with the given credentials; throws E_AUTH, E_REMOTE_NOT_FOUND or E_NETWORK. */
export async function probeGitHttps(
  url: string,
  credentials: { username?: string; token?: string },
): Promise<GitProbeResult> {
  const git = (await import('isomorphic-git')).default;
  const http = (await import('isomorphic-git/http/node')).default;
  const creds = resolveCredentials(url, [
    {
      ...(credentials.username ? { username: credentials.username } : {}),
      ...(credentials.token ? { password: credentials.token } : {}),
    },
  ]);
  const auth = authCallbacks(creds);
  try {
    const info = await git.getRemoteInfo({
      http,
      url,
      onAuth: auth.onAuth,
      onAuthFailure: auth.onAuthFailure,
    });
    const count = (group: Record<string, unknown> | undefined): number => Object.keys(group ?? {}).length;
    return {
      url,
      refs:
        count(info.refs?.heads as Record<string, unknown>) +
        count(info.refs?.tags as Record<string, unknown>),
    };
  } catch (err) {
    throw gitFailure(err, url, auth.refused(), credentials.token);
  }
}

function gitFailure(err: unknown, url: string, refused: boolean, token: string | undefined): CpvError {
  const e = err as { code?: string; data?: { statusCode?: number }; message?: string };
  const status = e?.data?.statusCode;
  const message = redact(e?.message ?? String(err), [token]);
  if (refused || status === 401 || status === 403) {
    return new CpvError('E_AUTH', `the git host refused the credentials for ${url}`, {
      hint: 'Check the username and token (cpv setup --git-username --git-token); the token needs repository read access.',
      cause: err,
    });
  }
  if (status === 404) {
    return new CpvError('E_REMOTE_NOT_FOUND', `no git repository at ${url}`, {
      hint: 'Check the URL template (cpv setup --url-template), or create the repository first.',
      cause: err,
    });
  }
  const code = e?.code ?? errnoCode(err) ?? '';
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN/.test(code + message)) {
    return new CpvError('E_NETWORK', `cannot reach the git host for ${url}: ${message}`, {
      hint: 'Check the URL template and the network.',
      cause: err,
    });
  }
  return new CpvError('E_GIT', `git host check for ${url} failed: ${message}`, {
    hint: 'Check the URL template (cpv setup --url-template).',
    cause: err,
  });
}

/** The one ssh2 function used here, typed locally (ssh2 ships no types). */
interface Ssh2Utils {
  utils: { parseKey(data: string): { type: string } | Array<{ type: string }> | Error };
}

function loadSsh2(): Ssh2Utils {
  return createRequire(import.meta.url)('ssh2') as Ssh2Utils;
}

/** Reads the SSH private key and checks ssh2 can use it. */
export async function probeSshKey(keyPath: string): Promise<{ keyPath: string; type: string }> {
  let text: string;
  try {
    text = fs.readFileSync(keyPath, 'utf8');
  } catch (err) {
    throw new CpvError('E_CONFIG_MISSING', `cannot read the SSH key ${keyPath}: ${(err as Error).message}`, {
      hint: 'Run `cpv setup --ssh` to make a key pair, or point CPV_GIT_SSH_KEY at yours.',
      cause: err,
    });
  }
  const parsed = loadSsh2().utils.parseKey(text);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    throw new CpvError('E_CONFIG_VALUE', `the SSH key ${keyPath} is not a usable private key`, {
      hint: 'Use an unencrypted OpenSSH private key, or make one with `cpv setup --ssh`.',
    });
  }
  return { keyPath, type: parsed.type };
}
