/**
 * `lstat` of many paths on every core. A no-op `status` of 100k files is mostly one lstat per
 * file, and Node spends more time building each stat object than the kernel spends answering;
 * `find` does it on one core, we can do it on all of them. The calling thread works too: it and
 * the helper threads take chunks of the list from one shared counter, and write
 * (ino, mtime ns, size, mode) into one shared array, so nothing is copied back.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { BINDING_FIELDS, usesBinding } from './raw-fs.js';
import { lstatInto, STAT_FIELDS } from './stat-fields.js';

/** Paths per grab from the shared counter: big enough to make the atomics rare. */
const CHUNK = 512;
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

const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
parentPort.once('message', ({ joined, values, counter, chunk, binding }) => {
  const paths = joined.split('\0');
  const out = new BigInt64Array(values);
  // The main thread checked Node's fs binding against fs.lstatSync (raw-fs.ts); same process, same binding.
  const raw = binding && process.binding('fs');
  const NS = 1000000000n;
  const lstat = raw
    ? (p, o) => {
        const a = raw.lstat(p, true, undefined, true);
        out[o] = a[binding.ino]; out[o + 1] = a[binding.mtimeS] * NS + a[binding.mtimeNs]; out[o + 2] = a[binding.size]; out[o + 3] = a[binding.mode];
      }
    : (p, o) => {
        const st = fs.lstatSync(p, { bigint: true });
        out[o] = st.ino; out[o + 1] = st.mtimeNs; out[o + 2] = st.size; out[o + 3] = st.mode;
      };
  const next = new Int32Array(counter);
  const failures = [];
  for (;;) {
    const start = Atomics.add(next, 0, 1) * chunk;
    if (start >= paths.length) break;
    const end = Math.min(paths.length, start + chunk);
    for (let i = start; i < end; i++) {
      try {
        lstat(paths[i], 4 * i);
      } catch (err) {
        failures.push({ index: i, code: err && err.code, message: String(err && err.message) });
      }
    }
  }
  parentPort.postMessage(failures);
});
`;

/**
 * Stat helper threads, started ahead of need: a thread took 100–150 ms to boot here, which the
 * walk can hide if it starts them as soon as it has seen enough files.
 */
export class StatHelpers {
  private constructor(readonly workers: Worker[]) {}

  static start(): StatHelpers {
    const count = Math.min(3, os.availableParallelism() - 1);
    return new StatHelpers(
      Array.from({ length: Math.max(0, count) }, () => new Worker(WORKER_SOURCE, { eval: true })),
    );
  }

  /** Ends the threads without work (the walk failed, or found too few files). */
  dispose(): void {
    for (const w of this.workers) void w.terminate();
  }
}

/** lstat of every path, in `helpers` (started now if not given) and this thread together. */
export async function lstatMany(paths: readonly string[], helpers?: StatHelpers): Promise<ManyStats> {
  const values = new BigInt64Array(new SharedArrayBuffer(paths.length * STAT_FIELDS * 8));
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const failures = new Map<number, StatFailure>();
  const done: Promise<void>[] = [];
  if (paths.length < PARALLEL_STAT_MIN) {
    helpers?.dispose();
  } else {
    const joined = paths.join('\0');
    for (const worker of (helpers ?? StatHelpers.start()).workers) {
      done.push(runHelper(worker, joined, values, counter, failures));
    }
  }
  // This thread takes chunks too, from the same counter, while the helpers start up.
  for (;;) {
    const start = Atomics.add(counter, 0, 1) * CHUNK;
    if (start >= paths.length) break;
    const end = Math.min(paths.length, start + CHUNK);
    for (let i = start; i < end; i++) {
      const failure = lstatInto(paths[i]!, values, i);
      if (failure !== undefined) failures.set(i, failure);
    }
  }
  await Promise.all(done);
  return { values, failures };
}

function runHelper(
  worker: Worker,
  joined: string,
  values: BigInt64Array,
  counter: Int32Array,
  failures: Map<number, StatFailure>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.once('message', (found: Array<StatFailure & { index: number }>) => {
      for (const f of found) failures.set(f.index, { code: f.code, message: f.message });
      // Not awaited: tearing a thread down took up to a second under load, for nothing we need.
      worker.removeAllListeners('exit');
      worker.unref();
      void worker.terminate();
      resolve();
    });
    worker.once('error', reject);
    // A helper that dies without answering leaves its chunks undone: fail, never return zeros.
    worker.once('exit', (code) => reject(new Error(`stat helper thread exited (${code}) before answering`)));
    worker.postMessage({
      joined,
      values: values.buffer,
      counter: counter.buffer,
      chunk: CHUNK,
      binding: usesBinding() ? BINDING_FIELDS : undefined,
    });
  });
}
