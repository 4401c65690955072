/**
 * One error family for the whole library. Every error carries a stable `code` (for programs and
 * exit codes) and a `hint` (one line telling a person what to do next). The library never prints:
 * callers decide how to show these.
 */
export type CpvErrorCode =
  | 'E_USAGE' // bad arguments to a call or command
  | 'E_NOT_A_REPO' // no .dvc/ found
  | 'E_ALREADY_INIT' // .dvc/ exists
  | 'E_NOT_GIT' // not in a git repo and --no-scm not given
  | 'E_TARGET_MISSING' // target path does not exist
  | 'E_TARGET_OUTSIDE' // target outside the repo, or inside .dvc/ or .git/
  | 'E_TARGET_IGNORED' // target excluded by .dvcignore
  | 'E_TARGET_TRACKED' // target already tracked by git, or overlaps another output
  | 'E_BROKEN_SYMLINK' // dangling symlink in data to add
  | 'E_SYMLINK_DIR' // adding through a symlinked directory
  | 'E_UNREADABLE' // permission denied or similar while reading data
  | 'E_DVCIGNORE_INSIDE' // a .dvcignore inside a directory being tracked (DVC's IgnoreInCollectedDirError)
  | 'E_DVCFILE_PARSE' // malformed YAML in a .dvc / dvc.lock / dvc.yaml file
  | 'E_DVCFILE_SCHEMA' // valid YAML, invalid DVC schema
  | 'E_HASH_UNSUPPORTED' // unknown hash type in an output
  | 'E_MANIFEST' // malformed .dir manifest
  | 'E_CACHE_CORRUPT' // object bytes do not match their oid
  | 'E_CACHE_MISSING' // object not in cache
  | 'E_LOCKED' // repo locked by another process
  | 'E_CONFIG_KEY' // unknown config section or option
  | 'E_CONFIG_VALUE' // config value of the wrong type, or one that cannot be written
  | 'E_CONFIG_MISSING' // config option not set
  | 'E_REMOTE_MISSING' // no remote of that name
  | 'E_REMOTE_EXISTS' // a remote of that name exists already
  | 'E_GIT' // a git operation failed (see the message; never contains credentials)
  | 'E_GIT_LOCKED' // the git repo is locked by another writer (cpv or the git CLI) past the wait
  | 'E_GIT_CORRUPT' // a git object or index is damaged
  | 'E_BAD_REV' // a revision (branch, tag, oid) or a path at it does not exist
  | 'E_BAD_REF_NAME' // a branch or tag name git would refuse
  | 'E_TAG_EXISTS' // creating a tag that already exists without force
  | 'E_NO_IDENTITY' // no author name/email for a commit or tag
  | 'E_AUTH' // a remote refused the credentials (or none were given)
  | 'E_HOST_KEY' // an SSH server's host key is unknown to, or differs from, known_hosts
  | 'E_NETWORK' // a remote could not be reached or spoke garbage
  | 'E_PUSH_REJECTED' // a remote refused a push (non-fast-forward, existing tag, hook)
  | 'E_NO_REMOTE' // no default remote, or the named remote is not configured
  | 'E_REMOTE_CONFIG' // remote configured with an unsupported url or a bad option
  | 'E_REMOTE_NOT_FOUND' // the remote's bucket or git repository, or an object asked for, does not exist
  | 'E_REMOTE_IO' // any other remote failure
  | 'E_TRANSFER_INCOMPLETE' // push/fetch/pull could not transfer every object
  | 'E_ABORTED' // the caller's AbortSignal fired
  | 'E_BAD_NAME' // a team or model name that cannot name a directory or repo (separators, .., control chars)
  | 'E_BAD_VERSION' // a checkpoint version tag not of the form v<major>.<minor> (or data-v<major>.<minor>)
  | 'E_BAD_METRICS' // checkpoint metrics that are not a JSON-serializable object
  | 'E_DIRTY' // uncommitted changes in a model repo where a clean one is needed (use force)
  | 'E_NEEDS_FORCE' // the command would lose workspace data or needs confirmation: rerun with --force
  | 'E_CHECKOUT_INTERRUPTED' // a killed checkout left half-written files: run checkout before saving data
  | 'E_NO_SPACE' // a write failed for lack of space: disk full (ENOSPC), quota (EDQUOT), file-size limit (EFBIG)
  | 'E_IO'; // other filesystem failure

export class CpvError extends Error {
  readonly code: CpvErrorCode;
  readonly hint: string | undefined;

  constructor(code: CpvErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CpvError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isCpvError(err: unknown): err is CpvError {
  return err instanceof CpvError;
}

/** The errno code of a Node system error (`ENOENT`, `EACCES`, ...), if it is one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}
