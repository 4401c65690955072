/**
 * Buffers for the ranges of large downloads, used again instead of allocated anew.
 *
 * A 1 GiB download is 128 ranges of 8 MiB. Each range is read into one buffer, handed to the
 * hashing worker (off-thread.ts) and handed back once written. Freshly allocated, every range
 * cost page faults on its first write and counted as new external memory, which made V8 collect
 * often (≈ 1 s of the main thread's time per GiB, measured). Kept here instead, the same few
 * buffers carry every range.
 *
 * Only buffers of exactly `RANGE_BYTES` are kept, at most `MAX_KEPT`, and none for long: the list
 * is dropped shortly after the last buffer came back, so an idle process holds none.
 */

/** The size of a download range: s3.ts reads objects larger than this as parallel ranges of it. */
export const RANGE_BYTES = 8 * 1024 * 1024;
const MAX_KEPT = 8;
const DROP_AFTER_MS = 2000;

let kept: ArrayBuffer[] = [];
let dropTimer: NodeJS.Timeout | undefined;

/** A buffer of `length` bytes (contents undefined): a kept one when the size is a range's. */
export function takeBuffer(length: number): Buffer {
  const reused = length === RANGE_BYTES ? kept.pop() : undefined;
  return reused === undefined ? Buffer.allocUnsafeSlow(length) : Buffer.from(reused);
}

/** Offers memory nothing uses any more (a range the worker has written) for another range. */
export function giveBackBuffer(memory: ArrayBufferLike): void {
  if (!(memory instanceof ArrayBuffer) || memory.byteLength !== RANGE_BYTES || kept.length >= MAX_KEPT)
    return;
  kept.push(memory);
  clearTimeout(dropTimer);
  dropTimer = setTimeout(() => {
    kept = [];
  }, DROP_AFTER_MS);
  dropTimer.unref();
}
