/**
 * Creating a model's repository on Bitbucket Cloud when it is missing, through its REST API
 * (`GET`/`POST /2.0/repositories/{workspace}/{repo_slug}`), so `importModelInit` needs no manual
 * step on the host. Used for HTTPS URLs on bitbucket.org, or any host when an API base is
 * configured (Bitbucket-compatible servers, tests). New repositories are private and, when a
 * project key is configured, go into that project (e.g. the team's `AI-<Team>-model-checkpoints`).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { CpvError } from '../../errors.js';
import type { GitCredentials } from '../../git/auth.js';
import { redact } from '../../git/auth.js';
import { trustedCas } from '../../git/http.js';
import { proxyAgents, proxyConfigured } from '../../proxy.js';

export const BITBUCKET_API = 'https://api.bitbucket.org/2.0';
const API_TIMEOUT_MS = 30_000;

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

/** An HTTP status, all a caller here needs of an answer. */
interface ApiResponse {
  ok: boolean;
  status: number;
}

/**
 * One API request through the proxy the environment names (HTTPS_PROXY, NO_PROXY), trusting the
 * extra CA certificates of GIT_SSL_CAINFO as the git requests to the same host do. Node's global
 * `fetch` honours neither.
 */
function send(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ApiResponse> {
  const ca = trustedCas(env);
  const agents = proxyConfigured(env)
    ? proxyAgents(env, { http: {}, https: ca ? { ca } : {}, timeoutMs: API_TIMEOUT_MS })
    : undefined;
  const secure = url.protocol === 'https:';
  const agent = secure
    ? (agents?.httpsAgent ?? (ca ? new https.Agent({ ca }) : undefined))
    : agents?.httpAgent;
  const options: https.RequestOptions = {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    timeout: API_TIMEOUT_MS,
    ...(agent ? { agent } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(url, options, (res) => {
      res.resume(); // the status says all we need; the body is drained
      res.once('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, status });
      });
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer in ${API_TIMEOUT_MS / 1000} s`)));
    req.once('error', reject);
    req.end(body);
  });
}

async function call(
  method: string,
  url: string,
  credentials: GitCredentials | undefined,
  env: NodeJS.ProcessEnv,
  body?: unknown,
): Promise<ApiResponse> {
  const headers = {
    accept: 'application/json',
    ...authHeader(credentials),
    ...(body ? { 'content-type': 'application/json' } : {}),
  };
  try {
    return await send(method, new URL(url), headers, body ? JSON.stringify(body) : undefined, env);
  } catch (err) {
    throw new CpvError(
      'E_NETWORK',
      `cannot reach the Bitbucket API at ${url}: ${redact((err as Error).message, [credentials?.password])}`,
      {
        hint: 'Check the network and any HTTPS_PROXY setting, or create the repository on the host by hand.',
        cause: err,
      },
    );
  }
}

function failure(res: ApiResponse, what: string): CpvError {
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
  env: NodeJS.ProcessEnv = process.env,
): Promise<'exists' | 'created'> {
  const url = `${target.api}/repositories/${encodeURIComponent(target.workspace)}/${encodeURIComponent(target.slug)}`;
  const found = await call('GET', url, credentials, env);
  if (found.ok) return 'exists';
  if (found.status !== 404) throw failure(found, `look up ${target.workspace}/${target.slug}`);
  const body = { scm: 'git', is_private: true, ...(projectKey ? { project: { key: projectKey } } : {}) };
  const created = await call('POST', url, credentials, env, body);
  if (!created.ok) throw failure(created, `create ${target.workspace}/${target.slug}`);
  return 'created';
}
