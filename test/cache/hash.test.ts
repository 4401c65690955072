import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DOS2UNIX_CHUNK,
  dos2unixChunk,
  type HashName,
  hashBytes,
  hashFile,
  hashFileSync,
  isTextBlock,
  READ_BLOCK,
  StreamHasher,
  streamBlocks,
} from '../../src/cache/hash.js';
import { isCpvError } from '../../src/errors.js';
import { materialise, tempDir } from '../helpers/tmp.js';
import { loadVectors } from '../helpers/vectors.js';
import { MiB, refIsText, refMd5, refMd5Dos2unix } from './dos2unix-ref.js';

const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const HASHES: HashName[] = ['md5', 'md5-dos2unix'];

function writeTemp(name: string, data: Uint8Array | string): string {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, data);
  return file;
}

/** Hashes a file by every entry point; asserts they agree and returns the common answer. */
async function hashAllWays(file: string, hashName: HashName): Promise<{ md5: string; size: number }> {
  const streamed = await hashFile(file, hashName);
  expect(hashFileSync(file, hashName)).toEqual(streamed);
  expect(hashFileSync(file, hashName, Buffer.alloc(3 * MiB + 5))).toEqual(streamed);
  expect(hashBytes(fs.readFileSync(file), hashName)).toBe(streamed.md5);
  return streamed;
}

describe('DVC file vectors (fixtures/dvc/vectors.json, kind "file")', () => {
  const vectors = loadVectors().filter((v) => v.kind === 'file');

  it('has file vectors to check', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(5);
    expect(vectors.some((v) => v.expect['md5_dos2unix'] !== undefined)).toBe(true);
  });

  for (const v of vectors) {
    it(v.id, async () => {
      const root = tempDir();
      materialise(root, v.tree);
      const file = path.join(root, v.target!);
      const md5 = await hashAllWays(file, 'md5');
      expect(md5.md5).toBe(v.expect['md5']);
      if (v.expect['size'] !== undefined) expect(md5.size).toBe(v.expect['size']);
      const legacy = await hashAllWays(file, 'md5-dos2unix');
      expect(legacy.size).toBe(md5.size);
      if (v.expect['md5_dos2unix'] !== undefined) expect(legacy.md5).toBe(v.expect['md5_dos2unix']);
      // DVC 2's whole-file text decision is not what DVC 3 (and so cpv) computes.
      const dvc2 = v.expect['md5_dos2unix_dvc2'];
      if (dvc2 !== undefined && dvc2 !== v.expect['md5_dos2unix']) expect(legacy.md5).not.toBe(dvc2);
    });
  }
});

describe('isTextBlock (DVC istextblock)', () => {
  it.each([
    ['empty', '', true],
    ['plain text', 'hello world\n', true],
    ['NUL makes binary', 'hello\0world', false],
    ['control chars that count as text', '\t\f\b\r\n', true],
    ['exactly 30% non-text is text', 'abcdefg\x80\x80\x80', true],
    ['just over 30% is binary', 'abcdef\x80\x80\x80\x80', false],
    ['UTF-8 counts as non-text', 'ééé', false],
    ['DEL (0x7f) is non-text', '\x7f\x7f\x7f\x7fabcdef', false],
    ['ESC (0x1b) is non-text', '\x1b\x1b\x1bab', false],
  ])('%s', (_name, text, expected) => {
    expect(isTextBlock(Buffer.from(text, 'latin1'))).toBe(expected);
  });

  it('agrees with the reference on random blocks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (block) => {
        expect(isTextBlock(block)).toBe(refIsText(block));
      }),
      { numRuns: 500 },
    );
  });
});

describe('md5-dos2unix chunking', () => {
  const crlfText = (n: number) => Buffer.from('ab\r\n'.repeat(Math.ceil(n / 4)).slice(0, n), 'latin1');

  it('converts CRLF and keeps lone CR', () => {
    const data = Buffer.from('a\rb\r\nc\r\r\nd\n\r', 'latin1');
    expect(Buffer.from(dos2unixChunk(data)).toString('latin1')).toBe('a\rb\nc\r\nd\n\r');
    expect(hashBytes(data, 'md5-dos2unix')).toBe(refMd5(Buffer.from('a\rb\nc\r\nd\n\r', 'latin1')));
    expect(hashBytes(data, 'md5')).toBe(refMd5(data));
  });

  it('never converts a CRLF split exactly at the 1 MiB boundary', async () => {
    // Byte 1 MiB - 1 is CR, byte 1 MiB is LF; both chunks are text with other CRLFs.
    const first = crlfText(MiB - 1);
    const data = Buffer.concat([first, Buffer.from('\r\nxy\r\nz')]);
    expect(data[MiB - 1]).toBe(0x0d);
    expect(data[MiB]).toBe(0x0a);
    const file = writeTemp('split.txt', data);
    const { md5 } = await hashAllWays(file, 'md5-dos2unix');
    const expected = refMd5(
      Buffer.concat([
        Buffer.from(first.toString('latin1').replaceAll('\r\n', '\n') + '\r', 'latin1'),
        Buffer.from('\nxy\nz'),
      ]),
    );
    expect(md5).toBe(expected);
    expect(md5).toBe(refMd5Dos2unix(data));
    // Converting the whole file at once would join the pair: a different answer.
    expect(md5).not.toBe(refMd5(Buffer.from(data.toString('latin1').replaceAll('\r\n', '\n'), 'latin1')));
  });

  it('a chunk with binary first 512 bytes keeps its later CRLFs; the next text chunk converts', async () => {
    const binaryHead = Buffer.concat([Buffer.from([0, 1, 2]), Buffer.alloc(509, 0x80)]);
    const chunk1 = Buffer.concat([binaryHead, crlfText(MiB - 512)]);
    const chunk2 = crlfText(1000);
    const data = Buffer.concat([chunk1, chunk2]);
    const file = writeTemp('mixed.bin', data);
    const { md5 } = await hashAllWays(file, 'md5-dos2unix');
    expect(md5).toBe(
      refMd5(Buffer.concat([chunk1, Buffer.from(chunk2.toString('latin1').replaceAll('\r\n', '\n'))])),
    );
    expect(md5).toBe(refMd5Dos2unix(data));
  });

  it('a NUL after the first 512 bytes does not stop conversion of that chunk', () => {
    const data = Buffer.concat([crlfText(600), Buffer.from([0]), crlfText(100)]);
    expect(hashBytes(data, 'md5-dos2unix')).toBe(refMd5Dos2unix(data));
    expect(hashBytes(data, 'md5-dos2unix')).not.toBe(refMd5(data));
  });

  it('a file of exactly 1 MiB and one of 1 MiB + 1 byte', async () => {
    for (const size of [MiB, MiB + 1, 2 * MiB]) {
      const data = crlfText(size);
      const { md5, size: got } = await hashAllWays(writeTemp('exact.txt', data), 'md5-dos2unix');
      expect(got).toBe(size);
      expect(md5).toBe(refMd5Dos2unix(data));
    }
  });

  it('agrees with the reference on random text-ish data', () => {
    const byte = fc.constantFrom(0x61, 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x80, 0x09, 0x20);
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 1500 }), (bytes) => {
        const data = Buffer.from(bytes);
        expect(hashBytes(data, 'md5-dos2unix')).toBe(refMd5Dos2unix(data));
      }),
      { numRuns: 500 },
    );
  });

  it('rejects chunks over 1 MiB and data fed after a short block', () => {
    expect(() => dos2unixChunk(new Uint8Array(DOS2UNIX_CHUNK + 1))).toThrow(/exceeds 1 MiB/);
    const h = new StreamHasher('md5-dos2unix');
    h.update(new Uint8Array(10));
    expect(() => h.update(new Uint8Array(1))).toThrow(/multiple of 1 MiB/);
  });
});

describe('hashFile', () => {
  it('empty file hashes to d41d8… under both names', async () => {
    const file = writeTemp('empty', '');
    for (const h of HASHES) expect(await hashAllWays(file, h)).toEqual({ md5: EMPTY_MD5, size: 0 });
  });

  it('streams a multi-block file and matches a one-shot md5', async () => {
    const data = Buffer.alloc(3 * MiB + 12345);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const file = writeTemp('blocks.bin', data);
    expect(await hashAllWays(file, 'md5')).toEqual({ md5: refMd5(data), size: data.length });
  });

  it('reads blocks of READ_BLOCK (a 1 MiB multiple), only the last one shorter', async () => {
    expect(READ_BLOCK % MiB).toBe(0);
    const file = writeTemp('sizes.bin', Buffer.alloc(2 * READ_BLOCK + 7, 1));
    const fh = await fs.promises.open(file, 'r');
    const sizes: number[] = [];
    try {
      await streamBlocks(fh, file, (block) => {
        sizes.push(block.length);
      });
    } finally {
      await fh.close();
    }
    expect(sizes).toEqual([READ_BLOCK, READ_BLOCK, 7]);
  });

  it('files of k read blocks and k blocks ± 1 byte, CRLF split at every 1 MiB boundary', async () => {
    const sizes = [
      READ_BLOCK - 1,
      READ_BLOCK,
      READ_BLOCK + 1,
      2 * READ_BLOCK - 1,
      2 * READ_BLOCK,
      2 * READ_BLOCK + 1,
    ];
    const longest = Math.max(...sizes);
    // Text lines, with a CR as the last byte of every 1 MiB chunk and an LF as the first of the next.
    const text = Buffer.from('line of text\r\n'.repeat(Math.ceil(longest / 14)).slice(0, longest), 'latin1');
    for (let k = MiB; k < longest; k += MiB) {
      text[k - 1] = 0x0d;
      text[k] = 0x0a;
    }
    for (const size of sizes) {
      const data = text.subarray(0, size);
      const file = writeTemp(`k-blocks-${size}.txt`, data);
      expect(await hashAllWays(file, 'md5')).toEqual({ md5: refMd5(data), size });
      expect(await hashAllWays(file, 'md5-dos2unix')).toEqual({ md5: refMd5Dos2unix(data), size });
    }
  });

  it('stops on a signal aborted between blocks', async () => {
    const file = writeTemp('abort-mid.bin', Buffer.alloc(3 * READ_BLOCK));
    const ac = new AbortController();
    const fh = await fs.promises.open(file, 'r');
    let blocks = 0;
    try {
      const run = streamBlocks(
        fh,
        file,
        () => {
          blocks++;
          ac.abort(new Error('stop mid-file'));
        },
        { signal: ac.signal },
      );
      await expect(run).rejects.toThrow('stop mid-file');
    } finally {
      await fh.close();
    }
    expect(blocks).toBe(1);
  });

  it('maps a missing file to E_TARGET_MISSING naming the path', async () => {
    const missing = path.join(tempDir(), 'nope.bin');
    for (const attempt of [() => hashFile(missing), async () => hashFileSync(missing)]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(isCpvError(err) && err.code).toBe('E_TARGET_MISSING');
      expect((err as Error).message).toContain(missing);
      expect(isCpvError(err) && err.hint).toBeTruthy();
    }
  });

  it('maps a directory to E_IO', async () => {
    const dir = tempDir();
    const err = await hashFile(dir).catch((e: unknown) => e);
    expect(isCpvError(err) && err.code).toBe('E_IO');
    expect((err as Error).message).toContain(dir);
    expect(() => hashFileSync(dir)).toThrow(/directory/);
  });

  it('maps permission errors to E_UNREADABLE (or reads them when running as root)', async () => {
    const file = writeTemp('locked', 'secret');
    fs.chmodSync(file, 0o000);
    let blocked = true;
    try {
      fs.accessSync(file, fs.constants.R_OK);
      blocked = false; // root ignores file modes
    } catch {}
    const result = await hashFile(file).catch((e: unknown) => e);
    if (blocked) {
      expect(isCpvError(result) && result.code).toBe('E_UNREADABLE');
      expect(() => hashFileSync(file)).toThrow(/permission denied/);
    } else {
      expect(result).toEqual({ md5: refMd5(Buffer.from('secret')), size: 6 });
    }
  });

  it('stops on an aborted signal', async () => {
    const file = writeTemp('abort.bin', Buffer.alloc(3 * MiB));
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await expect(hashFile(file, 'md5', { signal: ac.signal })).rejects.toThrow('stop now');
  });

  it('rejects a scratch buffer smaller than 1 MiB', () => {
    const file = writeTemp('x', 'x');
    expect(() => hashFileSync(file, 'md5', Buffer.alloc(1000))).toThrow(/at least/);
  });
});
