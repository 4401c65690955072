/**
 * Credentials for HTTPS remotes, turned into isomorphic-git's `onAuth` callbacks.
 *
 * Sources, first found wins: explicit options, credentials embedded in the URL (stripped from the
 * URL before anything stores it), then the environment (`CPV_GIT_USERNAME` + `CPV_GIT_TOKEN`, or
 * `CPV_GIT_PASSWORD`). Secrets never reach `.git/config`, and `redact` scrubs them from any error
 * text we pass on.
 */

export interface GitCredentials {
  username?: string;
  /** A password, app password, personal access token or API token. */
  password?: string;
}

/** A URL with any `user:password@` part removed, plus what was removed. */
export function splitUrlCredentials(url: string): { url: string; credentials: GitCredentials } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, credentials: {} }; // scp-like ssh addresses and paths have no userinfo to strip
  }
  if (!/^https?:$/.test(parsed.protocol) || (!parsed.username && !parsed.password)) {
    return { url, credentials: {} };
  }
  const credentials: GitCredentials = {};
  if (parsed.username) credentials.username = decodeURIComponent(parsed.username);
  if (parsed.password) credentials.password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), credentials };
}

/**
 * The username a hosting service expects beside a bare token, when none is given. GitHub accepts
 * any name with a token; GitLab wants `oauth2` for OAuth and project tokens (any name for personal
 * ones); Bitbucket Cloud wants `x-token-auth` for repository/project access tokens (app passwords
 * and API tokens need the real username or email, so set CPV_GIT_USERNAME for those).
 */
export function defaultTokenUser(url: string): string {
  let host = '';
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    // not a URL: fall through to the generic name
  }
  if (host === 'bitbucket.org' || host.endsWith('.bitbucket.org')) return 'x-token-auth';
  if (host.includes('gitlab')) return 'oauth2';
  return 'x-access-token';
}

/**
 * Credentials from the environment, if any are set: `CPV_GIT_USERNAME` with `CPV_GIT_TOKEN` or
 * `CPV_GIT_PASSWORD` for any host; else, by the URL's host, the variables CI systems and the
 * hosting services' own tools set: `GITHUB_TOKEN`/`GH_TOKEN` for github.com, `GITLAB_TOKEN`
 * (user oauth2) or `CI_JOB_TOKEN` (user gitlab-ci-token) for GitLab hosts,
 * `BITBUCKET_USERNAME` + `BITBUCKET_APP_PASSWORD` (or `BITBUCKET_API_TOKEN`) for bitbucket.org.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv, url = ''): GitCredentials {
  const out: GitCredentials = {};
  const username = env.CPV_GIT_USERNAME;
  const password = env.CPV_GIT_TOKEN ?? env.CPV_GIT_PASSWORD;
  if (username) out.username = username;
  if (password) out.password = password;
  if (out.password) return out;
  const host = hostOf(url);
  const token = (user: string | undefined, secret: string | undefined): GitCredentials =>
    secret ? { username: out.username ?? user, password: secret } : out;
  if (host === 'github.com' || host.endsWith('.github.com')) {
    return token('x-access-token', env.GITHUB_TOKEN ?? env.GH_TOKEN);
  }
  if (host.includes('gitlab')) {
    if (env.GITLAB_TOKEN) return token('oauth2', env.GITLAB_TOKEN);
    return token('gitlab-ci-token', env.CI_JOB_TOKEN);
  }
  if (host === 'bitbucket.org' || host.endsWith('.bitbucket.org')) {
    return token(env.BITBUCKET_USERNAME, env.BITBUCKET_APP_PASSWORD ?? env.BITBUCKET_API_TOKEN);
  }
  return out;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return '';
  }
}

/** Merges the sources in precedence order and fills in a token's username. */
export function resolveCredentials(
  url: string,
  sources: Array<GitCredentials | undefined>,
): GitCredentials | undefined {
  const found = sources.find((c) => c?.password || c?.username);
  if (!found) return undefined;
  if (found.password && !found.username) return { ...found, username: defaultTokenUser(url) };
  return found;
}

/** Auth callbacks for isomorphic-git: offer the credentials once, and report a refusal to the caller. */
export function authCallbacks(credentials: GitCredentials | undefined): {
  onAuth: () => { username?: string; password?: string; cancel?: boolean };
  onAuthFailure: () => { cancel: true };
  refused: () => boolean;
  offered: () => boolean;
} {
  let refused = false;
  let offered = false;
  return {
    onAuth: () => {
      offered = true;
      if (!credentials) {
        refused = true;
        return { cancel: true };
      }
      return { username: credentials.username ?? '', password: credentials.password ?? '' };
    },
    onAuthFailure: () => {
      refused = true;
      return { cancel: true };
    },
    refused: () => refused,
    offered: () => offered,
  };
}

/** `text` with every secret and every URL userinfo replaced by `***`. */
export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
  for (const s of secrets) {
    if (s && s.length >= 3) out = out.split(s).join('***');
  }
  return out;
}
