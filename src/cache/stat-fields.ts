/**
 * The stat fields the walk and the state store need, packed four to a path in a BigInt64Array
 * (shared between threads by stat-pool.ts): inode, mtime in ns, size, mode.
 */
import { type LstatFields, lstatFields } from './raw-fs.js';

export const STAT_FIELDS = 4;

/** lstat of `p` into slot `i` of `values`; the failure (code, message) when it cannot be done. */
export function lstatInto(
  p: string,
  values: BigInt64Array,
  i: number,
): { code: string | undefined; message: string } | undefined {
  let st: LstatFields;
  try {
    st = lstatFields(p);
  } catch (err) {
    return { code: (err as NodeJS.ErrnoException).code, message: (err as Error).message };
  }
  const o = STAT_FIELDS * i;
  values[o] = st[0];
  values[o + 1] = st[1];
  values[o + 2] = st[2];
  values[o + 3] = st[3];
  return undefined;
}
