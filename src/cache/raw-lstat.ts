/**
 * `lstat` without a Stats object. Node 20's `fs.lstatSync` builds an object with four `Date`s
 * for every call, which costs more than the system call itself on 100k small files (and the
 * garbage makes the rest slower). Node's own fs binding answers the same call with a typed array
 * it reuses. We use it only after checking, once per thread, that it gives what `fs.lstatSync`
 * gives for a real file; on any other Node (or if the check fails) `fs.lstatSync` is used.
 *
 * The array is Node's, reused by the next call: read what you need at once.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/** (ino, mtime in ns, size, mode) of one path, or the error `fs.lstatSync` would throw. */
export type LstatFields = readonly [ino: bigint, mtimeNs: bigint, size: bigint, mode: bigint];

type BindingLstat = (p: string, bigint: boolean, req: undefined, throwIfNoEntry: boolean) => unknown;

// Positions in the binding's array (Node's `kStatFields` order); stat-pool.ts's helper threads
// read the same positions.
export const BINDING_FIELDS = { mode: 1, ino: 7, size: 8, mtimeS: 12, mtimeNs: 13 } as const;
const { mode: MODE, ino: INO, size: SIZE, mtimeS: MTIME_S, mtimeNs: MTIME_NS } = BINDING_FIELDS;
const NS = 1_000_000_000n;

let chosen: ((p: string) => LstatFields) | undefined;

/** lstat of `p` (throws like `fs.lstatSync`). */
export function lstatFields(p: string): LstatFields {
  chosen ??= choose();
  return chosen(p);
}

function viaFs(p: string): LstatFields {
  const st = fs.lstatSync(p, { bigint: true });
  return [st.ino, st.mtimeNs, st.size, st.mode];
}

function choose(): (p: string) => LstatFields {
  const raw = bindingLstat();
  if (raw === undefined) return viaFs;
  const viaBinding = (p: string): LstatFields => {
    const a = raw(p, true, undefined, true) as BigInt64Array;
    return [a[INO]!, a[MTIME_S]! * NS + a[MTIME_NS]!, a[SIZE]!, a[MODE]!];
  };
  return agrees(viaBinding) ? viaBinding : viaFs;
}

function bindingLstat(): BindingLstat | undefined {
  try {
    const binding = (process as unknown as { binding?: (name: string) => { lstat?: unknown } }).binding?.(
      'fs',
    );
    const lstat = binding?.lstat;
    if (typeof lstat !== 'function') return undefined;
    return (lstat as BindingLstat).bind(binding);
  } catch {
    return undefined;
  }
}

/** The binding answers exactly as `fs.lstatSync` on this module's own file, and throws ENOENT the same way. */
function agrees(viaBinding: (p: string) => LstatFields): boolean {
  try {
    const probe = fileURLToPath(import.meta.url);
    const want = viaFs(probe);
    const got = viaBinding(probe);
    if (got.some((v, i) => typeof v !== 'bigint' || v !== want[i])) return false;
  } catch {
    return false;
  }
  try {
    viaBinding(`${fileURLToPath(import.meta.url)}.cpv-no-such-file`);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Whether the binding is in use (helper threads of stat-pool.ts take the main thread's word for it). */
export function usesBinding(): boolean {
  chosen ??= choose();
  return chosen !== viaFs;
}
