/**
 * `lstat` of many paths on every core. A no-op `status` of 100k files is mostly one lstat per
 * file, and Node spends more time building each stat object than the kernel spends answering;
 * `find` does it on one core, we can do it on all of them.
 *
 * The walk hands paths over while it is still listing directories (`StatStream.add`), in chunks:
 * a helper thread stats a chunk the moment it has it, so the second core works during the
 * listing instead of after it. When the listing is done (`finish`), this thread takes the chunks
 * no helper has begun (a shared claim flag per chunk makes each chunk done exactly once) and the
 * paths never handed over, then collects the rest. Each chunk's (ino, mtime ns, size, mode) go
 * into a shared array, so nothing is copied back but a list of failures.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { BINDING_FIELDS, usesBinding } from './raw-fs.js';
import { lstatInto, STAT_FIELDS } from './stat-fields.js';

/** Paths per chunk handed to a helper: big enough to make messages rare. */
const CHUNK = 4096;
/** Below this many paths, starting a thread costs more than it saves. */
export const PARALLEL_STAT_MIN = 20_000;

export interface StatFailure {
  code: string | undefined;
  message: string;
}

export interface ManyStats {
  /** `STAT_FIELDS` values per path: ino, mtimeNs, size, mode. */
  values: BigInt64Array;
  /** Index of a path that could not be stat'ed → why. */
  failures: Map<number, StatFailure>;
}

/** A helper's answer for one chunk: its failures (chunk-relative), or null when it was not its to do. */
type ChunkAnswer = Array<StatFailure & { index: number }> | null;

const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
// The main thread checked Node's fs binding against fs.lstatSync (raw-fs.ts); same process, same binding.
const binding = workerData.binding;
const raw = binding && process.binding('fs');
const NS = 1000000000n;
const lstat = raw
  ? (p, out, o) => {
      const a = raw.lstat(p, true, undefined, true);
      out[o] = a[binding.ino]; out[o + 1] = a[binding.mtimeS] * NS + a[binding.mtimeNs]; out[o + 2] = a[binding.size]; out[o + 3] = a[binding.mode];
    }
  : (p, out, o) => {
      const st = fs.lstatSync(p, { bigint: true });
      out[o] = st.ino; out[o + 1] = st.mtimeNs; out[o + 2] = st.size; out[o + 3] = st.mode;
    };
parentPort.on('message', ({ index, joined, values, claim }) => {
  // The main thread may have taken this chunk already (it does, once the listing is over).
  if (Atomics.compareExchange(new Int32Array(claim), 0, 0, 1) !== 0) {
    parentPort.postMessage({ index, failures: null });
    return;
  }
  const paths = joined.split('\0');
  const out = new BigInt64Array(values);
  const failures = [];
  for (let i = 0; i < paths.length; i++) {
    try {
      lstat(paths[i], out, 4 * i);
    } catch (err) {
      failures.push({ index: i, code: err && err.code, message: String(err && err.message) });
    }
  }
  parentPort.postMessage({ index, failures });
});
`;

interface Chunk {
  /** Position of the chunk's first path in the whole list. */
  start: number;
  paths: string[];
  values: BigInt64Array;
  /** 0 while nobody has begun the chunk; set to 1 by whoever takes it. */
  claim: Int32Array;
  answer: Promise<ChunkAnswer>;
}

/** lstat of a list of paths that grows while it is stat'ed (see the module comment). */
export class StatStream {
  private readonly chunks: Chunk[] = [];
  /** Paths added since the last chunk was handed over. */
  private pending: string[] = [];
  private handedOver = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (a: ChunkAnswer) => void; reject: (e: Error) => void }
  >();

  private constructor(private readonly helpers: Worker[]) {
    for (const worker of helpers) {
      worker.on('message', ({ index, failures }: { index: number; failures: ChunkAnswer }) => {
        this.waiting.get(index)?.resolve(failures);
        this.waiting.delete(index);
      });
      worker.once('error', (err) => this.failAll(err));
      // A helper that dies leaves its chunks undone: fail, never return zeros.
      worker.once('exit', (code) =>
        this.failAll(new Error(`stat helper thread exited (${code}) before answering`)),
      );
    }
  }

  /**
   * Starts the helper threads (a thread took 100–150 ms to boot here: the listing hides it).
   * On a single core there are none, and every path is stat'ed by `finish`.
   */
  static start(): StatStream {
    const count = Math.max(0, Math.min(3, os.availableParallelism() - 1));
    const binding = usesBinding() ? BINDING_FIELDS : undefined;
    return new StatStream(
      Array.from({ length: count }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { binding } })),
    );
  }

  /** One more path to stat (its index is the number of paths added before it). */
  add(p: string): void {
    this.pending.push(p);
    if (this.pending.length === CHUNK && this.helpers.length > 0) this.handOver();
  }

  /** Every path's stat, once this thread has done its share and the helpers have answered. */
  async finish(): Promise<ManyStats> {
    const total = this.handedOver + this.pending.length;
    const values = new BigInt64Array(total * STAT_FIELDS);
    const failures = new Map<number, StatFailure>();
    const tail = this.pending;
    for (let i = 0; i < tail.length; i++) {
      const failure = lstatInto(tail[i]!, values, this.handedOver + i);
      if (failure !== undefined) failures.set(this.handedOver + i, failure);
    }
    // Newest first: the helpers work through their chunks oldest first.
    for (let k = this.chunks.length - 1; k >= 0; k--) {
      const chunk = this.chunks[k]!;
      if (Atomics.compareExchange(chunk.claim, 0, 0, 1) !== 0) continue;
      for (let i = 0; i < chunk.paths.length; i++) {
        const failure = lstatInto(chunk.paths[i]!, chunk.values, i);
        if (failure !== undefined) failures.set(chunk.start + i, failure);
      }
    }
    try {
      for (const chunk of this.chunks) {
        const answer = await chunk.answer;
        for (const f of answer ?? [])
          failures.set(chunk.start + f.index, { code: f.code, message: f.message });
        values.set(chunk.values, chunk.start * STAT_FIELDS);
      }
    } finally {
      this.dispose();
    }
    return { values, failures };
  }

  /** Ends the helper threads (after `finish`, or when the walk failed). */
  dispose(): void {
    for (const worker of this.helpers) {
      // Not awaited: tearing a thread down took up to a second under load, for nothing we need.
      worker.removeAllListeners('exit');
      worker.unref();
      void worker.terminate();
    }
  }

  private handOver(): void {
    const paths = this.pending;
    this.pending = [];
    const index = this.chunks.length;
    const values = new BigInt64Array(new SharedArrayBuffer(paths.length * STAT_FIELDS * 8));
    const claim = new Int32Array(new SharedArrayBuffer(4));
    const answer = new Promise<ChunkAnswer>((resolve, reject) =>
      this.waiting.set(index, { resolve, reject }),
    );
    answer.catch(() => undefined); // awaited in finish; a failure before then is not unhandled
    this.chunks.push({ start: this.handedOver, paths, values, claim, answer });
    this.handedOver += paths.length;
    this.helpers[index % this.helpers.length]!.postMessage({
      index,
      joined: paths.join('\0'),
      values: values.buffer,
      claim: claim.buffer,
    });
  }

  private failAll(err: Error): void {
    for (const { reject } of this.waiting.values()) reject(err);
    this.waiting.clear();
  }
}

/** lstat of every path: with helper threads when there are many, else on this thread alone. */
export async function lstatMany(paths: readonly string[]): Promise<ManyStats> {
  if (paths.length < PARALLEL_STAT_MIN) {
    const values = new BigInt64Array(paths.length * STAT_FIELDS);
    const failures = new Map<number, StatFailure>();
    for (let i = 0; i < paths.length; i++) {
      const failure = lstatInto(paths[i]!, values, i);
      if (failure !== undefined) failures.set(i, failure);
    }
    return { values, failures };
  }
  const stream = StatStream.start();
  for (const p of paths) stream.add(p);
  return stream.finish();
}
