/**
 * CRC-32 (IEEE) of a string's UTF-8 bytes, for record checksums. `zlib.crc32` only exists from
 * Node 20.15, and we support all of Node 20: the table version is the fallback.
 */
import * as zlib from 'node:zlib';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Node's native CRC-32 (Node ≥ 20.15): the state store checks one per record, 100k at a load. */
const native = (zlib as { crc32?: (data: string) => number }).crc32;

export function crc32(text: string): number {
  if (native !== undefined) return native(text);
  const bytes = Buffer.from(text, 'utf8');
  let c = 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
