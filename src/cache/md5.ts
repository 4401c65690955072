/**
 * MD5 engines. DVC names every object by an MD5, so all hashing in cpv goes through the small
 * `Md5Hasher` interface defined here.
 *
 * node:crypto (OpenSSL) is the fast engine and the default. It can be missing MD5: a FIPS-mode
 * OpenSSL refuses `createHash('md5')`. Then we fall back to hash-wasm, which is pure WebAssembly.
 * hash-wasm instances are created asynchronously, so `loadMd5Factory()` is async; once loaded, the
 * returned factory makes hashers synchronously, which the sync hashing paths need.
 *
 * hash-wasm is imported only when needed: its module (all algorithms inlined) takes 20-30 ms to
 * load, which every CLI start would otherwise pay.
 */
import { createHash } from 'node:crypto';
import type { IHasher } from 'hash-wasm';
import { CpvError } from '../errors.js';

export interface Md5Hasher {
  update(bytes: Uint8Array): void;
  /** Finishes the hash; the hasher must not be used afterwards. */
  digestHex(): string;
}

/** Makes a fresh hasher, synchronously. */
export type Md5Factory = () => Md5Hasher;

/** MD5 from node:crypto. Throws if this Node's OpenSSL refuses MD5 (FIPS mode). */
export function createMd5(): Md5Hasher {
  const h = createHash('md5');
  return {
    update: (bytes) => {
      h.update(bytes);
    },
    digestHex: () => h.digest('hex'),
  };
}

async function newWasmMd5(): Promise<IHasher> {
  const { createMD5 } = await import('hash-wasm');
  return createMD5();
}

/** One stand-alone hash-wasm MD5 hasher. */
export async function createMd5Wasm(): Promise<Md5Hasher> {
  const h = await newWasmMd5();
  h.init();
  return {
    update: (bytes) => {
      h.update(bytes);
    },
    digestHex: () => h.digest('hex'),
  };
}

/**
 * A synchronous factory over ONE hash-wasm instance. Each hasher it makes keeps its own saved
 * state; the instance is switched between hashers with save()/load() only when a different hasher
 * uses it, so interleaved hashes (two files hashed concurrently across awaits) stay correct and the
 * common case (one hash at a time) costs nothing extra.
 */
export async function createMd5WasmFactory(): Promise<Md5Factory> {
  const engine = await newWasmMd5();
  /** The lane whose state is currently loaded in `engine`. */
  let active: { state: Uint8Array | undefined } | undefined;

  return () => {
    // `state` undefined means "fresh hash, nothing saved yet".
    const lane: { state: Uint8Array | undefined } = { state: undefined };
    let done = false;
    const activate = (): void => {
      if (done) throw new CpvError('E_USAGE', 'md5 hasher used after digestHex()');
      if (active === lane) return;
      if (active !== undefined) active.state = engine.save();
      if (lane.state === undefined) engine.init();
      else engine.load(lane.state);
      active = lane;
    };
    return {
      update(bytes) {
        activate();
        engine.update(bytes);
      },
      digestHex() {
        activate();
        done = true;
        active = undefined;
        return engine.digest('hex');
      },
    };
  };
}

/** Whether node:crypto can do MD5 here. */
export function nodeCryptoHasMd5(make: Md5Factory = createMd5): boolean {
  try {
    make().digestHex();
    return true;
  } catch {
    return false;
  }
}

export interface LoadMd5Options {
  /**
   * The node:crypto engine to probe; a test passes one that throws to force the wasm path
   * (as a FIPS-mode OpenSSL would).
   */
  nodeMd5?: Md5Factory;
}

/** The best available engine: node:crypto if it can do MD5, otherwise hash-wasm. */
export async function loadMd5Factory(opts: LoadMd5Options = {}): Promise<Md5Factory> {
  const nodeMd5 = opts.nodeMd5 ?? createMd5;
  if (nodeCryptoHasMd5(nodeMd5)) return nodeMd5;
  return createMd5WasmFactory();
}

let defaultFactory: Md5Factory | undefined;
let defaultLoading: Promise<Md5Factory> | undefined;

/** The process-wide engine, loaded once. */
export function defaultMd5Factory(): Promise<Md5Factory> {
  if (defaultFactory !== undefined) return Promise.resolve(defaultFactory);
  defaultLoading ??= loadMd5Factory().then((f) => {
    defaultFactory = f;
    return f;
  });
  return defaultLoading;
}

/**
 * The process-wide engine for synchronous callers. node:crypto needs no loading; the wasm fallback
 * must have been loaded by an earlier `await defaultMd5Factory()` (every async hash does that).
 */
export function defaultMd5FactorySync(): Md5Factory {
  if (defaultFactory !== undefined) return defaultFactory;
  if (nodeCryptoHasMd5()) {
    defaultFactory = createMd5;
    return defaultFactory;
  }
  throw new CpvError(
    'E_HASH_UNSUPPORTED',
    'node:crypto cannot compute MD5 here and hash-wasm is not loaded yet',
    {
      hint: 'Call `await loadMd5Factory()` (or any async hash function) once before hashing synchronously.',
    },
  );
}

/** MD5 of a byte array, as lowercase hex. */
export function md5Hex(bytes: Uint8Array, factory: Md5Factory = defaultMd5FactorySync()): string {
  const h = factory();
  h.update(bytes);
  return h.digestHex();
}
