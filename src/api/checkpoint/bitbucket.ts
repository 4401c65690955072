/**
 * Creating a model's repository on Bitbucket Cloud when it is missing, through its REST API
 * (`GET`/`POST /2.0/repositories/{workspace}/{repo_slug}`), so `importModelInit` needs no manual
 * step on the host. Used for HTTPS URLs on bitbucket.org, or any host when an API base is
 * configured (Bitbucket-compatible servers, tests). New repositories are private and, when a
 * project key is configured, go into that project (e.g. the team's `AI-<Team>-model-checkpoints`).
 */
import { CpvError } from '../../errors.js';
import type { GitCredentials } from '../../git/auth.js';
import { redact } from '../../git/auth.js';

export const BITBUCKET_API = 'https://api.bitbucket.org/2.0';

export interface BitbucketTarget {
  api: string;
  workspace: string;
  slug: string;
}

/** Where to ask for the repo behind `url`, or undefined when it is not a Bitbucket HTTPS URL. */
export function bitbucketTarget(url: string, apiBase: string | undefined): BitbucketTarget | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // scp-like SSH address: no REST calls
  }
  if (!/^https?:$/.test(parsed.protocol)) return undefined;
  if (apiBase === undefined && parsed.hostname !== 'bitbucket.org') return undefined;
  const parts = parsed.pathname
    .replace(/^\/+/, '')
    .replace(/\.git$/, '')
    .split('/');
  if (parts.length < 2) return undefined;
  return {
    api: (apiBase ?? BITBUCKET_API).replace(/\/+$/, ''),
    workspace: parts.at(-2)!,
    slug: parts.at(-1)!.toLowerCase(),
  };
}

function authHeader(credentials: GitCredentials | undefined): Record<string, string> {
  if (!credentials?.password) return {};
  const user = credentials.username ?? 'x-token-auth';
  // Repository/project access tokens are bearer tokens; app passwords and API tokens go as basic auth.
  if (user === 'x-token-auth') return { authorization: `Bearer ${credentials.password}` };
  return { authorization: `Basic ${Buffer.from(`${user}:${credentials.password}`).toString('base64')}` };
}

async function call(
  method: string,
  url: string,
  credentials: GitCredentials | undefined,
  body?: unknown,
): Promise<Response> {
  try {
    return await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...authHeader(credentials),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CpvError(
      'E_NETWORK',
      `cannot reach the Bitbucket API at ${url}: ${redact((err as Error).message, [credentials?.password])}`,
      {
        hint: 'Check the network, or create the repository on the host by hand.',
        cause: err,
      },
    );
  }
}

function failure(res: Response, what: string): CpvError {
  if (res.status === 401 || res.status === 403) {
    return new CpvError('E_AUTH', `Bitbucket refused to ${what} (HTTP ${res.status})`, {
      hint: 'The token needs the repository admin (create) permission; or create the repository by hand.',
    });
  }
  return new CpvError('E_REMOTE_IO', `Bitbucket could not ${what} (HTTP ${res.status})`, {
    hint: 'Create the repository on the host by hand, then run the command again.',
  });
}

/** Makes sure the repository exists; returns whether it had to be created. */
export async function ensureBitbucketRepo(
  target: BitbucketTarget,
  credentials: GitCredentials | undefined,
  projectKey: string | undefined,
): Promise<'exists' | 'created'> {
  const url = `${target.api}/repositories/${encodeURIComponent(target.workspace)}/${encodeURIComponent(target.slug)}`;
  const found = await call('GET', url, credentials);
  if (found.ok) return 'exists';
  if (found.status !== 404) throw failure(found, `look up ${target.workspace}/${target.slug}`);
  const body = { scm: 'git', is_private: true, ...(projectKey ? { project: { key: projectKey } } : {}) };
  const created = await call('POST', url, credentials, body);
  if (!created.ok) throw failure(created, `create ${target.workspace}/${target.slug}`);
  return 'created';
}
