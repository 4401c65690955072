import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashFile, READ_BLOCK } from '../../src/cache/hash.js';
import {
  createMd5,
  createMd5Wasm,
  createMd5WasmFactory,
  loadMd5Factory,
  md5Hex,
  nodeCryptoHasMd5,
} from '../../src/cache/md5.js';
import { tempDir } from '../helpers/tmp.js';

const refMd5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
/** A node:crypto stand-in that fails like a FIPS-mode OpenSSL does. */
const fipsNode = () => {
  throw new Error('error:0308010C:digital envelope routines::unsupported');
};

describe('md5 engines', () => {
  it('known answers', async () => {
    expect(md5Hex(new Uint8Array())).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Hex(Buffer.from('abc'))).toBe('900150983cd24fb0d6963f7d28e17f72');
    const w = await createMd5Wasm();
    w.update(Buffer.from('abc'));
    expect(w.digestHex()).toBe('900150983cd24fb0d6963f7d28e17f72');
  });

  it('node:crypto and hash-wasm agree on random inputs split at random points', async () => {
    const wasm = await createMd5WasmFactory();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 5000 }),
        fc.array(fc.nat(5000), { maxLength: 5 }),
        (bytes, cuts) => {
          const n = createMd5();
          const w = wasm();
          const points = [...new Set([0, ...cuts.map((c) => c % (bytes.length + 1)), bytes.length])].sort(
            (a, b) => a - b,
          );
          for (let i = 1; i < points.length; i++) {
            const piece = bytes.subarray(points[i - 1], points[i]);
            n.update(piece);
            w.update(piece);
          }
          const hex = n.digestHex();
          expect(w.digestHex()).toBe(hex);
          expect(hex).toBe(refMd5(bytes));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('interleaved wasm hashers from one factory keep separate states', async () => {
    const make = await createMd5WasmFactory();
    const a = make();
    const b = make();
    const c = make();
    a.update(Buffer.from('hello '));
    b.update(Buffer.from('foo'));
    a.update(Buffer.from('world'));
    c.update(Buffer.from('x'));
    b.update(Buffer.from('bar'));
    expect(b.digestHex()).toBe(refMd5(Buffer.from('foobar')));
    expect(a.digestHex()).toBe(refMd5(Buffer.from('hello world')));
    expect(c.digestHex()).toBe(refMd5(Buffer.from('x')));
    // A fresh hasher after the others finished starts from scratch.
    expect(make().digestHex()).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(() => a.update(Buffer.from('late'))).toThrow(/after digestHex/);
  });

  it('loadMd5Factory prefers node:crypto and falls back to hash-wasm when MD5 is refused', async () => {
    expect(nodeCryptoHasMd5()).toBe(true);
    expect(nodeCryptoHasMd5(fipsNode)).toBe(false);
    expect(await loadMd5Factory()).toBe(createMd5);
    const fallback = await loadMd5Factory({ nodeMd5: fipsNode });
    expect(fallback).not.toBe(createMd5);
    const h = fallback();
    h.update(Buffer.from('abc'));
    expect(h.digestHex()).toBe('900150983cd24fb0d6963f7d28e17f72');
  });

  it('hashFile gives the same answers through the wasm engine on a file of several read blocks', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'big.txt');
    // Text with CRLFs over 2.5 read blocks so md5-dos2unix converts many chunks in several blocks.
    const line = Buffer.from(`${randomBytes(20).toString('hex')}\r\n`);
    fs.writeFileSync(
      file,
      Buffer.concat(Array<Buffer>(Math.ceil((2.5 * READ_BLOCK) / line.length)).fill(line)),
    );
    const wasm = await loadMd5Factory({ nodeMd5: fipsNode });
    for (const hashName of ['md5', 'md5-dos2unix'] as const) {
      const viaNode = await hashFile(file, hashName);
      const viaWasm = await hashFile(file, hashName, { md5: wasm });
      expect(viaWasm).toEqual(viaNode);
    }
    expect((await hashFile(file)).md5).toBe(refMd5(fs.readFileSync(file)));
  });
});
