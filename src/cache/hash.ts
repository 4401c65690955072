/**
 * File hashes as DVC computes them (dvc-compat §1.6).
 *
 * - `md5`: MD5 of the raw bytes (DVC 3).
 * - `md5-dos2unix` (legacy DVC 2 outputs): the file is cut into chunks of exactly 1 MiB counted
 *   from the start of the file; each chunk whose first 512 bytes look like text has its CRLF pairs
 *   turned into LF before hashing. The decision and the conversion are per chunk, so a CRLF split
 *   across a chunk boundary is never converted.
 *
 * Because the chunks are defined on the byte stream, every reader here fills whole 1 MiB-multiple
 * blocks (looping over short reads) and only the last block of a file may be shorter.
 */
import { Buffer } from 'node:buffer';
import * as fs from 'node:fs';
import { CpvError, errnoCode } from '../errors.js';
import { defaultMd5Factory, defaultMd5FactorySync, type Md5Factory, type Md5Hasher } from './md5.js';

export type HashName = 'md5' | 'md5-dos2unix';

/** DVC's dos2unix chunk: `fobj_md5(chunk_size=2**20)`. */
export const DOS2UNIX_CHUNK = 1 << 20;
/** Bytes of a chunk that decide text vs binary (`DEFAULT_CHUNK_SIZE = 512`). */
export const TEXT_PROBE = 512;
/**
 * Read size of the streaming reader: a multiple of DOS2UNIX_CHUNK. Measured on a page-cached
 * 2 GiB file: 4 MiB blocks let hashing run at node:crypto's own MD5 speed; 1 MiB blocks lost
 * ~10% to per-read round trips, 8 MiB gained nothing more.
 */
export const READ_BLOCK = 4 * DOS2UNIX_CHUNK;

// ---------------------------------------------------------------------------------------------
// Text detection and the dos2unix transform

/** 1 for the bytes DVC counts as text: 0x20..0x7E, \n, \r, \t, \f, \b. */
const TEXT_BYTES = (() => {
  const t = new Uint8Array(256);
  t.fill(1, 0x20, 0x7f);
  for (const b of [0x0a, 0x0d, 0x09, 0x0c, 0x08]) t[b] = 1;
  return t;
})();

/** DVC's `istextblock`: empty is text, any NUL is binary, else at most 30% non-text bytes. */
export function isTextBlock(block: Uint8Array): boolean {
  if (block.length === 0) return true;
  let nonText = 0;
  for (const b of block) {
    if (b === 0) return false;
    if (TEXT_BYTES[b] !== 1) nonText++;
  }
  return nonText / block.length <= 0.3;
}

const CRLF = Buffer.from('\r\n');
/** Output buffer of dos2unixChunk, shared: its result is always consumed before the next call. */
let dos2unixOut: Buffer | undefined;

/**
 * One md5-dos2unix chunk (at most 1 MiB) as DVC 3 feeds it to MD5: unchanged if its first 512
 * bytes are binary or it has no CRLF, else with every CRLF replaced by LF (lone CRs kept).
 * The result may be a view of a shared buffer: hash it before calling this again.
 */
export function dos2unixChunk(chunk: Uint8Array): Uint8Array {
  if (chunk.length > DOS2UNIX_CHUNK) {
    throw new CpvError('E_USAGE', `dos2unix chunk of ${chunk.length} bytes exceeds 1 MiB`);
  }
  const src = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  if (!isTextBlock(src.subarray(0, TEXT_PROBE))) return chunk;
  const first = src.indexOf(CRLF);
  if (first < 0) return chunk;
  dos2unixOut ??= Buffer.allocUnsafe(DOS2UNIX_CHUNK);
  const out = dos2unixOut;
  src.copy(out, 0, 0, first);
  // A plain byte loop: ~2 ms/MiB whatever the line length (an indexOf per line costs 25x that on
  // short lines). It drops each CR that is followed by LF.
  let written = first;
  for (let i = first; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x0d && src[i + 1] === 0x0a) continue;
    out[written++] = b;
  }
  return out.subarray(0, written);
}

// ---------------------------------------------------------------------------------------------
// A hasher fed in 1 MiB-aligned blocks

/**
 * Hashes a byte stream under `hashName`. Feed it blocks whose lengths are multiples of 1 MiB; only
 * the final block may be shorter (that is what makes the dos2unix chunking exact).
 */
export class StreamHasher {
  private readonly md5: Md5Hasher;
  private size = 0;
  private sawShortBlock = false;

  constructor(
    private readonly hashName: HashName,
    factory: Md5Factory = defaultMd5FactorySync(),
  ) {
    this.md5 = factory();
  }

  update(block: Uint8Array): void {
    if (this.sawShortBlock && block.length > 0) {
      throw new CpvError('E_USAGE', 'StreamHasher: data after a block that was not a multiple of 1 MiB');
    }
    if (block.length % DOS2UNIX_CHUNK !== 0) this.sawShortBlock = true;
    this.size += block.length;
    if (this.hashName === 'md5') {
      this.md5.update(block);
      return;
    }
    for (let off = 0; off < block.length; off += DOS2UNIX_CHUNK) {
      this.md5.update(dos2unixChunk(block.subarray(off, off + DOS2UNIX_CHUNK)));
    }
  }

  digest(): { md5: string; size: number } {
    return { md5: this.md5.digestHex(), size: this.size };
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

/** A read failure on `path` as a CpvError (ENOENT → missing, EACCES/EPERM → unreadable). */
export function readError(err: unknown, path: string): CpvError {
  if (err instanceof CpvError) return err;
  const code = errnoCode(err);
  if (code === 'ENOENT') {
    return new CpvError('E_TARGET_MISSING', `'${path}' does not exist`, {
      hint: 'Check the path; the file may have been moved or deleted while cpv was running.',
      cause: err,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new CpvError('E_UNREADABLE', `cannot read '${path}': permission denied`, {
      hint: 'Fix the file permissions (chmod u+r), or exclude the file in .dvcignore.',
      cause: err,
    });
  }
  const reason = code === 'EISDIR' ? 'it is a directory' : ((err as Error)?.message ?? String(err));
  return new CpvError('E_IO', `cannot read '${path}': ${reason}`, {
    hint: 'Check that the file is a readable regular file and the disk is healthy, then retry.',
    cause: err,
  });
}

// ---------------------------------------------------------------------------------------------
// Readers

/**
 * Reads until `buf[0:len]` is full or EOF; returns the byte count (short only at EOF).
 * Uses callback `fs.read` on the handle's descriptor: one request per read, without the result
 * object and promise that `FileHandle.read` makes per call (measured ~10% slower at 1 MiB reads).
 */
export function readFull(
  fh: fs.promises.FileHandle,
  buf: Buffer,
  len: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onRead = (err: NodeJS.ErrnoException | null, bytesRead: number): void => {
      if (err !== null) {
        reject(err);
        return;
      }
      got += bytesRead;
      if (bytesRead === 0 || got === len) resolve(got);
      else fs.read(fh.fd, buf, got, len - got, position + got, onRead);
    };
    if (len === 0) resolve(0);
    else fs.read(fh.fd, buf, 0, len, position, onRead);
  });
}

/** Synchronous readFull. */
export function readFullSync(fd: number, buf: Uint8Array, len: number, position: number): number {
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

export interface StreamOptions {
  signal?: AbortSignal | undefined;
}

/**
 * Calls `onBlock` with each READ_BLOCK-sized block of the file (the last one shorter), in order.
 * Two buffers alternate: the next block is read (in libuv's thread pool) while `onBlock` hashes the
 * current one on this thread, so disk time hides behind hashing time. `onBlock` must be done with
 * its block when its promise settles, because that buffer is then refilled.
 */
export async function streamBlocks(
  fh: fs.promises.FileHandle,
  path: string,
  onBlock: (block: Buffer) => void | Promise<void>,
  opts: StreamOptions = {},
): Promise<void> {
  // The second buffer is made only for files longer than one block (most files are not).
  const bufs: [Buffer, Buffer | undefined] = [Buffer.allocUnsafe(READ_BLOCK), undefined];
  const read = (i: 0 | 1, position: number): Promise<number> => {
    bufs[i] ??= Buffer.allocUnsafe(READ_BLOCK);
    return readFull(fh, bufs[i], READ_BLOCK, position).catch((err: unknown) => {
      throw readError(err, path);
    });
  };
  let current: 0 | 1 = 0;
  let position = 0;
  let pending = read(0, 0);
  try {
    for (;;) {
      const n = await pending;
      opts.signal?.throwIfAborted();
      if (n === 0) return;
      position += n;
      const next: 0 | 1 = current === 0 ? 1 : 0;
      // A short block means EOF: skip the extra read syscall.
      pending = n < READ_BLOCK ? Promise.resolve(0) : read(next, position);
      await onBlock(bufs[current]!.subarray(0, n));
      current = next;
    }
  } finally {
    // Never leave a read running into a buffer (or a handle) the caller is about to drop.
    await pending.catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Public hashing entry points

export interface HashFileOptions extends StreamOptions {
  /** MD5 engine; defaults to node:crypto, or hash-wasm where node:crypto has no MD5. */
  md5?: Md5Factory;
}

async function openForRead(path: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(path, 'r');
  } catch (err) {
    throw readError(err, path);
  }
}

/** Hashes a file in bounded memory (two READ_BLOCK buffers), following symlinks. */
export async function hashFile(
  path: string,
  hashName: HashName = 'md5',
  opts: HashFileOptions = {},
): Promise<{ md5: string; size: number }> {
  const hasher = new StreamHasher(hashName, opts.md5 ?? (await defaultMd5Factory()));
  const fh = await openForRead(path);
  try {
    await streamBlocks(fh, path, (block) => hasher.update(block), opts);
  } finally {
    await fh.close();
  }
  return hasher.digest();
}

let syncScratch: Buffer | undefined;

/**
 * Hashes a file with synchronous reads into one reused buffer: the fast path for small files
 * (inside worker threads, where blocking is fine). `scratch`, if given, must hold at least 1 MiB;
 * reads use the largest 1 MiB multiple that fits.
 */
export function hashFileSync(
  path: string,
  hashName: HashName = 'md5',
  scratch?: Buffer,
  md5?: Md5Factory,
): { md5: string; size: number } {
  if (scratch !== undefined && scratch.length < DOS2UNIX_CHUNK) {
    throw new CpvError('E_USAGE', `hashFileSync scratch buffer must hold at least ${DOS2UNIX_CHUNK} bytes`);
  }
  syncScratch ??= Buffer.allocUnsafe(DOS2UNIX_CHUNK);
  const buf = scratch ?? syncScratch;
  const blockLen = buf.length - (buf.length % DOS2UNIX_CHUNK);
  const hasher = new StreamHasher(hashName, md5 ?? defaultMd5FactorySync());
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw readError(err, path);
  }
  try {
    for (let position = 0; ; ) {
      const n = readFullSync(fd, buf, blockLen, position);
      hasher.update(buf.subarray(0, n));
      position += n;
      if (n < blockLen) break;
    }
  } catch (err) {
    throw readError(err, path);
  } finally {
    fs.closeSync(fd);
  }
  return hasher.digest();
}

/** Hash of bytes already in memory (manifests, tests). */
export function hashBytes(bytes: Uint8Array, hashName: HashName = 'md5', md5?: Md5Factory): string {
  const hasher = new StreamHasher(hashName, md5 ?? defaultMd5FactorySync());
  hasher.update(bytes);
  return hasher.digest().md5;
}
