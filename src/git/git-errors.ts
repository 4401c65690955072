/**
 * Turns what isomorphic-git, Node's network stack and zlib throw into CpvErrors with stable codes
 * and one-line hints. Every message passes through `redact`, so a token that reached an error
 * (inside a URL, a server's reply) never reaches the user's terminal or logs.
 */
import { CpvError, errnoCode } from '../errors.js';
import { redact } from './auth.js';

export interface ErrorContext {
  /** What we were doing, for the message: "push to origin", "read v1:model.dvc". */
  action: string;
  /** Secrets to scrub from any text we pass on. */
  secrets?: Array<string | undefined>;
  /** Set when the remote asked for credentials and refused what we offered (or we had none). */
  authRefused?: boolean;
  /** Whether any credentials were available to offer. */
  hadCredentials?: boolean;
}

const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function isoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

function statusOf(err: unknown): number | undefined {
  const data = (err as { data?: { statusCode?: number } }).data;
  return typeof data?.statusCode === 'number' ? data.statusCode : undefined;
}

/** Whether `err` says stored git data is damaged (bad zlib stream, checksum mismatch, unparsable object). */
export function isCorruption(err: unknown): boolean {
  const code = isoCode(err) ?? '';
  const message = err instanceof Error ? err.message : '';
  return (
    code.startsWith('Z_') ||
    code === 'DecompressionError' ||
    /SHA check failed|incorrect header check|invalid (stored block|distance|code)|unexpected end of file/i.test(
      message,
    ) ||
    (code === 'InternalError' && /object|index|checksum|packfile/i.test(message))
  );
}

/** The CpvError for `err` raised while doing `ctx.action`. CpvErrors pass through unchanged. */
export function toCpvError(err: unknown, ctx: ErrorContext): CpvError {
  if (err instanceof CpvError) return err;
  const secrets = ctx.secrets ?? [];
  const raw = err instanceof Error ? err.message : String(err);
  const detail = redact(raw.split('\n')[0] ?? raw, secrets).slice(0, 300);
  const code = isoCode(err);
  const status = statusOf(err);
  const make = (c: CpvError['code'], message: string, hint: string) =>
    new CpvError(c, redact(message, secrets), {
      hint,
      // the raw error may carry request headers or URLs with secrets: keep it only when there are none
      cause: secrets.some(Boolean) ? undefined : err,
    });

  if (ctx.authRefused || code === 'UserCanceledError' || status === 401 || status === 403) {
    return make(
      'E_AUTH',
      `${ctx.action}: the remote refused ${ctx.hadCredentials ? 'the credentials' : 'access without credentials'}`,
      'set CPV_GIT_USERNAME and CPV_GIT_TOKEN (a token or app password allowed to read, and to write for push)',
    );
  }
  if (code === 'PushRejectedError' || code === 'GitPushError') {
    const reason = (err as { data?: { reason?: string } }).data?.reason;
    const why =
      reason === 'tag-exists'
        ? 'the tag already exists there'
        : reason === 'not-fast-forward' || /fast-forward|fetch first/.test(raw)
          ? 'not a fast-forward'
          : detail;
    return make(
      'E_PUSH_REJECTED',
      `${ctx.action}: rejected (${why})`,
      why === 'not a fast-forward'
        ? 'the remote has commits you do not: fetch and merge them first, or push with force to overwrite'
        : 'push with force to move the remote ref, or pick another name',
    );
  }
  if (status === 404) {
    return make(
      'E_REMOTE_NOT_FOUND',
      `${ctx.action}: no git repository at that URL (HTTP 404)`,
      'check the remote URL, or create the repository on the host first',
    );
  }
  if (status !== undefined) {
    return make(
      'E_NETWORK',
      `${ctx.action}: the server answered HTTP ${status}`,
      'check the URL and retry later',
    );
  }
  const errno = errnoCode(err);
  if (errno && NETWORK_ERRNOS.has(errno)) {
    return make(
      'E_NETWORK',
      `${ctx.action}: ${errno} (${detail})`,
      'check the URL, your network and proxy settings',
    );
  }
  if (code === 'SmartHttpError' || code === 'EmptyServerResponseError' || code === 'ParseError') {
    return make(
      'E_NETWORK',
      `${ctx.action}: the remote did not answer as a git server (${detail})`,
      'check that the URL points at a git repository',
    );
  }
  if (code === 'UrlParseError' || code === 'UnknownTransportError') {
    return make('E_USAGE', `${ctx.action}: unsupported remote URL`, 'use an https://, http:// or ssh:// URL');
  }
  if (isCorruption(err)) {
    return make(
      'E_GIT_CORRUPT',
      `${ctx.action}: the git repository is damaged (${detail})`,
      'run `git fsck --full` to see what is broken; re-clone or restore .git from a backup',
    );
  }
  const what = (err as { data?: { what?: unknown } }).data?.what;
  if (code === 'NotFoundError' && typeof what === 'string' && /^[0-9a-f]{40}$/.test(what)) {
    // an object something in the repository points at is gone: that is damage, not a typo
    return make(
      'E_GIT_CORRUPT',
      `${ctx.action}: the git repository is damaged (object ${what} is missing)`,
      'run `git fsck --full` to see what is broken; fetch it again from a remote, or restore .git from a backup',
    );
  }
  if (code === 'NotFoundError') {
    return make(
      'E_BAD_REV',
      `${ctx.action}: not found (${detail})`,
      'check the name; list tags with `git tag`',
    );
  }
  if (errno === 'ENOENT' || errno === 'EACCES' || errno === 'EPERM' || errno === 'ENOSPC') {
    return make('E_IO', `${ctx.action}: ${detail}`, 'check the path, its permissions and free disk space');
  }
  return make(
    'E_GIT',
    `${ctx.action}: ${detail}`,
    'run `git fsck` and `git status` to inspect the repository',
  );
}
