/**
 * The worker that writes and hashes large downloads: same bytes and md5 as the data, bounded
 * in-flight memory, and failures (a missing temp, an abandoned stream) reported, not swallowed.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { canOffload, OffThreadHashingSink, sha256OffThread } from '../../src/remote/off-thread.js';
import { RANGE_BYTES, takeBuffer } from '../../src/remote/range-buffers.js';
import { hashPayloadsOffThread } from '../../src/remote/s3.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

function emptyFile(): string {
  const p = path.join(tempDir('cpv-offload-'), 'obj.tmp');
  fs.writeFileSync(p, '', { mode: 0o600 });
  return p;
}

/** Chunks of mixed sizes and kinds: owned multi-MiB buffers (transferred) and slices (copied). */
function chunksOf(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  const sizes = [1, 65536, 3 * MiB, 17, 8 * MiB, 4096];
  for (let i = 0; off < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, data.length - off);
    out.push(n >= MiB ? Buffer.from(data.subarray(off, off + n)) : data.subarray(off, off + n));
    off += n;
  }
  return out;
}

describe('OffThreadHashingSink', () => {
  it('md5 objects qualify; md5-dos2unix ones stay on the main thread', () => {
    expect(canOffload('md5')).toBe(true);
    expect(canOffload('md5-dos2unix')).toBe(false);
  });

  it('writes the bytes in order and gives their md5 and size (more than the in-flight bound)', async () => {
    const data = randomBytes(40 * MiB + 123);
    const file = emptyFile();
    const sink = new OffThreadHashingSink(file, (e) => e as Error);
    await pipeline(Readable.from(chunksOf(data)), sink);
    expect(sink.digest()).toEqual({ md5: createHash('md5').update(data).digest('hex'), size: data.length });
    expect(fs.readFileSync(file).equals(data)).toBe(true);
  });

  it('gives each range-sized buffer back once written, for the next range to use', async () => {
    const ranges = [0x11, 0x22, 0x33].map((fill) => Buffer.alloc(RANGE_BYTES, fill));
    const expected = createHash('md5');
    for (const r of ranges) expected.update(r);
    const file = emptyFile();
    const sink = new OffThreadHashingSink(file, (e) => e as Error);
    await pipeline(Readable.from(ranges), sink);
    expect(sink.digest().md5).toBe(expected.digest('hex'));
    expect(fs.statSync(file).size).toBe(3 * RANGE_BYTES);
    // The memory that comes back still holds a range's bytes: it was not allocated anew.
    const reused = takeBuffer(RANGE_BYTES);
    expect([0x11, 0x22, 0x33]).toContain(reused[0]);
    expect(reused.every((b) => b === reused[0])).toBe(true);
  });

  it('two streams at once keep their bytes apart', async () => {
    const a = randomBytes(5 * MiB + 1);
    const b = randomBytes(3 * MiB + 7);
    const [fa, fb] = [emptyFile(), emptyFile()];
    const sa = new OffThreadHashingSink(fa, (e) => e as Error);
    const sb = new OffThreadHashingSink(fb, (e) => e as Error);
    await Promise.all([pipeline(Readable.from(chunksOf(a)), sa), pipeline(Readable.from(chunksOf(b)), sb)]);
    expect(sa.digest().md5).toBe(createHash('md5').update(a).digest('hex'));
    expect(sb.digest().md5).toBe(createHash('md5').update(b).digest('hex'));
    expect(fs.readFileSync(fa).equals(a)).toBe(true);
    expect(fs.readFileSync(fb).equals(b)).toBe(true);
  });

  it('a temp that is gone fails the stream with the mapped error', async () => {
    const file = emptyFile();
    fs.rmSync(file);
    const sink = new OffThreadHashingSink(file, (e) =>
      Object.assign(new Error(`mapped: ${(e as NodeJS.ErrnoException).code}`), { cause: e }),
    );
    const err = await pipeline(Readable.from([randomBytes(2 * MiB)]), sink).catch((e: unknown) => e);
    expect((err as Error).message).toBe('mapped: ENOENT');
    expect(fs.existsSync(file)).toBe(false); // the worker never creates the file
  });

  it('an abandoned stream releases the file, and the worker serves the next one', async () => {
    const file = emptyFile();
    const sink = new OffThreadHashingSink(file, (e) => e as Error);
    const failing = new Readable({
      read() {
        this.push(randomBytes(MiB));
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(pipeline(failing, sink)).rejects.toThrow('connection reset');
    fs.rmSync(file);
    const data = randomBytes(2 * MiB);
    const expected = createHash('md5').update(data).digest('hex');
    const next = emptyFile();
    const again = new OffThreadHashingSink(next, (e) => e as Error);
    await pipeline(Readable.from([data]), again);
    expect(again.digest().md5).toBe(expected);
    expect(data.length).toBe(0); // a whole buffer of its own was handed over, not copied
    expect(fs.statSync(next).size).toBe(2 * MiB);
  });
});

describe('payload hashes off the main thread', () => {
  it('sha256OffThread agrees with node:crypto and leaves the caller its bytes', async () => {
    const data = randomBytes(3 * MiB + 5);
    const slice = data.subarray(17, 2 * MiB);
    expect(await sha256OffThread(data)).toBe(createHash('sha256').update(data).digest('hex'));
    expect(await sha256OffThread(slice)).toBe(createHash('sha256').update(slice).digest('hex'));
    expect(data.length).toBe(3 * MiB + 5);
  });

  it('the S3 client signs a large body with the hash from the worker, a small one as before', async () => {
    const sent: Array<{ headers: Record<string, string> }> = [];
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
      requestHandler: {
        handle: async (request: { headers: Record<string, string> }) => {
          sent.push({ headers: { ...request.headers } });
          throw Object.assign(new Error('stop here'), { $metadata: {} });
        },
      },
      maxAttempts: 1,
    });
    hashPayloadsOffThread(client);
    // What the request carries once built, before the signer runs: the signer hashes on the main
    // thread only when no hash is there yet.
    const beforeSigning: Array<string | undefined> = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        beforeSigning.push(
          (args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'],
        );
        return next(args);
      },
      { step: 'build', priority: 'low', name: 'testPeek' },
    );
    const big = randomBytes(2 * MiB);
    const small = randomBytes(1000);
    for (const body of [big, small]) {
      await expect(client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: body }))).rejects.toThrow(
        'stop here',
      );
      const headers = sent.at(-1)!.headers;
      expect(headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
      expect(headers.authorization).toContain('x-amz-content-sha256');
    }
    expect(beforeSigning).toEqual([createHash('sha256').update(big).digest('hex'), undefined]);
  });
});
