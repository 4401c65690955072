/**
 * `lstat` and `readdir` without an object per answer, for the walk of 100k files.
 *
 * Node 20's `fs.lstatSync` builds a Stats object with four `Date`s per call, and
 * `fs.readdirSync(dir, { withFileTypes: true })` a `Dirent` per entry; on 100k small files that
 * costs more than the system calls (and the garbage slows the rest). Node's own fs binding
 * answers the same calls with a reused typed array, and with two plain arrays (names, types).
 *
 * The binding is internal: a call with the wrong arguments can crash the process rather than
 * throw, so it is used only on Node versions where its signatures were checked
 * (`TESTED_NODE`), and only after one probe per thread agrees with `fs` on a real file and a
 * missing one. Anywhere else the public `fs` calls are used; the results are the same.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** (ino, mtime in ns, size, mode) of one path. */
export type LstatFields = readonly [ino: bigint, mtimeNs: bigint, size: bigint, mode: bigint];

/** A directory's entries: names and their types (`DIRENT_*`); UNKNOWN only for what is none of file, dir, link. */
export interface DirListing {
  names: string[];
  types: number[];
}

// libuv's uv_dirent_type_t, the types the binding's readdir gives (Node's fs.constants.UV_DIRENT_*).
const DIRENT_UNKNOWN = 0;
export const DIRENT_FILE = 1;
export const DIRENT_DIR = 2;
export const DIRENT_LINK = 3;

/** Node majors (and their first minor) whose binding signatures below were checked by hand. */
const TESTED_NODE: Readonly<Record<number, number>> = { 20: 20 };

interface FsBinding {
  lstat(p: string, bigint: true, req: undefined, throwIfNoEntry: true): BigInt64Array;
  stat(p: string, bigint: false, req: undefined, throwIfNoEntry: false): Float64Array | undefined;
  readdir(p: string, encoding: 'utf8', withFileTypes: true): [string[], number[]];
}

// Positions in the binding's stat array (Node's `kStatFields` order); stat-pool.ts's helper
// threads read the same positions.
export const BINDING_FIELDS = { mode: 1, ino: 7, size: 8, mtimeS: 12, mtimeNs: 13 } as const;
const NS = 1_000_000_000n;

let binding: FsBinding | null | undefined;

/** The binding, if this Node is one we checked and it agrees with `fs` here; else null. */
function fsBinding(): FsBinding | null {
  if (binding === undefined) binding = probe(loadBinding());
  return binding;
}

/** Whether the binding is in use (stat-pool.ts's helper threads take this thread's word for it). */
export function usesBinding(): boolean {
  return fsBinding() !== null;
}

/** lstat of `p` (throws like `fs.lstatSync`). */
export function lstatFields(p: string): LstatFields {
  const b = fsBinding();
  if (b === null) {
    const st = fs.lstatSync(p, { bigint: true });
    return [st.ino, st.mtimeNs, st.size, st.mode];
  }
  const a = b.lstat(p, true, undefined, true);
  const f = BINDING_FIELDS;
  return [a[f.ino]!, a[f.mtimeS]! * NS + a[f.mtimeNs]!, a[f.size]!, a[f.mode]!];
}

/**
 * The mode (type and permission bits) of what `p` names, following symlinks; undefined when there
 * is nothing there. Other errors throw like `fs.statSync`. For checks of many cache objects.
 */
export function statMode(p: string): number | undefined {
  const b = fsBinding();
  if (b === null) return fs.statSync(p, { throwIfNoEntry: false })?.mode;
  return b.stat(p, false, undefined, false)?.[BINDING_FIELDS.mode];
}

/** The entries of directory `dir` with their types (throws like `fs.readdirSync`). */
export function listDir(dir: string): DirListing {
  const b = fsBinding();
  if (b === null) {
    const dirents = fs.readdirSync(dir, { withFileTypes: true });
    return { names: dirents.map((d) => d.name), types: dirents.map(direntType) };
  }
  const [names, types] = b.readdir(dir, 'utf8', true);
  // Some filesystems do not say (DT_UNKNOWN); fs.Dirent would lstat, and so do we.
  for (let i = 0; i < types.length; i++) {
    if (types[i] === DIRENT_UNKNOWN) types[i] = typeOfMode(fs.lstatSync(path.join(dir, names[i]!)).mode);
  }
  return { names, types };
}

function direntType(d: fs.Dirent): number {
  if (d.isFile()) return DIRENT_FILE;
  if (d.isDirectory()) return DIRENT_DIR;
  if (d.isSymbolicLink()) return DIRENT_LINK;
  return DIRENT_UNKNOWN; // sockets, fifos, devices: neither file, dir nor link
}

function typeOfMode(mode: number): number {
  const kind = mode & fs.constants.S_IFMT;
  if (kind === fs.constants.S_IFREG) return DIRENT_FILE;
  if (kind === fs.constants.S_IFDIR) return DIRENT_DIR;
  if (kind === fs.constants.S_IFLNK) return DIRENT_LINK;
  return DIRENT_UNKNOWN;
}

function loadBinding(): FsBinding | null {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const firstMinor = TESTED_NODE[major];
  if (firstMinor === undefined || minor < firstMinor) return null;
  try {
    const b = (process as unknown as { binding?: (name: string) => Partial<FsBinding> }).binding?.('fs');
    if (typeof b?.lstat !== 'function' || typeof b.stat !== 'function' || typeof b.readdir !== 'function')
      return null;
    const c = fs.constants as Record<string, number | undefined>;
    if (
      c.UV_DIRENT_FILE !== DIRENT_FILE ||
      c.UV_DIRENT_DIR !== DIRENT_DIR ||
      c.UV_DIRENT_LINK !== DIRENT_LINK
    )
      return null;
    return b as FsBinding;
  } catch {
    return null;
  }
}

/** The binding gives what `fs` gives for this module's own file and directory, and throws ENOENT alike. */
function probe(b: FsBinding | null): FsBinding | null {
  if (b === null) return null;
  try {
    const file = fileURLToPath(import.meta.url);
    const st = fs.lstatSync(file, { bigint: true });
    const a = b.lstat(file, true, undefined, true);
    const f = BINDING_FIELDS;
    const same =
      a instanceof BigInt64Array &&
      a[f.ino] === st.ino &&
      a[f.size] === st.size &&
      a[f.mode] === st.mode &&
      a[f.mtimeS]! * NS + a[f.mtimeNs]! === st.mtimeNs;
    if (!same) return null;
    if (b.stat(file, false, undefined, false)?.[f.mode] !== fs.statSync(file).mode) return null;
    if (b.stat(`${file}.cpv-no-such-file`, false, undefined, false) !== undefined) return null;
    const dir = path.dirname(file);
    const [names, types] = b.readdir(dir, 'utf8', true);
    const want = fs.readdirSync(dir, { withFileTypes: true });
    if (names.length !== want.length || types.length !== want.length) return null;
    if (
      want.some((d, i) => d.name !== names[i] || (types[i] !== direntType(d) && types[i] !== DIRENT_UNKNOWN))
    )
      return null;
  } catch {
    return null;
  }
  try {
    b.lstat(`${fileURLToPath(import.meta.url)}.cpv-no-such-file`, true, undefined, true);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? b : null;
  }
}
