/**
 * Bringing one remote object into the local cache, trusting nothing: the bytes are hashed as they
 * arrive (small objects in memory, large ones while they stream into a temp file beside their
 * final cache path), and only if the hash matches the oid does the object land in the cache,
 * 0o444, by rename. A corrupt or truncated download never becomes a cache object (it would then
 * be trusted for its 0o444 mode, dvc-compat §4.2).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DOS2UNIX_CHUNK, type HashName, hashBytes, StreamHasher } from '../cache/hash.js';
import { defaultMd5Factory } from '../cache/md5.js';
import { OBJECT_MODE, type ObjectStore, tempName, writeError } from '../cache/odb.js';
import { CpvError } from '../errors.js';
import { objectKey } from './keys.js';
import { canOffload, OffThreadHashingSink } from './off-thread.js';
import type { Remote, TransferCallOptions } from './remote.js';
import { abortedError, throwIfAborted, withRetry } from './retry.js';

/**
 * Objects up to this size are collected in memory, checked, and written in one go: most objects
 * of a dataset are a few KiB, and for those the seven file calls of a streamed write (and its
 * 1 MiB block buffer) cost more than the bytes. Bigger objects stream through a temp file in
 * bounded memory.
 */
const IN_MEMORY_MAX = 1 << 20;

/**
 * Downloads `oid` from `remote` into `odb`, verified. Returns the object's size. Callers ask for
 * objects they found missing from the cache (see ObjectStore.storeVerified's `foundMissing`).
 */
export async function downloadToCache(
  remote: Remote,
  odb: ObjectStore,
  oid: string,
  hashName: HashName,
  opts: TransferCallOptions = {},
): Promise<number> {
  const key = objectKey(oid, hashName);
  // Retry whole downloads on transient errors (a reset mid-stream cannot be resumed here).
  /** Checks bytes held in memory against the oid and stores them. */
  const storeWhole = async (bytes: Buffer): Promise<number> => {
    verify(remote, oid, key, hashBytes(bytes, hashName, await defaultMd5Factory()));
    await odb.storeVerified(bytes, oid, hashName, true);
    return bytes.length;
  };
  return withRetry(async () => {
    const small = await remote.getSmall?.(key, IN_MEMORY_MAX, opts);
    if (small !== undefined) return storeWhole(small);
    const body = await remote.get(key, opts);
    const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const head = await readUpTo(chunks, IN_MEMORY_MAX).catch((err: unknown) => {
      body.destroy();
      throw err;
    });
    throwIfAborted(opts.signal);
    if (head.ended)
      return storeWhole(head.chunks.length === 1 ? head.chunks[0]! : Buffer.concat(head.chunks));
    return streamToCache(remote, odb, oid, hashName, key, body, prefixed(head.chunks, chunks), opts);
  }, opts);
}

/** Reads chunks until more than `max` bytes came or the stream ended. */
async function readUpTo(
  chunks: AsyncIterator<Buffer>,
  max: number,
): Promise<{ chunks: Buffer[]; ended: boolean }> {
  const got: Buffer[] = [];
  let size = 0;
  while (size <= max) {
    const next = await chunks.next();
    if (next.done) return { chunks: got, ended: true };
    got.push(next.value);
    size += next.value.length;
  }
  return { chunks: got, ended: false };
}

/** The chunks already read, then the rest of the stream. */
async function* prefixed(first: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* first;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/** Streams a large object into a temp file beside its cache path, hashing on the way. */
async function streamToCache(
  remote: Remote,
  odb: ObjectStore,
  oid: string,
  hashName: HashName,
  key: string,
  body: Readable,
  chunks: AsyncGenerator<Buffer>,
  opts: TransferCallOptions,
): Promise<number> {
  const final = odb.pathFor(oid, hashName);
  const dir = path.dirname(final);
  const tmp = path.join(dir, tempName());
  const offload = canOffload(hashName);
  let fh: fs.promises.FileHandle | undefined;
  let created = false;
  try {
    await fs.promises.mkdir(dir, { recursive: true }).catch((err: unknown) => {
      throw writeError(err, dir);
    });
    // Created before streaming, so a cancelled download can never create it after its clean-up.
    // The worker reopens it for writing, so it stays writable by its owner until placeTemp.
    fh = await fs.promises.open(tmp, 'wx', offload ? 0o600 : OBJECT_MODE).catch((err: unknown) => {
      throw writeError(err, tmp);
    });
    created = true;
    let sink: HashingFileSink | OffThreadHashingSink;
    if (offload) {
      await fh.close();
      fh = undefined;
      sink = new OffThreadHashingSink(tmp, (err) => writeError(err, tmp));
    } else {
      sink = new HashingFileSink(fh, tmp, hashName, await defaultMd5Factory());
    }
    await pipeline(Readable.from(chunks, { objectMode: false }), sink, { signal: opts.signal });
    const { md5, size } = sink.digest();
    verify(remote, oid, key, md5);
    await placeTemp(tmp, final);
    return size;
  } catch (err) {
    body.destroy();
    await fh?.close().catch(() => undefined);
    if (created) await fs.promises.rm(tmp, { force: true });
    if (opts.signal?.aborted) throw abortedError(opts.signal);
    throw err;
  }
}

/** Throws unless the downloaded bytes hash to the object's id. */
function verify(remote: Remote, oid: string, key: string, md5: string): void {
  const expected = oid.endsWith('.dir') ? oid.slice(0, -4) : oid;
  if (md5 === expected) return;
  throw new CpvError(
    'E_CACHE_CORRUPT',
    `object ${oid} on remote '${remote.name}' is corrupt: its bytes hash to ${md5}`,
    {
      hint: `It was not put into the cache. Re-push it from a clone that has it intact, or delete '${key}' on the remote.`,
    },
  );
}

/** chmod 0o444, then rename over `final` unless an intact object already sits there. */
async function placeTemp(tmp: string, final: string): Promise<void> {
  try {
    await fs.promises.chmod(tmp, OBJECT_MODE);
    const existing = await fs.promises.stat(final).catch(() => undefined);
    if (existing?.isFile() && (existing.mode & 0o7777) === OBJECT_MODE) {
      await fs.promises.rm(tmp, { force: true });
      return;
    }
    await fs.promises.rename(tmp, final);
  } catch (err) {
    throw writeError(err, final);
  }
}

/**
 * A write stream into a new file that hashes what it writes. Bytes are regrouped into 1 MiB
 * blocks before hashing because md5-dos2unix hashes the file in 1 MiB chunks; memory use is that
 * one block whatever the object's size.
 */
class HashingFileSink extends Writable {
  private readonly hasher: StreamHasher;
  private readonly block = Buffer.allocUnsafe(DOS2UNIX_CHUNK);
  private filled = 0;

  constructor(
    private readonly fh: fs.promises.FileHandle,
    private readonly filePath: string,
    hashName: HashName,
    md5: ConstructorParameters<typeof StreamHasher>[1],
  ) {
    super();
    this.hasher = new StreamHasher(hashName, md5);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.writeChunk(chunk).then(() => callback(), callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.flushBlock()
      .then(() => this.fh.close())
      .then(() => callback(), callback);
  }

  digest(): { md5: string; size: number } {
    return this.hasher.digest();
  }

  private async writeChunk(chunk: Buffer): Promise<void> {
    let off = 0;
    // Whole 1 MiB blocks of a big chunk (ranged reads arrive 8 MiB at a time) need no copy.
    if (this.filled === 0 && chunk.length >= this.block.length) {
      off = chunk.length - (chunk.length % this.block.length);
      await this.process(chunk.subarray(0, off));
    }
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, this.block.length - this.filled);
      chunk.copy(this.block, this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled === this.block.length) await this.flushBlock();
    }
  }

  private async flushBlock(): Promise<void> {
    if (this.filled === 0) return;
    await this.process(this.block.subarray(0, this.filled));
    this.filled = 0;
  }

  /** Hashes and writes `bytes` (whole 1 MiB blocks, or the last short one). */
  private async process(bytes: Buffer): Promise<void> {
    // The write runs in libuv's pool while this thread hashes the same bytes; the caller reuses
    // the buffer only after both are done.
    const written = this.writeAll(bytes);
    written.catch(() => undefined); // awaited below, after hashing
    this.hasher.update(bytes);
    await written;
  }

  private async writeAll(bytes: Buffer): Promise<void> {
    try {
      for (let off = 0; off < bytes.length; ) {
        const { bytesWritten } = await this.fh.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
    } catch (err) {
      throw writeError(err, this.filePath);
    }
  }
}
