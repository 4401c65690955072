/**
 * A remote that is a directory (a path, or a `file://` url), laid out exactly like DVC's:
 * `<root>/files/md5/ab/cdef…`, objects read-only (0o444, as DVC leaves them; dvc-compat §5.1).
 *
 * Writes go to a temp file beside the final name and are renamed into place, so a crashed or
 * cancelled push never leaves a partial object that a later `exists` would trust.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline as pipelineCb, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TEMP_PREFIX, tempName } from '../cache/odb.js';
import { CpvError, errnoCode } from '../errors.js';
import { noSpaceError, REMOTE_SPACE_HINT } from '../fsutil.js';
import type { Remote, TransferCallOptions } from './remote.js';
import { abortedError, withRetry } from './retry.js';

/** Mode of objects on a local remote (DVC chmods them like cache objects). */
export const REMOTE_OBJECT_MODE = 0o444;

export class LocalRemote implements Remote {
  readonly traversePrefixLen = 2;

  constructor(
    readonly name: string,
    /** Absolute directory of the remote. */
    readonly root: string,
    readonly jobs: number | undefined = undefined,
  ) {}

  get url(): string {
    return this.root;
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await fs.promises.stat(this.pathOf(key))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw this.ioError(err, `cannot check '${key}'`);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    // `files/md5/00/0` → walk `files/md5/00/`, keep names starting with `0`.
    const cut = prefix.lastIndexOf('/') + 1;
    const dirKey = prefix.slice(0, cut);
    for await (const key of this.walk(dirKey)) {
      if (key.startsWith(prefix)) yield key;
    }
  }

  /** Every file key under the directory `dirKey` (`''` = the root), skipping our temp files. */
  private async *walk(dirKey: string): AsyncIterable<string> {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(this.pathOf(dirKey), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw this.ioError(err, `cannot list '${dirKey || '.'}'`);
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = dirKey + entry.name;
      if (entry.isDirectory()) yield* this.walk(`${key}/`);
      else if (entry.isFile()) yield key;
    }
  }

  async put(key: string, srcPath: string, _size: number, opts: TransferCallOptions = {}): Promise<void> {
    const final = this.pathOf(key);
    const dir = path.dirname(final);
    await withRetry(async () => {
      await fs.promises.mkdir(dir, { recursive: true });
      const tmp = path.join(dir, tempName());
      // Opened before streaming, so a cancelled copy can never create the temp after its cleanup.
      const fh = await fs.promises.open(tmp, 'wx', REMOTE_OBJECT_MODE);
      try {
        await pipeline(fs.createReadStream(srcPath), countBytes(opts.onBytes), fh.createWriteStream(), {
          signal: opts.signal,
        });
        await fs.promises.chmod(tmp, REMOTE_OBJECT_MODE); // the umask may have cut bits
        await fs.promises.rename(tmp, final);
      } catch (err) {
        await fh.close().catch(() => undefined);
        await fs.promises.rm(tmp, { force: true });
        throw err;
      }
    }, opts).catch((err: unknown) => {
      if (opts.signal?.aborted) throw abortedError(opts.signal);
      throw this.ioError(err, `cannot write '${key}'`);
    });
  }

  async get(key: string, opts: TransferCallOptions = {}): Promise<Readable> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.pathOf(key), 'r');
    } catch (err) {
      if (isMissing(err)) {
        throw new CpvError('E_REMOTE_NOT_FOUND', `'${key}' does not exist on remote '${this.name}'`, {
          hint: 'Push it from a clone that has it in its cache (cpv push).',
          cause: err,
        });
      }
      throw this.ioError(err, `cannot read '${key}'`);
    }
    const stream = fh.createReadStream({ highWaterMark: 1 << 20 });
    if (opts.onBytes === undefined) return stream;
    // Counting through a pass-through (not a 'data' listener, which would start the flow early);
    // pipeline forwards a read error to the stream the caller consumes.
    const counted = countBytes(opts.onBytes);
    pipelineCb(stream, counted, () => undefined);
    return counted;
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.promises.rm(this.pathOf(key), { force: true });
    } catch (err) {
      throw this.ioError(err, `cannot delete '${key}'`);
    }
  }

  private ioError(err: unknown, what: string): CpvError {
    if (err instanceof CpvError) return err;
    const full = noSpaceError(err, `to remote '${this.name}' (${this.root})`, REMOTE_SPACE_HINT);
    if (full !== undefined) return full;
    return new CpvError('E_REMOTE_IO', `remote '${this.name}': ${what}: ${(err as Error)?.message ?? err}`, {
      hint: `Check that '${this.root}' exists and is readable and writable by you, then retry.`,
      cause: err,
    });
  }
}

function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A pass-through stream that reports how many bytes went by. */
function countBytes(onBytes: ((n: number) => void) | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
}
