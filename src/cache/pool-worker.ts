/**
 * The body of a hashing worker thread, as plain JavaScript source.
 *
 * Why a string: Node 20 cannot run `.ts` in a Worker, and the pool must work both from the TS
 * sources (vitest) and from the compiled `dist/`. A string run with `new Worker(src, { eval: true })`
 * behaves the same in both, and needs only node: built-ins (plus hash-wasm, by absolute path, on the
 * rare Node whose OpenSSL has no MD5).
 *
 * The hashing rules repeat src/cache/hash.ts (text test, per-1 MiB dos2unix) in JavaScript; the pool
 * tests compare this worker with hashFile on every vector so the two cannot drift apart silently.
 *
 * Protocol: the parent posts `{ id, op: 'hash' | 'store', hashName, root, paths }`; the worker
 * answers `{ id, results: [{ md5, size }, …], error? }` where `error` stops the batch at that path
 * (`{ code, message, path, kind: 'read' | 'write' | 'workspace' }`). Jobs run one at a time, in
 * arrival order. `{ op: 'copy', paths, targets, mode, fresh? }` copies cache objects out to the
 * workspace (checkout with cache.type copy): each through a temp named as `tempPathFor` names it,
 * created with `mode` and renamed over its target, or, where `fresh[i]`, created in place (see
 * `createOut`); results are the new files' `{ ino, mtimeNs, size }`.
 *
 * Small files (up to `smallLimit` bytes) are read whole with synchronous reads into one reused
 * buffer: per-call thread-pool round trips dominate small-file work. Longer files continue through
 * an async streaming loop with two 4 MiB buffers, never held whole in memory.
 */
/**
 * The mode of a file checkout is still writing in place: no permission bits. A finished file has
 * its real mode, so a leftover with this one is known to be partial (see api/checkout-journal.ts).
 */
export const PARTIAL_MODE = 0;

export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, threadId, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
// Loaded on first use: a copy-only worker (checkout) needs neither, and loading them is a good part
// of a worker's start-up (crypto alone pulls in Node's stream modules).
let cryptoModule, fspModule;
const crypto = () => (cryptoModule ??= require('node:crypto'));
const fsp = () => (fspModule ??= require('node:fs/promises'));

const CHUNK = 1 << 20; // md5-dos2unix chunk
const PARTIAL_MODE = ${PARTIAL_MODE};
const SMALL = workerData.smallLimit; // a multiple of CHUNK
const OBJECT_MODE = 0o444;
const FIX_MODE = workerData.fixMode; // the umask strips bits of 0o444: chmod temps explicitly

// ---- MD5 engine: node:crypto, or hash-wasm where node:crypto has no MD5 (FIPS OpenSSL) ----
let newMd5;
async function loadMd5() {
  if (!workerData.forceWasm) {
    try {
      crypto().createHash('md5').digest();
      newMd5 = () => {
        const h = crypto().createHash('md5');
        return { update: (b) => h.update(b), digestHex: () => h.digest('hex') };
      };
      return;
    } catch {}
  }
  const engine = await require(workerData.wasmPath).createMD5();
  // This worker hashes one file at a time, so one engine re-initialised per file is enough.
  newMd5 = () => {
    engine.init();
    return { update: (b) => engine.update(b), digestHex: () => engine.digest('hex') };
  };
}

// ---- DVC's text test and per-chunk dos2unix (see hash.ts) ----
const TEXT = new Uint8Array(256);
TEXT.fill(1, 0x20, 0x7f);
for (const b of [0x0a, 0x0d, 0x09, 0x0c, 0x08]) TEXT[b] = 1;

function isTextBlock(block) {
  if (block.length === 0) return true;
  let nonText = 0;
  for (let i = 0; i < block.length; i++) {
    const b = block[i];
    if (b === 0) return false;
    if (TEXT[b] !== 1) nonText++;
  }
  return nonText / block.length <= 0.3;
}

const CRLF = Buffer.from('\r\n');
const d2uOut = Buffer.allocUnsafe(CHUNK);
function dos2unixChunk(src) {
  if (!isTextBlock(src.subarray(0, 512))) return src;
  const first = src.indexOf(CRLF);
  if (first < 0) return src;
  src.copy(d2uOut, 0, 0, first);
  let written = first;
  for (let i = first; i < src.length; i++) {
    const b = src[i];
    if (b === 0x0d && src[i + 1] === 0x0a) continue;
    d2uOut[written++] = b;
  }
  return d2uOut.subarray(0, written);
}

/** Fed blocks that are 1 MiB multiples except the last (readers below guarantee it). */
function makeHasher(hashName) {
  const md5 = newMd5();
  let size = 0;
  return {
    update(block) {
      size += block.length;
      if (hashName === 'md5') md5.update(block);
      else for (let off = 0; off < block.length; off += CHUNK) md5.update(dos2unixChunk(block.subarray(off, off + CHUNK)));
    },
    digest: () => ({ md5: md5.digestHex(), size }),
  };
}

// ---- errors travel back as plain objects tagged with the path and the side that failed ----
class Tagged extends Error {
  constructor(err, p, kind) {
    super(err && err.message ? err.message : String(err));
    this.info = { code: err && err.code, message: this.message, path: p, kind };
  }
}
const tag = (err, p, kind) => (err instanceof Tagged ? err : new Tagged(err, p, kind));

// ---- cache layout (see odb.ts) ----
const objectPath = (root, md5) => path.join(root, md5.slice(0, 2), md5.slice(2));
// Unique per process and thread without a random-number call per object: pid and thread id tell
// live workers apart, the random part per worker tells this one from leftovers of a killed process
// that had the same pid (and the exclusive open would refuse such a name rather than reuse it).
let tempCounter = 0;
let tempPrefix;
const tempPath = (dir) => {
  tempPrefix ??= '.tmp-' + process.pid.toString(36) + '-' + threadId.toString(36) + '-' + crypto().randomBytes(3).toString('hex') + '-';
  return path.join(dir, tempPrefix + (tempCounter++).toString(36));
};
function isTrusted(p) {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  return st !== undefined && st.isFile() && (st.mode & 0o7777) === OBJECT_MODE;
}
function openTempSync(dir) {
  const p = tempPath(dir);
  try {
    return { p, fd: fs.openSync(p, 'wx', OBJECT_MODE) };
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    fs.mkdirSync(dir, { recursive: true });
    return { p, fd: fs.openSync(p, 'wx', OBJECT_MODE) };
  }
}
function renameIntoPlaceSync(tmp, final) {
  try {
    fs.renameSync(tmp, final);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    fs.mkdirSync(path.dirname(final), { recursive: true });
    fs.renameSync(tmp, final);
  }
}

// ---- readers and writers ----
function readFullSync(fd, buf, len, pos) {
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
/** Callback fs.read on the handle's fd: no FileHandle.read result object + promise per read. */
function readFull(fh, buf, len, pos) {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onRead = (err, n) => {
      if (err) return reject(err);
      got += n;
      if (n === 0 || got === len) resolve(got);
      else fs.read(fh.fd, buf, got, len - got, pos + got, onRead);
    };
    fs.read(fh.fd, buf, 0, len, pos, onRead);
  });
}
function writeAllSync(fd, bytes) {
  for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, bytes.length - off);
}
async function writeAll(fh, bytes) {
  for (let off = 0; off < bytes.length; ) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
}

// ---- small files: whole file in the reused scratch buffer, all synchronous ----
const scratch = Buffer.allocUnsafe(SMALL);

/** Writes a small object unless a trusted copy exists: temp (0o444) + rename. */
function storeSmall(root, md5, bytes) {
  const final = objectPath(root, md5);
  let tmp;
  try {
    if (isTrusted(final)) return;
    tmp = openTempSync(path.dirname(final));
    try {
      writeAllSync(tmp.fd, bytes);
      if (FIX_MODE) fs.fchmodSync(tmp.fd, OBJECT_MODE);
    } finally {
      fs.closeSync(tmp.fd);
    }
    renameIntoPlaceSync(tmp.p, final);
  } catch (err) {
    if (tmp) fs.rmSync(tmp.p, { force: true });
    throw tag(err, final, 'write');
  }
}

// ---- large files: async streaming, next read overlapping this block's hash (and write) ----
// 4 MiB blocks, as hash.ts READ_BLOCK: 1 MiB reads lost ~10% to per-read round trips.
const BLOCK = 4 * CHUNK;
let bufs; // two BLOCK buffers, made on the first large file

async function streamLarge(p, job, head) {
  const hasher = makeHasher(job.hashName);
  let out; // { p, fh } while storing
  let src;
  const consume = async (block) => {
    const written = out ? writeAll(out.fh, block).catch((e) => { throw tag(e, out.p, 'write'); }) : undefined;
    hasher.update(block);
    if (written) await written;
  };
  try {
    if (job.op === 'store') {
      const tmp = tempPath(job.root);
      const open = () => fsp().open(tmp, 'wx', OBJECT_MODE);
      const fh = await open().catch(async (err) => {
        if (err.code !== 'ENOENT') throw tag(err, tmp, 'write');
        await fsp().mkdir(job.root, { recursive: true });
        return open();
      }).catch((e) => { throw tag(e, tmp, 'write'); });
      out = { p: tmp, fh };
    }
    src = await fsp().open(p, 'r').catch((e) => { throw tag(e, p, 'read'); });
    await consume(head);
    bufs ??= [Buffer.allocUnsafe(BLOCK), Buffer.allocUnsafe(BLOCK)];
    const read = (i, pos) => readFull(src, bufs[i], BLOCK, pos).catch((e) => { throw tag(e, p, 'read'); });
    let cur = 0;
    let pos = head.length;
    let pending = read(0, pos);
    try {
      for (;;) {
        const n = await pending;
        if (n === 0) break;
        pos += n;
        const next = 1 - cur;
        pending = n < BLOCK ? Promise.resolve(0) : read(next, pos);
        await consume(bufs[cur].subarray(0, n));
        cur = next;
      }
    } finally {
      await pending.catch(() => undefined);
    }
    const result = hasher.digest();
    if (out) {
      const final = objectPath(job.root, result.md5);
      try {
        if (FIX_MODE) await out.fh.chmod(OBJECT_MODE);
        await out.fh.close();
        if (isTrusted(final)) fs.rmSync(out.p, { force: true });
        else renameIntoPlaceSync(out.p, final);
      } catch (e) {
        throw tag(e, final, 'write');
      }
      out = undefined;
    }
    return result;
  } finally {
    if (src) await src.close().catch(() => undefined);
    if (out) {
      await out.fh.close().catch(() => undefined);
      fs.rmSync(out.p, { force: true });
    }
  }
}

// ---- one file, one job ----
/** The whole small-file path, synchronous; undefined when the file is larger than the buffer. */
function processSmall(p, job) {
  let fd;
  let n;
  try {
    fd = fs.openSync(p, 'r');
    n = readFullSync(fd, scratch, SMALL, 0);
  } catch (err) {
    throw tag(err, p, 'read');
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  if (n === SMALL) return undefined; // may continue past the buffer
  const bytes = scratch.subarray(0, n);
  const hasher = makeHasher(job.hashName);
  hasher.update(bytes);
  const result = hasher.digest();
  if (job.op === 'store') storeSmall(job.root, result.md5, bytes);
  return result;
}

// ---- copies out of the cache into the workspace (checkout, cache.type copy) ----
let randomPool = Buffer.alloc(0);
let randomPos = 0;
/** Same shape as fsutil's tempPathFor: checkout recognises leftovers of a killed run by it. */
function workspaceTemp(target) {
  if (randomPos + 6 > randomPool.length) {
    randomPool = crypto().randomBytes(6 * 1024);
    randomPos = 0;
  }
  randomPos += 6;
  const name = '.' + path.basename(target) + '.tmp-' + randomPool.toString('hex', randomPos - 6, randomPos);
  return path.join(path.dirname(target), name);
}

// Cleared for the rest of a job when the filesystem refuses modes (vfat, exFAT, some network
// mounts): there a file cannot be marked partial, so every copy goes through temp + rename.
let inPlaceWorks = true;
const NO_MODES = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * A target that did not exist when checkout planned: created in place, without a temp and a
 * rename (half the directory updates of a copy, which is what a checkout of many small files
 * costs). It is created with no permission bits and given \`mode\` only once its bytes are all
 * written, so a killed run leaves it marked partial; checkout-journal.ts removes such files on the
 * next checkout. Something in the way (EEXIST) gets the temp + rename copy instead.
 */
function createOut(src, target, mode) {
  if (!inPlaceWorks) return copyOut(src, target, mode);
  let input;
  let output;
  try {
    input = fs.openSync(src, 'r');
  } catch (err) {
    throw tag(err, src, 'read');
  }
  try {
    try {
      output = fs.openSync(target, 'wx', PARTIAL_MODE);
    } catch (err) {
      if (err && err.code === 'EEXIST') return copyOut(src, target, mode);
      throw tag(err, target, 'workspace');
    }
    try {
      copyBytes(input, output, src, target);
      try {
        fs.fchmodSync(output, mode);
      } catch (err) {
        if (!(err && NO_MODES.has(err.code))) throw err;
        fs.closeSync(output);
        output = undefined;
        fs.rmSync(target, { force: true });
        inPlaceWorks = false;
        return copyOut(src, target, mode);
      }
      const st = fs.fstatSync(output, { bigint: true });
      fs.closeSync(output);
      output = undefined;
      return { ino: st.ino, mtimeNs: st.mtimeNs, size: Number(st.size) };
    } catch (err) {
      if (output !== undefined) fs.closeSync(output);
      fs.rmSync(target, { force: true });
      throw tag(err, target, 'workspace');
    }
  } finally {
    fs.closeSync(input);
  }
}

/** All bytes of \`input\` to \`output\`, through the worker's scratch buffer. */
function copyBytes(input, output, src, target) {
  for (let pos = 0; ; ) {
    let n;
    try {
      n = fs.readSync(input, scratch, 0, CHUNK, pos);
    } catch (err) {
      throw tag(err, src, 'read');
    }
    if (n === 0) return;
    pos += n;
    try {
      writeAllSync(output, scratch.subarray(0, n));
    } catch (err) {
      throw tag(err, target, 'workspace');
    }
  }
}

function copyOut(src, target, mode) {
  const tmp = workspaceTemp(target);
  let input;
  let output;
  try {
    try {
      input = fs.openSync(src, 'r');
    } catch (err) {
      throw tag(err, src, 'read');
    }
    try {
      output = fs.openSync(tmp, 'wx', mode);
    } catch (err) {
      throw tag(err, target, 'workspace');
    }
    copyBytes(input, output, src, target);
    // open() applied the umask; only a umask that strips a bit of mode needs the chmod.
    if ((mode & ~workerData.umask) !== mode) fs.fchmodSync(output, mode);
    const st = fs.fstatSync(output, { bigint: true });
    fs.closeSync(output);
    output = undefined;
    fs.renameSync(tmp, target);
    return { ino: st.ino, mtimeNs: st.mtimeNs, size: Number(st.size) };
  } catch (err) {
    if (output !== undefined) fs.closeSync(output);
    fs.rmSync(tmp, { force: true });
    throw tag(err, target, 'workspace');
  } finally {
    if (input !== undefined) fs.closeSync(input);
  }
}

async function runJob(job) {
  const results = [];
  try {
    if (job.op === 'copy') {
      inPlaceWorks = true;
      for (let i = 0; i < job.paths.length; i++) {
        const copy = job.fresh !== undefined && job.fresh[i] ? createOut : copyOut;
        results.push(copy(job.paths[i], job.targets[i], job.mode));
      }
      parentPort.postMessage({ id: job.id, results });
      return;
    }
    for (const p of job.paths) {
      // No promise per small file: they are most files, and per-file overhead is what counts.
      const small = processSmall(p, job);
      results.push(small !== undefined ? small : await streamLarge(p, job, scratch));
    }
    parentPort.postMessage({ id: job.id, results });
  } catch (err) {
    parentPort.postMessage({ id: job.id, results, error: tag(err, undefined, 'read').info });
  }
}

// The MD5 engine is set up before the first job that hashes; copy jobs never need it.
let md5Ready;
let queue = Promise.resolve();
parentPort.on('message', (job) => {
  queue = queue
    .then(() => (job.op === 'copy' ? undefined : (md5Ready ??= loadMd5())))
    .then(() => runJob(job))
    .catch((err) => parentPort.postMessage({ id: job.id, results: [], error: tag(err, undefined, 'read').info }));
});
`;
