/**
 * Checks that a git host accepts our credentials: the authenticated ref listing that
 * `git ls-remote` does, through the shared git layer (the same proxy, CA and credential handling
 * as every other git request). For SSH, the key file must exist and parse as a private key ssh2
 * can use.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { CpvError } from '../../errors.js';
import { lsRemote } from '../../git/remotes.js';

export interface GitProbeResult {
  url: string;
  /** Branches and tags the host listed (0 for an empty repo). */
  refs: number;
}

/** Lists the refs at `url` with the given credentials; throws E_AUTH, E_REMOTE_NOT_FOUND or E_NETWORK. */
export async function probeGitHttps(
  url: string,
  credentials: { username?: string; token?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<GitProbeResult> {
  const given = {
    ...(credentials.username ? { username: credentials.username } : {}),
    ...(credentials.token ? { password: credentials.token } : {}),
  };
  try {
    const refs = await lsRemote(url, { credentials: given, env });
    const named = [...refs.keys()].filter(
      (r) => (r.startsWith('refs/heads/') || r.startsWith('refs/tags/')) && !r.endsWith('^{}'),
    );
    return { url, refs: named.length };
  } catch (err) {
    throw withSetupHint(err);
  }
}

/** The shared layer's error, with a hint that names the settings to change. */
function withSetupHint(err: unknown): unknown {
  if (!(err instanceof CpvError)) return err;
  const hints: Partial<Record<CpvError['code'], string>> = {
    E_AUTH:
      'Check the username and token (cpv setup --git-username --git-token); the token needs repository read access.',
    E_REMOTE_NOT_FOUND: 'Check the URL template (cpv setup --url-template), or create the repository first.',
    E_NETWORK: 'Check the URL template, the network and any HTTPS_PROXY / GIT_SSL_CAINFO settings.',
  };
  const hint = hints[err.code];
  return hint === undefined ? err : new CpvError(err.code, err.message, { hint, cause: err });
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
