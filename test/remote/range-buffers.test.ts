/** range-buffers.ts: range-sized memory given back is used again, briefly, and nothing else is kept. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { giveBackBuffer, RANGE_BYTES, takeBuffer } from '../../src/remote/range-buffers.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('range buffers', () => {
  it('a range buffer given back is the next one taken; other sizes are never kept', () => {
    const first = takeBuffer(RANGE_BYTES);
    expect(first.length).toBe(RANGE_BYTES);
    giveBackBuffer(first.buffer);
    const again = takeBuffer(RANGE_BYTES);
    expect(again.buffer).toBe(first.buffer);
    expect(takeBuffer(RANGE_BYTES).buffer).not.toBe(first.buffer); // taken once only

    const small = takeBuffer(1024);
    giveBackBuffer(small.buffer);
    const next = takeBuffer(1024);
    expect(next.buffer).not.toBe(small.buffer);
    expect(next.length).toBe(1024);
  });

  it('keeps at most eight, and drops them shortly after the last came back', () => {
    vi.useFakeTimers();
    const given = Array.from({ length: 10 }, () => takeBuffer(RANGE_BYTES).buffer);
    for (const b of given) giveBackBuffer(b);
    const reused = new Set(Array.from({ length: 10 }, () => takeBuffer(RANGE_BYTES).buffer));
    expect(given.filter((b) => reused.has(b))).toHaveLength(8);

    const late = takeBuffer(RANGE_BYTES).buffer;
    giveBackBuffer(late);
    vi.advanceTimersByTime(5_000);
    expect(takeBuffer(RANGE_BYTES).buffer).not.toBe(late);
  });
});
