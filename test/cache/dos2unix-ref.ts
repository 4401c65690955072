/**
 * An independent, deliberately naive statement of DVC 3's md5-dos2unix (dvc-compat §1.6), used as
 * the oracle in tests: slice 1 MiB chunks, classify each by its first 512 bytes, and replace CRLF
 * with LF through a latin1 string. Slow, but too simple to share a bug with src/cache/hash.ts.
 */
import { createHash } from 'node:crypto';

export const MiB = 2 ** 20;

export function refIsText(block: Uint8Array): boolean {
  if (block.length === 0) return true;
  if (block.includes(0)) return false;
  const isText = (b: number) => (b >= 0x20 && b <= 0x7e) || [0x0a, 0x0d, 0x09, 0x0c, 0x08].includes(b);
  const nonText = block.filter((b) => !isText(b)).length;
  return nonText / block.length <= 0.3;
}

export function refMd5Dos2unix(data: Buffer): string {
  const h = createHash('md5');
  for (let off = 0; off < data.length; off += MiB) {
    const chunk = data.subarray(off, off + MiB);
    const text = refIsText(chunk.subarray(0, 512));
    h.update(text ? Buffer.from(chunk.toString('latin1').replaceAll('\r\n', '\n'), 'latin1') : chunk);
  }
  return h.digest('hex');
}

export const refMd5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');
