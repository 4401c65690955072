/**
 * Transfer work moved off the main thread, to one shared worker.
 *
 * During a transfer the main thread reads and writes sockets; hashing the bytes there as well (MD5
 * and SHA-256 run at ~500 MB/s here, 2 s per GiB) made it the bottleneck, and the transfer of one
 * 1 GiB object was slower than peers that hash less. The worker does two jobs:
 *
 * - **Large downloads** (`OffThreadHashingSink`): the bytes of a large md5 object go to it in
 *   order; it writes them into the temp file and hashes them. Memory stays bounded: a stream
 *   waits once `MAX_IN_FLIGHT` bytes are posted and not yet written. md5-dos2unix objects
 *   (legacy, rare) and Nodes without MD5 in node:crypto keep the main-thread path.
 * - **Upload payload hashes** (`sha256OffThread`): SigV4 signs a request body by its SHA-256;
 *   the S3 client asks the worker for it (see s3.ts) instead of hashing on the main thread.
 * - **Upload parts** (`readPartOffThread`): the worker reads one part of a file into a buffer the
 *   caller lends it and hashes it on the way (SHA-256 for the signature, MD5 when asked), then
 *   hands the buffer back. The main thread only sends it: no copy, no per-part allocation.
 *
 * The worker starts on first use and is held referenced only while a job is open, so it never
 * keeps the process alive.
 */
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { nodeCryptoHasMd5 } from '../cache/md5.js';
import { giveBackBuffer } from './range-buffers.js';

/** Bytes posted to the worker and not yet written, per stream, before the stream waits. */
const MAX_IN_FLIGHT = 16 << 20;
/** Buffers at least this big that own their whole memory are transferred instead of copied. */
const TRANSFER_MIN = 1 << 20;

const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const streams = new Map();
function fail(id, s, err) {
  s.failed = true;
  parentPort.postMessage({ id, error: { code: err.code, message: err.message } });
}
function closeFd(s) {
  if (s.fd === undefined) return;
  const fd = s.fd;
  s.fd = undefined;
  fs.closeSync(fd);
}
// All of bytes at position at, through the pool (a short write continues where it stopped).
function writeAt(fd, bytes, at, done) {
  const step = (off) =>
    fs.write(fd, bytes, off, bytes.length - off, at + off, (err, n) => {
      if (err) done(err);
      else if (off + n < bytes.length) step(off + n);
      else done(null);
    });
  step(0);
}
parentPort.on('message', (msg) => {
  if (msg.op === 'sha256') {
    const sha256 = crypto.createHash('sha256').update(msg.bytes).digest('hex');
    parentPort.postMessage({ id: msg.id, sha256, bytes: msg.bytes }, [msg.bytes.buffer]); // memory back, see below
    return;
  }
  if (msg.op === 'part') {
    const bytes = new Uint8Array(msg.buffer, 0, msg.length);
    let fd;
    try {
      fd = fs.openSync(msg.path, 'r');
      for (let off = 0; off < msg.length; ) {
        const n = fs.readSync(fd, bytes, off, msg.length - off, msg.offset + off);
        if (n === 0) throw Object.assign(new Error('the file is shorter than it was: ' + msg.path), { code: 'ESHORT' });
        off += n;
      }
      const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
      const md5 = msg.md5 ? crypto.createHash('md5').update(bytes).digest('hex') : undefined;
      parentPort.postMessage({ id: msg.id, part: { sha256, md5 }, buffer: msg.buffer }, [msg.buffer]);
    } catch (err) {
      parentPort.postMessage({ id: msg.id, error: { code: err.code, message: err.message } });
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    return;
  }
  if (msg.op === 'open') {
    // writing: writes in the pool not yet done; afterWrites: what waits for them (end, close).
    const s = { fd: undefined, md5: crypto.createHash('md5'), size: 0, failed: false, writing: 0, afterWrites: undefined };
    streams.set(msg.id, s);
    try {
      s.fd = fs.openSync(msg.path, 'r+');
    } catch (err) {
      fail(msg.id, s, err);
    }
    return;
  }
  const s = streams.get(msg.id);
  if (s === undefined) return;
  if (msg.op === 'bytes') {
    if (s.failed) return;
    const bytes = msg.bytes;
    // The write runs in the pool while this thread hashes the same bytes: a download costs the
    // longer of the two instead of their sum (writing into memory the kernel has to find first
    // took as long as hashing here). Writes are positional, so several may run at once.
    s.writing += 1;
    writeAt(s.fd, bytes, s.size, (err) => {
      s.writing -= 1;
      if (err) {
        if (!s.failed) fail(msg.id, s, err);
      } else if (!s.failed) {
        // The memory goes back with the answer: freed by the main thread's frequent collections
        // rather than by this thread's, which allocates too little to collect soon.
        parentPort.postMessage({ id: msg.id, written: bytes.length, bytes }, [bytes.buffer]);
      }
      if (s.writing === 0 && s.afterWrites !== undefined) s.afterWrites();
    });
    s.size += bytes.length;
    s.md5.update(bytes);
    return;
  }
  // 'end' (all bytes sent) or 'close' (the stream was abandoned): once its writes are done, the
  // file is closed (never under a write in flight) and, for 'end', the digest sent.
  streams.delete(msg.id);
  const finish = () => {
    s.afterWrites = undefined;
    try {
      closeFd(s);
    } catch (err) {
      if (msg.op === 'end' && !s.failed) fail(msg.id, s, err);
    }
    if (msg.op === 'end' && !s.failed) parentPort.postMessage({ id: msg.id, md5: s.md5.digest('hex'), size: s.size });
  };
  if (s.writing > 0) s.afterWrites = finish;
  else finish();
});
`;

type Reply =
  | { id: number; sha256: string }
  | { id: number; part: { sha256: string; md5?: string }; buffer: ArrayBuffer }
  | { id: number; written: number; bytes: Uint8Array }
  | { id: number; md5: string; size: number }
  | { id: number; error: { code?: string; message: string } };

interface JobHandlers {
  onReply(reply: Reply): void;
  onWorkerError(err: Error): void;
}

/** The shared worker and the jobs (streams, hashes) it serves. */
class OffThreadWorker {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, JobHandlers>();
  private nextId = 1;

  open(filePath: string, handlers: JobHandlers): number {
    const id = this.register(handlers);
    this.worker?.postMessage({ op: 'open', id, path: filePath });
    return id;
  }

  /** SHA-256 of `bytes` (copied to the worker; the caller keeps them). */
  sha256(bytes: Uint8Array): Promise<string> {
    return new Promise((resolve, reject) => {
      const id = this.register({
        onReply: (reply) => {
          this.release(id);
          if ('sha256' in reply) resolve(reply.sha256);
        },
        onWorkerError: reject,
      });
      const copy = new Uint8Array(bytes); // one copy, moved to the worker
      this.worker?.postMessage({ op: 'sha256', id, bytes: copy }, [copy.buffer]);
    });
  }

  /** Reads `length` bytes at `offset` of a file into `buffer` (lent to the worker) and hashes them. */
  readPart(request: PartRequest): Promise<PartRead> {
    return new Promise((resolve, reject) => {
      const id = this.register({
        onReply: (reply) => {
          this.release(id);
          if ('part' in reply) resolve({ ...reply.part, buffer: reply.buffer });
          else if ('error' in reply)
            reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
        },
        onWorkerError: reject,
      });
      const { buffer, ...rest } = request;
      this.worker?.postMessage({ op: 'part', id, buffer, ...rest }, [buffer]);
    });
  }

  private register(handlers: JobHandlers): number {
    const worker = this.start();
    const id = this.nextId++;
    this.jobs.set(id, handlers);
    worker.ref();
    return id;
  }

  post(id: number, bytes: Uint8Array): void {
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const give = owned && bytes.byteLength >= TRANSFER_MIN && bytes.buffer instanceof ArrayBuffer;
    const sent = give ? bytes : new Uint8Array(bytes); // the copy owns its memory: moved, not cloned
    this.worker?.postMessage({ op: 'bytes', id, bytes: sent }, [sent.buffer as ArrayBuffer]);
  }

  end(id: number): void {
    this.worker?.postMessage({ op: 'end', id });
  }

  /** Forgets a job (finished or failed); the worker drops its state. */
  release(id: number): void {
    if (!this.jobs.delete(id)) return;
    this.worker?.postMessage({ op: 'close', id });
    if (this.jobs.size === 0) this.worker?.unref();
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (reply: Reply) => this.jobs.get(reply.id)?.onReply(reply));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the transfer worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  /** The worker died: every open stream fails, and the next stream starts a new worker. */
  private fail(err: Error): void {
    this.worker = undefined;
    const open = [...this.jobs.values()];
    this.jobs.clear();
    for (const s of open) s.onWorkerError(err);
  }
}

let shared: OffThreadWorker | undefined;
let usable: boolean | undefined;

/** The process's one transfer worker (its thread starts with the first job). */
function sharedWorker(): OffThreadWorker {
  shared ??= new OffThreadWorker();
  return shared;
}

/** SHA-256 (hex) of `bytes`, computed by the shared worker. */
export function sha256OffThread(bytes: Uint8Array): Promise<string> {
  return sharedWorker().sha256(bytes);
}

export interface PartRequest {
  path: string;
  offset: number;
  length: number;
  /** Lent to the worker (it is detached here until the answer brings it back). */
  buffer: ArrayBuffer;
  /** Also compute the part's MD5 (what S3 reports as a part's ETag). */
  md5: boolean;
}

export interface PartRead {
  /** The lent buffer, back, its first `length` bytes filled. */
  buffer: ArrayBuffer;
  sha256: string;
  md5?: string | undefined;
}

/**
 * One part of a file, read and hashed by the shared worker. The lent buffer comes back with the
 * part; a failed read does not give it back (the caller stops using it).
 */
export function readPartOffThread(request: PartRequest): Promise<PartRead> {
  return sharedWorker().readPart(request);
}

/** Whether large downloads of `hashName` objects can be hashed off the main thread here. */
export function canOffload(hashName: string): boolean {
  usable ??= nodeCryptoHasMd5();
  return usable && hashName === 'md5';
}

/**
 * A write stream into the existing, empty file `filePath`, whose bytes the worker writes and
 * hashes. `digest()` gives the md5 and size once the stream has finished. The worker opens and
 * closes the file itself (no descriptor is shared between threads); the caller creates it first,
 * writable by its owner, so a cancelled download cannot create it after the caller's clean-up.
 * A written Buffer of 1 MiB or more that owns its whole memory is handed to the worker, not
 * copied: it is empty afterwards, so write only buffers nothing else reads later.
 */
export class OffThreadHashingSink extends Writable {
  private readonly worker: OffThreadWorker;
  private readonly id: number;
  private inFlight = 0;
  private resumeWrite: (() => void) | undefined;
  private finishFinal: ((err?: Error | null) => void) | undefined;
  private result: { md5: string; size: number } | undefined;
  private failure: Error | undefined;

  constructor(
    filePath: string,
    private readonly toError: (err: unknown) => Error,
  ) {
    super();
    this.worker = sharedWorker();
    this.id = this.worker.open(filePath, {
      onReply: (reply) => this.onReply(reply),
      onWorkerError: (err) => this.onFailure(err),
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.failure !== undefined) {
      callback(this.failure);
      return;
    }
    this.inFlight += chunk.length;
    this.worker.post(this.id, chunk);
    if (this.inFlight < MAX_IN_FLIGHT) callback();
    else this.resumeWrite = () => callback(this.failure);
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.failure !== undefined) {
      callback(this.failure);
      return;
    }
    this.finishFinal = callback;
    this.worker.end(this.id);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.worker.release(this.id);
    callback(err);
  }

  digest(): { md5: string; size: number } {
    if (this.result === undefined) throw new Error('OffThreadHashingSink: digest() before finish');
    return this.result;
  }

  private onReply(reply: Reply): void {
    if ('error' in reply) {
      this.onFailure(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    } else if ('written' in reply) {
      this.inFlight -= reply.written;
      giveBackBuffer(reply.bytes.buffer);
      if (this.inFlight < MAX_IN_FLIGHT && this.resumeWrite !== undefined) {
        const resume = this.resumeWrite;
        this.resumeWrite = undefined;
        resume();
      }
    } else if ('md5' in reply) {
      this.result = { md5: reply.md5, size: reply.size };
      this.worker.release(this.id);
      const finish = this.finishFinal;
      this.finishFinal = undefined;
      finish?.();
    }
  }

  /** A write in the worker failed, or the worker died: fail whichever call is waiting. */
  private onFailure(err: Error): void {
    this.failure = this.toError(err);
    this.worker.release(this.id);
    const resume = this.resumeWrite;
    const finish = this.finishFinal;
    this.resumeWrite = undefined;
    this.finishFinal = undefined;
    if (resume !== undefined)
      resume(); // fails the pending write
    else if (finish !== undefined) finish(this.failure);
    else this.destroy(this.failure);
  }
}
