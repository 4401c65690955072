/**
 * SSH remote addresses as git reads them: `ssh://[user@]host[:port]/path` (also `git+ssh://`,
 * `ssh+git://`) and the scp-like `[user@]host:path`, where the path is relative to the login's
 * home unless it starts with '/'.
 */
export interface SshAddress {
  user?: string;
  host: string;
  port: number;
  /** The path as the remote `git-upload-pack` must be given it. */
  path: string;
}

/** Whether `url` is an SSH address (and not an http(s) URL, a local path or a Windows drive path). */
export function isSshUrl(url: string): boolean {
  if (/^(ssh|git\+ssh|ssh\+git):\/\//i.test(url)) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[a-zA-Z]:[\\/]/.test(url)) return false;
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  return colon > 0 && (slash < 0 || colon < slash); // git's rule: a colon before any slash
}

/** Splits an SSH address; undefined when it is not one. */
export function parseSshUrl(url: string): SshAddress | undefined {
  if (!isSshUrl(url)) return undefined;
  const full = /^(?:ssh|git\+ssh|ssh\+git):\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?(\/.*)$/i.exec(
    url,
  );
  if (full) {
    const [, user, host = '', port, rest = '/'] = full;
    // ssh://host/~user/path and ssh://host/~/path mean home-relative paths, as in git
    const p = rest.startsWith('/~') ? rest.slice(1) : rest;
    return {
      user: user ? decodeURIComponent(user) : undefined,
      host: host.replace(/^\[|\]$/g, ''),
      port: port ? Number(port) : 22,
      path: decodeURIComponent(p),
    };
  }
  const scp = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+):(.*)$/.exec(url);
  if (!scp) return undefined;
  const [, user, host = '', p = ''] = scp;
  return { user, host: host.replace(/^\[|\]$/g, ''), port: 22, path: p };
}

/** `path` quoted for the remote shell the way git quotes it: in single quotes, `'` as `'\''`. */
export function shellQuote(p: string): string {
  return `'${p.replace(/'/g, `'\\''`)}'`;
}
