/**
 * A V8 code cache for the bundled CLI's own files.
 *
 * Why: every `cpv` command is a fresh Node process, and before it does any work V8 parses and
 * compiles the modules it loads: about 60 ms of CPU for a no-op `cpv status`, a third of its
 * whole run (measured on this project's 2-core machines). Node 22 can keep compiled code on disk
 * (`module.enableCompileCache()`); Node 20 cannot, so for the bundle's files (dist/bin/*.cjs) we do
 * what it does: compile them through `vm.Script` with `cachedData` read from, and written to, a
 * cache directory.
 *
 * One cache file per bundle file *and command*: V8 puts into cached data only the functions that
 * had been compiled when the data was made, so `cpv status` and `cpv checkout` each keep their own.
 *
 * Safety: before accepting cached data V8 checks its own version, its flags and the *length* of the
 * source, not the source itself. Cache files are therefore named after bundle files whose names
 * carry a hash of their content (the bundler names every file that way), and they live in the
 * user's own cache directory (mode 0700), each file with a checksum of its data. Cached data
 * that is missing, unreadable, damaged or rejected only costs the compile time it would have
 * saved; writing is temp file + rename, and never fails a command.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';

/** How Node calls a CommonJS file's code: the body wrapped in a function of these five. */
type ModuleWrapper = (
  exports: unknown,
  require: NodeJS.Require,
  module: Module,
  filename: string,
  dirname: string,
) => unknown;

type CompileFn = (this: Module, content: string, filename: string) => unknown;

/** Node's loader method that compiles and runs one CommonJS file (public in practice, untyped). */
const moduleProto = Module.prototype as unknown as { _compile: CompileFn };

const CACHE_SUFFIX = '.v8';

export interface CompileCacheDirInput {
  env: NodeJS.ProcessEnv;
  homedir: string;
  nodeVersion: string;
  arch: string;
  /** The bundle directory; different installs of cpv get different cache directories. */
  binDir: string;
}

/**
 * Where compiled code for this Node and this install of cpv is kept, or undefined when caching is
 * off. `CPV_COMPILE_CACHE` = `0`/`off`/`false` turns it off, an absolute path moves it; otherwise
 * it sits under `$XDG_CACHE_HOME` or `~/.cache`.
 */
export function compileCacheDir(input: CompileCacheDirInput): string | undefined {
  const setting = input.env.CPV_COMPILE_CACHE?.trim() ?? '';
  if (/^(0|off|false|no)$/i.test(setting)) return undefined;
  const base = path.isAbsolute(setting) ? setting : defaultCacheBase(input);
  if (base === undefined) return undefined;
  const install = createHash('md5').update(input.binDir).digest('hex').slice(0, 12);
  return path.join(base, `${input.nodeVersion}-${input.arch}`, install);
}

function defaultCacheBase(input: CompileCacheDirInput): string | undefined {
  const xdg = input.env.XDG_CACHE_HOME;
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'cpv', 'v8');
  return path.isAbsolute(input.homedir) ? path.join(input.homedir, '.cache', 'cpv', 'v8') : undefined;
}

/** The command word of a `cpv` argument list (`status`, `add`, …), `_` when there is none. */
export function commandTag(argv: readonly string[]): string {
  const word = argv.find((arg) => !arg.startsWith('-'));
  return word !== undefined && /^[a-z][a-z0-9-]{0,31}$/.test(word) ? word : '_';
}

export interface CompileCacheOptions {
  /** Only files directly in this directory are compiled through the cache. */
  binDir: string;
  cacheDir: string;
  /** Separates the cached code of different commands (see {@link commandTag}). */
  tag: string;
}

export interface CompileCache {
  /** Bundle files whose code came from the cache in this process. */
  readonly accepted: string[];
  /** Bundle files compiled from source (no cached data, or V8 rejected it). */
  readonly compiled: string[];
  /** Writes cached data for the files compiled from source; safe to call more than once. */
  flush(): void;
  /** Puts Node's own compile step back. */
  uninstall(): void;
}

interface PendingWrite {
  script: vm.Script;
  cacheFile: string;
}

/** Routes the compiling of `binDir`'s CommonJS files through a V8 code cache in `cacheDir`. */
export function installCompileCache(options: CompileCacheOptions): CompileCache {
  const original = moduleProto._compile;
  const accepted: string[] = [];
  const compiled: string[] = [];
  let pending: PendingWrite[] = [];

  moduleProto._compile = function compileThroughCache(this: Module, content: string, filename: string) {
    if (path.dirname(filename) !== options.binDir) return original.call(this, content, filename);
    const name = path.basename(filename);
    const cacheFile = path.join(options.cacheDir, `${name}.${options.tag}${CACHE_SUFFIX}`);
    const cachedData = readCachedData(cacheFile);
    const script = new vm.Script(Module.wrap(withoutShebang(content)), { filename, cachedData });
    if (cachedData !== undefined && !script.cachedDataRejected) accepted.push(name);
    else {
      compiled.push(name);
      pending.push({ script, cacheFile });
    }
    const wrapper = script.runInThisContext({ displayErrors: true }) as ModuleWrapper;
    return wrapper.call(
      this.exports,
      this.exports,
      Module.createRequire(filename),
      this,
      filename,
      options.binDir,
    );
  };

  return {
    accepted,
    compiled,
    flush() {
      const writes = pending;
      pending = [];
      if (writes.length === 0) return;
      for (const write of writes) writeCachedData(write);
      removeStaleEntries(options.cacheDir, options.binDir);
    },
    uninstall() {
      moduleProto._compile = original;
    },
  };
}

/**
 * A cache file is the MD5 of V8's data, then the data. V8 checks its own header but, in release
 * builds, not a checksum of the rest: a file damaged on disk must not reach it.
 */
const DIGEST_BYTES = 16;

function digestOf(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

function readCachedData(cacheFile: string): Buffer | undefined {
  let file: Buffer;
  try {
    file = fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const data = file.subarray(DIGEST_BYTES);
  return file.length > DIGEST_BYTES && digestOf(data).equals(file.subarray(0, DIGEST_BYTES))
    ? data
    : undefined;
}

/** V8 accepts `#!` only at the very start of a script; wrapped, the line becomes a comment. */
function withoutShebang(content: string): string {
  return content.startsWith('#!') ? `//${content.slice(2)}` : content;
}

function writeCachedData({ script, cacheFile }: PendingWrite): void {
  const temp = `${cacheFile}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true, mode: 0o700 });
    const data = script.createCachedData();
    fs.writeFileSync(temp, Buffer.concat([digestOf(data), data]), { mode: 0o600 });
    fs.renameSync(temp, cacheFile);
  } catch {
    // A cache we cannot write (read-only home, full disk) only means compiling next time too.
    removeQuietly(temp);
  }
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // Nothing was there to remove (its directory is missing or not a directory).
  }
}

/** Drops cached code of bundle files that no longer exist (an older build of this install). */
function removeStaleEntries(cacheDir: string, binDir: string): void {
  try {
    const current = new Set(fs.readdirSync(binDir));
    for (const entry of fs.readdirSync(cacheDir)) {
      const source = sourceNameOf(entry);
      if (source !== undefined && !current.has(source))
        fs.rmSync(path.join(cacheDir, entry), { force: true });
    }
  } catch {
    // Best effort: a stale entry is never used (its source name no longer exists), only kept.
  }
}

/** `cli-AbC123.cjs.status.v8` → `cli-AbC123.cjs`; undefined for anything else. */
function sourceNameOf(entry: string): string | undefined {
  if (!entry.endsWith(CACHE_SUFFIX)) return undefined;
  const withTag = entry.slice(0, -CACHE_SUFFIX.length);
  const dot = withTag.lastIndexOf('.');
  return dot > 0 ? withTag.slice(0, dot) : undefined;
}
