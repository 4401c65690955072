/**
 * Hashing (and caching) many files with worker threads.
 *
 * Paths are sent to workers in batches (one message per batch, not per file); each worker reads
 * small files synchronously into one reused buffer and streams larger ones (see pool-worker.ts).
 * The pool is lazy (no thread before the first batch), sized to the CPU count, and its idle
 * workers are unref'd so a CLI exits as soon as its work is done. A handful of files is hashed
 * in-process instead: starting threads would cost more than it saves.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import { CpvError } from '../errors.js';
import { currentUmask, noSpaceError } from '../fsutil.js';
import { type HashName, hashFile, readError } from './hash.js';
import { OBJECT_MODE, ObjectStore, objectRoot, writeError } from './odb.js';
import { WORKER_SOURCE } from './pool-worker.js';

export interface FileHash {
  md5: string;
  size: number;
}

export interface PoolRunOptions {
  /** Worker count for this call (default: the shared pool, os.availableParallelism()). */
  jobs?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Called with each file's result as soon as its batch is back (in batch order, not input order),
   * so a caller can record results while the threads still work instead of after the last one.
   */
  onResult?: (index: number, result: FileHash) => void;
  signal?: AbortSignal;
  /** Use this pool instead of the shared one (tests, or callers managing lifetimes). */
  pool?: WorkerPool;
}

/** Files up to this size are read whole, synchronously, inside a worker (a multiple of 1 MiB). */
export const SMALL_FILE_LIMIT = 8 << 20;
/** At most this many files totalling at most IN_PROCESS_MAX_BYTES are hashed without workers. */
export const IN_PROCESS_MAX_FILES = 64;
export const IN_PROCESS_MAX_BYTES = 64 << 20;
const MAX_BATCH = 256;
/** Batches a worker holds at once: the one it runs and the next. */
const BATCHES_PER_WORKER = 2;

type Op = 'hash' | 'store' | 'copy';

interface Job {
  op: Op;
  hashName: HashName;
  /** Object root (`files/md5` or the legacy cache root) for 'store'. */
  root: string | undefined;
  paths: string[];
  /** 'copy': where each of `paths` goes, and the mode the copies get. */
  targets?: string[];
  mode?: number;
  /** 'copy': which targets were absent when planned (created in place, see pool-worker.ts). */
  fresh?: boolean[];
}

interface WorkerErrorInfo {
  code: string | undefined;
  message: string;
  path: string | undefined;
  kind: 'read' | 'write' | 'workspace';
}

interface Reply {
  id: number;
  results: unknown[];
  error?: WorkerErrorInfo;
}

/** A workspace file a 'copy' job made: what the state store needs to remember it. */
export interface CopiedFile {
  ino: bigint;
  mtimeNs: bigint;
  size: number;
}

interface Pending {
  job: Job;
  /** The run() call the batch belongs to. */
  owner: object;
  resolve: (reply: Reply) => void;
  reject: (err: unknown) => void;
}

export interface WorkerPoolOptions {
  jobs?: number;
  /** Make workers use hash-wasm even where node:crypto has MD5 (tests of the fallback). */
  forceWasm?: boolean;
}

function resolveHashWasm(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('hash-wasm');
  } catch {
    return undefined;
  }
}

/** A fixed-size set of hashing workers fed from one queue of batches. */
export class WorkerPool {
  readonly size: number;
  private readonly forceWasm: boolean;
  /** Each live worker with the batches sent to it, oldest first (it runs them in order). */
  private readonly sent = new Map<Worker, Array<Pending & { id: number }>>();
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(opts: WorkerPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(opts.jobs ?? os.availableParallelism()));
    this.forceWasm = opts.forceWasm ?? false;
  }

  /** Live worker threads (0 until the first batch). */
  get threads(): number {
    return this.sent.size;
  }

  /**
   * Runs `op` over `paths`; results are in input order. On the first failing file the run's queued
   * batches are dropped and it rejects once its running batches have finished, so nothing of the
   * run still writes to the cache afterwards. An abort rejects at once (running batches then finish
   * in the background, cleaning up their own temps).
   */
  async run(
    op: 'hash' | 'store',
    paths: readonly string[],
    hashName: HashName,
    root: string | undefined,
    opts: Pick<PoolRunOptions, 'onProgress' | 'onResult' | 'signal'> = {},
  ): Promise<FileHash[]> {
    return this.runBatches<FileHash>(
      paths.length,
      (start, end) => ({ op, hashName, root, paths: paths.slice(start, end) }),
      opts,
    );
  }

  /** Copies cache objects `sources[i]` to workspace paths `targets[i]` (see pool-worker.ts). */
  async copy(
    sources: readonly string[],
    targets: readonly string[],
    mode: number,
    opts: CopyOutOptions = {},
  ): Promise<CopiedFile[]> {
    const { fresh } = opts;
    return this.runBatches<CopiedFile>(
      sources.length,
      (start, end) => ({
        op: 'copy',
        hashName: 'md5',
        root: undefined,
        paths: sources.slice(start, end),
        targets: targets.slice(start, end),
        mode,
        fresh: fresh?.slice(start, end),
      }),
      opts,
    );
  }

  /** Splits `count` items into batches made by `jobFor`; results in item order. */
  private async runBatches<R>(
    count: number,
    jobFor: (start: number, end: number) => Job,
    opts: BatchOptions<R>,
  ): Promise<R[]> {
    if (this.closed) throw new CpvError('E_USAGE', 'hash pool used after close()');
    opts.signal?.throwIfAborted();
    const results = new Array<R>(count);
    let done = 0;
    const owner = {};
    const batch = batchSize(count, this.size);
    const batches: Promise<void>[] = [];
    for (let start = 0; start < count; start += batch) {
      const reply = this.submit(jobFor(start, Math.min(count, start + batch)), owner);
      batches.push(
        reply.then((r) => {
          for (let i = 0; i < r.results.length; i++) {
            results[start + i] = r.results[i] as R;
            opts.onResult?.(start + i, r.results[i] as R);
          }
          if (r.error !== undefined) throw workerError(r.error);
          done += r.results.length;
          opts.onProgress?.(done, count);
        }),
      );
    }
    try {
      await untilAborted(Promise.all(batches), opts.signal);
    } catch (err) {
      this.dropQueued(owner);
      if (!opts.signal?.aborted) await Promise.allSettled(batches);
      throw err;
    }
    return results;
  }

  /**
   * Starts every worker now, idle, so that their start-up (≈ 50–100 ms of CPU each) overlaps
   * whatever the caller does before its first batch. Idle workers keep no process alive.
   */
  warm(): void {
    if (this.closed) return;
    while (this.sent.size < this.size) this.spawn().unref();
  }

  /** Terminates the workers; queued and running batches fail. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new CpvError('E_IO', 'hash pool closed while work was pending');
    for (const p of this.queue.splice(0)) p.reject(gone);
    for (const batches of this.sent.values()) for (const p of batches.splice(0)) p.reject(gone);
    const all = [...this.sent.keys()];
    this.sent.clear();
    await Promise.all(all.map((w) => w.terminate()));
  }

  private submit(job: Job, owner: object): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.queue.push({ job, owner, resolve, reject });
      this.pump();
    });
  }

  /**
   * Hands queued batches to workers: an idle one first, else a new one (up to `size`), else one
   * with a single batch left. A worker holding its next batch starts it the moment it finishes
   * the current one, instead of idling while its answer is handled and a new batch comes back.
   */
  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.workerWithRoom();
      if (worker === undefined) return;
      const pending = this.queue.shift()!;
      const id = this.nextId++;
      this.sent.get(worker)!.push({ ...pending, id });
      worker.ref(); // keep the process alive while a batch is out
      worker.postMessage({ id, ...pending.job });
    }
  }

  private workerWithRoom(): Worker | undefined {
    let waiting: Worker | undefined;
    for (const [worker, batches] of this.sent) {
      if (batches.length === 0) return worker;
      if (batches.length < BATCHES_PER_WORKER) waiting ??= worker;
    }
    if (this.sent.size < this.size) return this.spawn();
    return waiting;
  }

  /** Rejects the queued (not yet started) batches of one run. */
  private dropQueued(owner: object): void {
    const dropped = this.queue.filter((p) => p.owner === owner);
    this.queue.splice(0, this.queue.length, ...this.queue.filter((p) => p.owner !== owner));
    for (const p of dropped) p.reject(new CpvError('E_IO', 'batch cancelled'));
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        smallLimit: SMALL_FILE_LIMIT,
        fixMode: (OBJECT_MODE & ~currentUmask()) !== OBJECT_MODE,
        umask: currentUmask(),
        forceWasm: this.forceWasm,
        wasmPath: resolveHashWasm(),
      },
    });
    this.sent.set(worker, []);
    worker.on('message', (reply: Reply) => this.onReply(worker, reply));
    worker.on('error', (err) => this.onDeath(worker, err));
    worker.on('exit', (code) => this.onDeath(worker, new Error(`exited with code ${code}`)));
    return worker;
  }

  private onReply(worker: Worker, reply: Reply): void {
    const batches = this.sent.get(worker);
    const pending = batches?.[0]?.id === reply.id ? batches.shift() : undefined;
    this.pump();
    // An idle worker must not keep a finished CLI process alive.
    if (batches?.length === 0) worker.unref();
    pending?.resolve(reply);
  }

  private onDeath(worker: Worker, err: Error): void {
    const batches = this.sent.get(worker);
    if (batches === undefined) return;
    this.sent.delete(worker);
    const failure = new CpvError('E_IO', `a hashing worker failed: ${err.message}`, { cause: err });
    for (const p of batches) p.reject(failure);
    this.pump(); // its queue share goes to a fresh worker
  }
}

interface BatchOptions<R> {
  onProgress?: (done: number, total: number) => void;
  onResult?: (index: number, result: R) => void;
  signal?: AbortSignal | undefined;
}

/** Enough batches to keep every worker busy to the end, few enough to keep messages rare. */
function batchSize(files: number, workers: number): number {
  return Math.min(MAX_BATCH, Math.max(1, Math.ceil(files / (workers * 8))));
}

/** `work`, or a rejection with the signal's reason as soon as it aborts. */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

function workerError(info: WorkerErrorInfo): CpvError {
  const err = Object.assign(new Error(info.message), { code: info.code });
  const where = info.path ?? '(unknown path)';
  if (info.kind === 'workspace') {
    return (
      noSpaceError(err, `'${where}'`) ??
      new CpvError('E_IO', `cannot write ${where}: ${info.message}`, {
        hint: 'Check that the workspace directory is writable by you, then retry.',
        cause: err,
      })
    );
  }
  return info.kind === 'write' ? writeError(err, where) : readError(err, where);
}

// ---------------------------------------------------------------------------------------------
// The shared pool and the public entry points

let shared: WorkerPool | undefined;

/** Terminates the shared pool (it is recreated on next use). */
export async function closePool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}

/**
 * Starts the shared pool's workers ahead of the work they will get (checkout calls this as soon as
 * it knows it will copy a large directory), so their start-up runs while the caller plans.
 */
export function warmSharedPool(): void {
  shared ??= new WorkerPool();
  shared.warm();
}

/** Whether `paths` is little enough work to do on this thread. */
function fewFiles(paths: readonly string[]): boolean {
  if (paths.length > IN_PROCESS_MAX_FILES) return false;
  let bytes = 0;
  for (const p of paths) bytes += fs.statSync(p, { throwIfNoEntry: false })?.size ?? 0;
  return bytes <= IN_PROCESS_MAX_BYTES;
}

async function inProcess(
  paths: readonly string[],
  one: (p: string) => Promise<FileHash>,
  opts: PoolRunOptions,
): Promise<FileHash[]> {
  const limit = pLimit(4);
  let done = 0;
  let failed = false;
  const tasks = paths.map((p, i) =>
    limit(async () => {
      if (failed) throw new CpvError('E_IO', 'cancelled after an earlier failure');
      opts.signal?.throwIfAborted();
      const r = await one(p);
      opts.onResult?.(i, r);
      opts.onProgress?.(++done, paths.length);
      return r;
    }),
  );
  try {
    return await Promise.all(tasks);
  } catch (err) {
    // As in WorkerPool.run: settle only when no file of this call is still being written.
    failed = true;
    await Promise.allSettled(tasks);
    throw err;
  }
}

async function viaPool(
  op: 'hash' | 'store',
  paths: readonly string[],
  hashName: HashName,
  root: string | undefined,
  opts: PoolRunOptions,
): Promise<FileHash[]> {
  if (opts.pool !== undefined) return opts.pool.run(op, paths, hashName, root, opts);
  if (opts.jobs !== undefined) {
    const pool = new WorkerPool({ jobs: opts.jobs });
    try {
      return await pool.run(op, paths, hashName, root, opts);
    } finally {
      await pool.close();
    }
  }
  shared ??= new WorkerPool();
  return shared.run(op, paths, hashName, root, opts);
}

export interface CopyOutOptions extends Pick<PoolRunOptions, 'onProgress' | 'signal'> {
  /** Called with each copy's result as soon as its batch is back (see PoolRunOptions.onResult). */
  onResult?: (index: number, file: CopiedFile) => void;
  /**
   * `fresh[i]`: `targets[i]` did not exist when the caller looked, so it is created in place
   * (no temp, no rename) with `PARTIAL_MODE` until complete. The caller must be able to find such
   * leftovers after a kill (checkout keeps a journal of them).
   */
  fresh?: readonly boolean[];
}

/**
 * Copies cache objects out to the workspace on the shared pool (checkout with cache.type copy):
 * `sources[i]` to `targets[i]`, whose directories must exist. Each copy is temp + rename, or in
 * place for `fresh` targets.
 */
export async function copyFilesOut(
  sources: readonly string[],
  targets: readonly string[],
  mode: number,
  opts: CopyOutOptions = {},
): Promise<CopiedFile[]> {
  shared ??= new WorkerPool();
  return shared.copy(sources, targets, mode, opts);
}

/** Hashes files (following symlinks); results in input order. */
export async function hashFiles(
  paths: readonly string[],
  hashName: HashName = 'md5',
  opts: PoolRunOptions = {},
): Promise<FileHash[]> {
  if (opts.pool === undefined && fewFiles(paths)) {
    return inProcess(paths, (p) => hashFile(p, hashName, { signal: opts.signal }), opts);
  }
  return viaPool('hash', paths, hashName, undefined, opts);
}

/**
 * Hashes files and writes each into the cache at `cacheDir` in the same read (temp 0o444 + rename;
 * skipped when a trusted object exists). Results in input order.
 */
export async function storeFiles(
  paths: readonly string[],
  cacheDir: string,
  hashName: HashName = 'md5',
  opts: PoolRunOptions = {},
): Promise<FileHash[]> {
  if (opts.pool === undefined && fewFiles(paths)) {
    const store = new ObjectStore(cacheDir);
    return inProcess(
      paths,
      async (p) => {
        const { oid, size } = await store.addFile(p, hashName, { signal: opts.signal });
        return { md5: oid, size };
      },
      opts,
    );
  }
  return viaPool('store', paths, hashName, objectRoot(cacheDir, hashName), opts);
}
