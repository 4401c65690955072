/**
 * The stat fields the walk and the state store need, packed four to a path in a BigInt64Array
 * (shared between threads by stat-pool.ts): inode, mtime in ns, size, mode.
 */
import * as fs from 'node:fs';

export const STAT_FIELDS = 4;

/** lstat of `p` into slot `i` of `values`; the failure (code, message) when it cannot be done. */
export function lstatInto(
  p: string,
  values: BigInt64Array,
  i: number,
): { code: string | undefined; message: string } | undefined {
  let st: fs.BigIntStats;
  try {
    st = fs.lstatSync(p, { bigint: true });
  } catch (err) {
    return { code: (err as NodeJS.ErrnoException).code, message: (err as Error).message };
  }
  const o = STAT_FIELDS * i;
  values[o] = st.ino;
  values[o + 1] = st.mtimeNs;
  values[o + 2] = st.size;
  values[o + 3] = st.mode;
  return undefined;
}
