/**
 * The multipart part loop on its own: every part read and hashed by the transfer thread, bounded
 * buffers, held parts kept, the first failure stopping the rest. `send` is a plain function that
 * records what it is given (the S3 round trips are in s3.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpvError } from '../../src/errors.js';
import { knownPayloadHash, type PartToSend, sendParts } from '../../src/remote/s3-parts.js';
import { tempDir } from '../helpers/tmp.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

function fileOf(bytes: Buffer): string {
  const p = path.join(tempDir('cpv-parts-'), 'object');
  fs.writeFileSync(p, bytes);
  return p;
}

interface Seen {
  number: number;
  bytes: Buffer;
  hash: string | undefined;
}

/** A `send` that keeps a copy of each body and the hash the client would sign it with. */
function recorder(delayMs = 0) {
  const seen: Seen[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (part: PartToSend) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const copy = Buffer.from(part.body);
    await new Promise((r) => setTimeout(r, delayMs));
    // The body must still be intact while the send is open.
    expect(Buffer.from(part.body).equals(copy)).toBe(true);
    seen.push({
      number: part.number,
      bytes: copy,
      hash: knownPayloadHash(part.body),
    });
    inFlight -= 1;
    return md5(copy);
  };
  return { seen, send, maxInFlight: () => maxInFlight };
}

describe('sendParts', () => {
  it('sends every part once, in bytes and hash identical to the file, jobs at a time', async () => {
    const partSize = 64 * 1024;
    const bytes = randomBytes(10 * partSize + 123);
    const { seen, send, maxInFlight } = recorder(2);
    let counted = 0;
    const parts = await sendParts({
      srcPath: fileOf(bytes),
      size: bytes.length,
      partSize,
      jobs: 3,
      send,
      onBytes: (n) => {
        counted += n;
      },
    });
    expect(parts.map((p) => p.PartNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(counted).toBe(bytes.length);
    seen.sort((x, y) => x.number - y.number);
    expect(Buffer.concat(seen.map((s) => s.bytes)).equals(bytes)).toBe(true);
    for (const s of seen) expect(s.hash).toBe(sha256(s.bytes));
    expect(parts.map((p) => p.ETag)).toEqual(seen.map((s) => `"${md5(s.bytes)}"`));
    expect(seen.at(-1)?.bytes.length).toBe(123);
    expect(maxInFlight()).toBe(3);
  });

  it('keeps held parts whose size and MD5 match and sends the rest', async () => {
    const partSize = 32 * 1024;
    const bytes = randomBytes(3 * partSize);
    const { seen, send } = recorder();
    const held = new Map([
      [1, { etag: md5(bytes.subarray(0, partSize)), size: partSize }], // intact
      [2, { etag: md5(Buffer.alloc(partSize)), size: partSize }], // torn
    ]);
    const parts = await sendParts({
      srcPath: fileOf(bytes),
      size: bytes.length,
      partSize,
      jobs: 2,
      held,
      send,
    });
    expect(seen.map((s) => s.number).sort()).toEqual([2, 3]);
    expect(parts.map((p) => p.ETag)).toEqual(
      [0, 1, 2].map((i) => `"${md5(bytes.subarray(i * partSize, (i + 1) * partSize))}"`),
    );
  });

  it('stops taking parts after the first failure and rejects with it', async () => {
    const partSize = 16 * 1024;
    const bytes = randomBytes(20 * partSize);
    let sent = 0;
    const err = await sendParts({
      srcPath: fileOf(bytes),
      size: bytes.length,
      partSize,
      jobs: 2,
      send: async (part) => {
        sent += 1;
        if (part.number === 3) throw new Error('part 3 refused');
        return 'etag';
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('part 3 refused');
    expect(sent).toBeLessThanOrEqual(4);
  });

  it('a cancelled signal ends it with E_ABORTED before the next part', async () => {
    const partSize = 16 * 1024;
    const bytes = randomBytes(8 * partSize);
    const controller = new AbortController();
    const numbers: number[] = [];
    const err = await sendParts({
      srcPath: fileOf(bytes),
      size: bytes.length,
      partSize,
      jobs: 1,
      signal: controller.signal,
      send: async (part) => {
        numbers.push(part.number);
        if (part.number === 2) controller.abort();
        return 'etag';
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CpvError);
    expect((err as CpvError).code).toBe('E_ABORTED');
    expect(numbers).toEqual([1, 2]);
  });

  it('a file that shrank since its size was taken fails instead of sending short parts', async () => {
    const partSize = 16 * 1024;
    const bytes = randomBytes(4 * partSize);
    const file = fileOf(bytes.subarray(0, 2 * partSize + 10));
    const { seen, send } = recorder();
    const err = await sendParts({ srcPath: file, size: bytes.length, partSize, jobs: 1, send }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/shorter than it was/);
    expect(seen.map((s) => s.number)).toEqual([1, 2]);
  });
});
