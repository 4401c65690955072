/**
 * What cpv needs from a storage backend to push and pull DVC objects (dvc-compat §5).
 *
 * A remote is a flat key space. Keys are POSIX relative paths such as
 * `files/md5/ab/cdef…` (see `keys.ts`); a backend maps them onto its storage (a directory, an S3
 * bucket prefix). The contract every backend keeps:
 *
 * - a reader never sees a partial object: `put` either leaves the complete object under its key or
 *   nothing at all (local: temp file + rename; S3: PutObject / multipart upload are atomic per key);
 * - transient failures (5xx, throttling, connection resets) are retried inside the backend;
 *   what escapes is a `CpvError` with one clear message and a hint;
 * - every call honours its `AbortSignal` and cleans up what it started.
 */
import type { Readable } from 'node:stream';

export interface TransferCallOptions {
  signal?: AbortSignal | undefined;
  /** Called with the number of bytes just moved (for progress bars). */
  onBytes?: ((n: number) => void) | undefined;
  /** Parallel requests one large object may use (multipart parts, ranged reads). */
  jobs?: number | undefined;
}

export interface Remote {
  /** The remote's name in the config (`origin`, `storage`, …). */
  readonly name: string;
  /** Where it points, for messages (`/abs/dir`, `s3://bucket/prefix`). */
  readonly url: string;
  /**
   * Length of the oid prefix DVC lists to estimate the remote's size: 2 for directories, 3 for
   * object stores (dvc-objects `TRAVERSE_PREFIX_LEN`).
   */
  readonly traversePrefixLen: number;
  /** Parallel transfers configured for this remote (`jobs` option), if any. */
  readonly jobs: number | undefined;

  /** Whether an object exists under `key`. */
  exists(key: string, opts?: TransferCallOptions): Promise<boolean>;
  /** Every key starting with `prefix` (a key prefix, not necessarily a whole directory). */
  list(prefix: string, opts?: TransferCallOptions): AsyncIterable<string>;
  /** Stores the file at `srcPath` (of `size` bytes) under `key`, all or nothing. */
  put(key: string, srcPath: string, size: number, opts?: TransferCallOptions): Promise<void>;
  /** Opens the object under `key` for reading; a missing object is `E_REMOTE_NOT_FOUND`. */
  get(key: string, opts?: TransferCallOptions): Promise<Readable>;
  /**
   * Optional fast path for small objects: the whole object under `key` in memory when it has at
   * most `maxBytes`; `undefined` when it is bigger or the backend leaves this case to `get`
   * (which then also reports a missing object).
   */
  getSmall?(key: string, maxBytes: number, opts?: TransferCallOptions): Promise<Buffer | undefined>;
  /** Removes the object under `key`; removing a missing object is not an error. */
  delete(key: string, opts?: TransferCallOptions): Promise<void>;
}
