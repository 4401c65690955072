/**
 * The parts of one multipart upload, sent `jobs` at a time.
 *
 * The design follows lib-storage's `Upload` (one part counter shared by bounded workers, the
 * first failure stops them all), but reads differently. lib-storage cuts parts out of a stream:
 * each 5 MiB part is a fresh buffer glued from stream chunks (`Buffer.concat`) and copied again
 * for hashing, and collecting that garbage cost the main thread 1.5 s per GiB pushed. Here each
 * worker owns one buffer for the whole upload; the transfer thread reads the part into it and
 * hashes it (off-thread.ts), and the main thread only sends it. Memory is `jobs × part size`.
 *
 * SigV4 signs a body by its SHA-256. The hash computed with the read is handed to the client's
 * payload hashing (`knownPayloadHash`), so the body is not hashed a second time.
 */
import { readPartOffThread } from './off-thread.js';
import { throwIfAborted } from './retry.js';

export interface PartToSend {
  /** 1-based, as S3 numbers parts. */
  number: number;
  /** Valid until `send` settles: then the buffer under it is read over with the next part. */
  body: Uint8Array;
}

export interface CompletedPart {
  PartNumber: number;
  ETag: string;
}

export interface SendPartsOptions {
  srcPath: string;
  size: number;
  partSize: number;
  jobs: number;
  signal?: AbortSignal | undefined;
  /**
   * Parts the server already holds, by number: a part whose size and MD5 match is kept, not sent
   * again (resuming an upload). Reading the MD5 costs, so it is computed only when this is given.
   */
  held?: ReadonlyMap<number, { etag: string; size: number }> | undefined;
  /** Sends one part; resolves to the ETag the server gave it. */
  send(part: PartToSend): Promise<string>;
  onBytes?: ((n: number) => void) | undefined;
}

/** Sends every part of `srcPath` (those not already held); the list to complete the upload with. */
export async function sendParts(opts: SendPartsOptions): Promise<CompletedPart[]> {
  const count = Math.ceil(opts.size / opts.partSize);
  const done: CompletedPart[] = [];
  let next = 1;
  let failed = false;
  const worker = async (): Promise<void> => {
    let buffer: ArrayBuffer | undefined;
    while (!failed && next <= count) {
      throwIfAborted(opts.signal);
      const number = next++;
      const offset = (number - 1) * opts.partSize;
      const length = Math.min(opts.partSize, opts.size - offset);
      buffer ??= new ArrayBuffer(Math.min(opts.partSize, opts.size));
      try {
        const read = await readPartOffThread({
          path: opts.srcPath,
          offset,
          length,
          buffer,
          md5: opts.held !== undefined,
        });
        buffer = read.buffer;
        const held = opts.held?.get(number);
        const etag =
          held !== undefined && held.size === length && held.etag === read.md5
            ? held.etag
            : await opts.send({ number, body: partBody(buffer, length, read.sha256) });
        done.push({ PartNumber: number, ETag: `"${etag}"` });
        opts.onBytes?.(length);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(opts.jobs, count) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
  return done.sort((x, y) => x.PartNumber - y.PartNumber);
}

/**
 * SHA-256s of part bodies, computed while reading them. The client's payload hashing (s3.ts) looks
 * a body up here first. (Not a middleware on each command: the client caches one middleware stack
 * per command class, so a per-command one would sign later parts with the first part's hash.)
 */
const payloadHashes = new WeakMap<Uint8Array, string>();

/** The SHA-256 of `body`, if it is a part body read by `sendParts`. */
export function knownPayloadHash(body: Uint8Array): string | undefined {
  return payloadHashes.get(body);
}

/** The first `length` bytes of `buffer` as a part body, its SHA-256 remembered. */
function partBody(buffer: ArrayBuffer, length: number, sha256: string): Uint8Array {
  const body = new Uint8Array(buffer, 0, length);
  payloadHashes.set(body, sha256);
  return body;
}

/** An S3 ETag without its quotes. */
export function bareEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/"/g, '');
}
