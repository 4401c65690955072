/**
 * Putting cache objects into the workspace with DVC's link types (dvc-compat §4.3).
 *
 * `cache.type` is an ordered list; the first type that works on this filesystem is used and
 * remembered for the rest of the operation (DVC test-links once the same way). Every link is made
 * under a temp name and renamed over the target, so a crash never leaves a half-written file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../errors.js';
import { currentUmask, noSpaceCode, noSpaceError, tempPathFor } from '../fsutil.js';

export type LinkType = 'reflink' | 'hardlink' | 'symlink' | 'copy';

export const DEFAULT_LINK_TYPES: readonly LinkType[] = ['reflink', 'copy'];
const KNOWN: readonly LinkType[] = ['reflink', 'hardlink', 'symlink', 'copy'];

export function parseLinkTypes(value: string[] | undefined): LinkType[] {
  // DVC writes the list quoted (`type = "hardlink,symlink"`), so split strings on commas too.
  const items = (value ?? []).flatMap((v) => v.split(',')).filter((v) => v.trim() !== '');
  if (items.length === 0) return [...DEFAULT_LINK_TYPES];
  return items.map((v) => {
    const t = v.trim().toLowerCase();
    if (!(KNOWN as readonly string[]).includes(t)) {
      throw new CpvError('E_USAGE', `unknown cache.type '${v}'`, {
        hint: `Use a comma list of ${KNOWN.join(', ')} (e.g. cpv config cache.type reflink,copy).`,
      });
    }
    return t as LinkType;
  });
}

/**
 * Mode a plain (copied or cloned) workspace file gets: 0o666 minus umask, as DVC. The umask is
 * read once per process: reading it costs two syscalls, and a checkout of 100k files asks 100k times.
 */
export function workspaceFileMode(isexec: boolean): number {
  processUmask ??= currentUmask();
  const base = 0o666 & ~processUmask;
  return isexec ? base | 0o100 : base;
}
let processUmask: number | undefined;

export interface LinkOptions {
  /** Add the owner exec bit (single-file outputs recorded with `isexec: true`). */
  isexec?: boolean;
  /** The object is empty: never hard- or sym-link it. */
  empty?: boolean;
  /**
   * The target already holds the object's bytes (right after add/commit): with `copy`, keep the
   * file and only reset its mode instead of copying the bytes again, as DVC does.
   */
  inPlaceCopy?: boolean;
  /**
   * With `inPlaceCopy`: the target's `st_mode` as the caller just saw it (add walked the tree a
   * moment ago). Spares one lstat per file, the bulk of a second add of 100k unchanged files.
   */
  currentMode?: number;
}

/** Gives an in-place copy its workspace mode; false when `p` is not a regular file to keep. */
function resetModeInPlace(p: string, mode: number, currentMode: number | undefined): boolean {
  const stMode = currentMode ?? fs.lstatSync(p, { throwIfNoEntry: false })?.mode;
  if (stMode === undefined || (stMode & fs.constants.S_IFMT) !== fs.constants.S_IFREG) return false;
  // Most files already have the mode: skipping the chmod halves the syscalls of a big add.
  if ((stMode & 0o7777) !== mode) fs.chmodSync(p, mode);
  return true;
}

type LinkFn = (cachePath: string, tmp: string, mode: number) => void;

const LINKERS: Record<LinkType, LinkFn> = {
  reflink(cachePath, tmp, mode) {
    fs.copyFileSync(cachePath, tmp, fs.constants.COPYFILE_FICLONE_FORCE);
    fs.chmodSync(tmp, mode);
  },
  hardlink(cachePath, tmp) {
    fs.linkSync(cachePath, tmp);
  },
  symlink(cachePath, tmp) {
    fs.symlinkSync(cachePath, tmp);
  },
  copy(cachePath, tmp, mode) {
    copyBytes(cachePath, tmp, mode);
  },
};

const COPY_BUFFER = Buffer.allocUnsafe(1 << 20);

/**
 * Copies with plain reads and writes into a file created with its final mode. For many small
 * files this takes about half the time of copyFileSync + chmodSync (which also fstat, sendfile
 * and fchmod per file), and it is what lets a checkout keep pace with `cp -r`.
 */
function copyBytes(src: string, dst: string, mode: number): void {
  const input = fs.openSync(src, 'r');
  try {
    const output = fs.openSync(dst, 'wx', mode);
    try {
      for (;;) {
        const n = fs.readSync(input, COPY_BUFFER, 0, COPY_BUFFER.length, null);
        if (n === 0) break;
        for (let off = 0; off < n; ) off += fs.writeSync(output, COPY_BUFFER, off, n - off);
      }
      // open() applied the umask; only a umask that strips a bit of `mode` needs a chmod.
      processUmask ??= currentUmask();
      if ((mode & ~processUmask) !== mode) fs.fchmodSync(output, mode);
    } finally {
      fs.closeSync(output);
    }
  } finally {
    fs.closeSync(input);
  }
}

/**
 * Links cache objects into the workspace with the first working type of `types`.
 * `linkers` is injectable so tests can force a type to fail and watch the fallback.
 */
export class Linker {
  private chosen: LinkType | undefined;
  private readonly candidates: LinkType[];

  constructor(
    types: LinkType[],
    private readonly linkers: Record<LinkType, LinkFn> = LINKERS,
  ) {
    this.candidates = [...types];
  }

  /** The type in use once a link succeeded. */
  get linkType(): LinkType | undefined {
    return this.chosen;
  }

  /**
   * Settles the link type with a throwaway link from `cacheDir` into `targetDir`, as DVC tests
   * links before using them, so that the first real file need not be the test. (An add of an
   * unchanged tree with `reflink,copy` on a filesystem without reflinks then learns it needs no
   * object at all: the files stay where they are.)
   */
  settle(cacheDir: string, targetDir: string): void {
    while (this.chosen === undefined && this.candidates.length > 0) {
      const type = this.candidates[0]!;
      if (type === 'copy' || this.probe(type, cacheDir, targetDir)) this.chosen = type;
      else this.candidates.shift();
    }
  }

  private probe(type: LinkType, cacheDir: string, targetDir: string): boolean {
    const source = tempPathFor(`${cacheDir}${path.sep}link-test`);
    const target = tempPathFor(`${targetDir}${path.sep}link-test`);
    try {
      fs.mkdirSync(cacheDir, { recursive: true });
      fs.writeFileSync(source, 'cpv link test\n', { mode: 0o444 });
      this.linkers[type](source, target, workspaceFileMode(false));
      return true;
    } catch {
      return false; // a full disk or an unwritable directory fails the real links too, clearly
    } finally {
      fs.rmSync(target, { force: true });
      fs.rmSync(source, { force: true });
    }
  }

  /**
   * Replaces `target` with a link/copy of `cachePath` (a function is called only when the object
   * is really needed: an in-place copy needs none). Returns the type used.
   */
  link(cachePath: string | (() => string), target: string, opts: LinkOptions = {}): LinkType {
    const mode = workspaceFileMode(opts.isexec ?? false);
    let source: string | undefined = typeof cachePath === 'string' ? cachePath : undefined;
    const sourcePath = () => {
      source ??= (cachePath as () => string)();
      return source;
    };
    let lastError: unknown;
    while (this.candidates.length > 0) {
      const type = this.chosen ?? this.candidates[0]!;
      try {
        const keptInPlace =
          type === 'copy' && opts.inPlaceCopy === true && resetModeInPlace(target, mode, opts.currentMode);
        if (!keptInPlace) this.linkOne(type, sourcePath(), target, mode, opts.empty ?? false);
        this.chosen = type;
        return type;
      } catch (err) {
        if (err instanceof CpvError) throw err; // not the link type's failure (e.g. no source)
        // A full disk is no reason to try the next type: a copy needs even more space.
        if (this.chosen !== undefined || noSpaceCode(err) !== undefined) throw ioError(err, target);
        lastError = err;
        this.candidates.shift();
      }
    }
    throw new CpvError('E_IO', `no cache.type could link ${target}: ${(lastError as Error)?.message}`, {
      hint: 'Add copy to cache.type (cpv config cache.type reflink,copy).',
      cause: lastError,
    });
  }

  private linkOne(type: LinkType, cachePath: string, target: string, mode: number, empty: boolean): void {
    const tmp = tempPathFor(target);
    try {
      // Empty files are never hard- or sym-linked (DVC creates a fresh empty file instead).
      if (empty && (type === 'hardlink' || type === 'symlink')) {
        fs.writeFileSync(tmp, '', { mode });
        fs.chmodSync(tmp, mode);
      } else {
        this.linkers[type](cachePath, tmp, mode);
      }
      fs.renameSync(tmp, target);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }
}

function ioError(err: unknown, target: string): CpvError {
  return (
    noSpaceError(err, `'${target}'`) ??
    new CpvError('E_IO', `cannot write ${target}: ${(err as Error).message}`, { cause: err })
  );
}
