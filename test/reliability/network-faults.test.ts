/**
 * Network faults between cpv and its servers: a TCP proxy (test/helpers/fault-proxy.ts) between
 * the built CLI and the real S3 server (Ceph RGW), and between isomorphic-git and a real git
 * smart-HTTP server, adds latency, resets connections, stalls them, and stops and restarts the
 * "server" (its listener) mid-transfer. The promises checked after every case:
 * - a run either succeeds or ends with one clear error line and a non-zero exit — never a hang
 *   past the configured timeouts (the time to the error is measured), never exit 0 with an object
 *   missing or wrong on the remote (every object is read back from the real server, not through
 *   the proxy, and hashed);
 * - no corrupt object ever enters the cache on pull;
 * - a rerun without faults completes;
 * - git refs and objects stay valid (`git fsck`).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual as isDeepEqual } from 'node:util';
import { GetObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpvError } from '../../src/errors.js';
import { GitRepo } from '../../src/git/repo.js';
import { type FaultProxy, type Faults, startFaultProxy } from '../helpers/fault-proxy.js';
import { bareRepo, type GitHttpServer, startGitHttpServer } from '../helpers/git-http-server.js';
import {
  adminClient,
  createBucket,
  deleteBucket,
  listKeys,
  type S3TestServer,
  s3TestServer,
} from '../helpers/s3.js';
import { gitCli, gitRepo, tempDir } from '../helpers/tmp.js';
import { record } from './tally.js';

const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');
/** The remote's read_timeout and connect_timeout, in seconds. */
const TIMEOUT_S = 2;
const env = {
  ...process.env,
  // A warning on stderr fails a case; its trace says where it came from.
  NODE_OPTIONS: '--trace-warnings',
  CI: 'true',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

let cases = 0;
let injected = 0;
let failures = 0;
afterAll(() => record('network faults', { cases, faults: injected, failures }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI without blocking (the proxy lives in this process and must keep serving). */
function cpv(cwd: string, ...args: string[]): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, ...args], { cwd, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // Far past any bound the tests assert: a hang ends here as a failure, not as a stuck suite.
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(killer);
      resolve({ status, stdout, stderr, ms: performance.now() - t0 });
    }),
  );
}

async function cpvOk(cwd: string, ...args: string[]): Promise<Run> {
  const r = await cpv(cwd, ...args);
  if (r.status !== 0) throw new Error(`cpv ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

const md5 = (bytes: Buffer) => crypto.createHash('md5').update(bytes).digest('hex');

/** Key on the remote (`files/md5/ab/cdef…`) → md5 the bytes must have, for every cache object. */
function cacheObjects(repo: string): Map<string, string> {
  const root = path.join(repo, '.dvc', 'cache', 'files', 'md5');
  const out = new Map<string, string>();
  for (const prefix of fs.readdirSync(root)) {
    for (const name of fs.readdirSync(path.join(root, prefix))) {
      if (name.startsWith('.')) continue;
      out.set(`files/md5/${prefix}/${name}`, prefix + name.replace(/\.dir$/, ''));
    }
  }
  return out;
}

/** Cache objects whose bytes do not hash to their name. */
function badCacheObjects(repo: string): string[] {
  const root = path.join(repo, '.dvc', 'cache', 'files', 'md5');
  if (!fs.existsSync(root)) return [];
  const bad: string[] = [];
  for (const prefix of fs.readdirSync(root)) {
    for (const name of fs.readdirSync(path.join(root, prefix))) {
      if (name.startsWith('.')) continue;
      const bytes = fs.readFileSync(path.join(root, prefix, name));
      if (md5(bytes) !== prefix + name.replace(/\.dir$/, '')) bad.push(`${prefix}/${name}`);
    }
  }
  return bad;
}

const s3 = await s3TestServer();

describe.runIf(s3 !== undefined)('S3 push/pull/fetch through a faulty network', () => {
  const server = s3 as S3TestServer;
  let bucket: string;
  let proxy: FaultProxy;
  /** A repo with data added and its remote configured (to the proxy), copied for each case. */
  let template: string;
  let expected: Map<string, string>;
  let caseNo = 0;

  beforeAll(async () => {
    bucket = await createBucket(server);
    proxy = await startFaultProxy(server.endpoint);
    template = gitRepo();
    await cpvOk(template, 'init', '-q');
    fs.writeFileSync(path.join(template, 'params.yaml'), 'lr: 0.1\n');
    const data = path.join(template, 'data');
    fs.mkdirSync(path.join(data, 'shards'), { recursive: true });
    for (let i = 0; i < 12; i++)
      fs.writeFileSync(path.join(data, 'shards', `s${i}.txt`), `shard ${i}\n`.repeat(200));
    const big = crypto.randomBytes(6 * 1024 * 1024 + 12_345); // > 5 MiB: a multipart upload, two ranges
    fs.writeFileSync(path.join(template, 'model.bin'), big);
    await cpvOk(template, 'add', 'params.yaml', 'data', 'model.bin');
    await cpvOk(template, 'remote', 'add', '-d', 'store', `s3://${bucket}/template`);
    for (const [k, v] of [
      ['endpointurl', proxy.url],
      ['read_timeout', String(TIMEOUT_S)],
      ['connect_timeout', String(TIMEOUT_S)],
    ]) {
      await cpvOk(template, 'remote', 'modify', 'store', k!, v!);
    }
    await cpvOk(template, 'remote', 'modify', '--local', 'store', 'access_key_id', server.accessKey);
    await cpvOk(template, 'remote', 'modify', '--local', 'store', 'secret_access_key', server.secretKey);
    gitCli(template, 'add', '-A');
    gitCli(template, 'commit', '-qm', 'data');
    expected = cacheObjects(template);
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    if (bucket) await deleteBucket(server, bucket);
  });

  /** A copy of the template pushing to a fresh prefix of the bucket. */
  function freshRepo(): { cwd: string; prefix: string } {
    const prefix = `case-${++caseNo}`;
    const cwd = path.join(tempDir(), 'repo');
    fs.cpSync(template, cwd, { recursive: true, verbatimSymlinks: true });
    const config = path.join(cwd, '.dvc', 'config');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('/template', `/${prefix}`));
    return { cwd, prefix };
  }

  /** Objects under `prefix` on the real server (not through the proxy): missing and wrong ones. */
  async function remoteCheck(
    prefix: string,
  ): Promise<{ missing: string[]; wrong: string[]; extra: string[] }> {
    const client = adminClient(server);
    const keys = new Set(
      (await listKeys(server, bucket, `${prefix}/`)).map((k) => k.slice(prefix.length + 1)),
    );
    const missing: string[] = [];
    const wrong: string[] = [];
    for (const [key, sum] of expected) {
      if (!keys.has(key)) {
        missing.push(key);
        continue;
      }
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}` }));
      const bytes = Buffer.from(await res.Body!.transformToByteArray());
      if (md5(bytes) !== sum) wrong.push(key);
    }
    const extra = [...keys].filter((k) => !expected.has(k));
    return { missing, wrong, extra };
  }

  /** Path → md5 of the tracked workspace files (params.yaml, model.bin, data/**). */
  function workspace(cwd: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const rel of ['params.yaml', 'model.bin']) {
      const p = path.join(cwd, rel);
      if (fs.existsSync(p)) out[rel] = md5(fs.readFileSync(p));
    }
    const data = path.join(cwd, 'data');
    if (fs.existsSync(data)) {
      for (const rel of fs.readdirSync(data, { recursive: true, encoding: 'utf8' }).sort()) {
        const p = path.join(data, rel);
        if (fs.statSync(p).isFile()) out[`data/${rel}`] = md5(fs.readFileSync(p));
      }
    }
    return out;
  }

  /** A copy of the template with an empty cache and no data in the workspace, pulling from `origin`. */
  function pullRepo(): string {
    const cwd = path.join(tempDir(), 'clone');
    fs.cpSync(template, cwd, { recursive: true, verbatimSymlinks: true });
    const config = path.join(cwd, '.dvc', 'config');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('/template', '/origin'));
    for (const rel of ['.dvc/cache', 'params.yaml', 'model.bin', 'data']) {
      fs.rmSync(path.join(cwd, rel), { recursive: true, force: true });
    }
    return cwd;
  }

  let trackedFiles: Record<string, string>;

  beforeAll(async () => {
    trackedFiles = workspace(template);
    // The remote pulls read from: pushed once through the proxy without faults.
    const origin = path.join(tempDir(), 'origin');
    fs.cpSync(template, origin, { recursive: true, verbatimSymlinks: true });
    const config = path.join(origin, '.dvc', 'config');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('/template', '/origin'));
    await cpvOk(origin, 'push');
    expect(await remoteCheck('origin')).toEqual({ missing: [], wrong: [], extra: [] });
  }, 120_000);

  /** A promise of the suite: counted as a failure when broken, and failing the test. */
  function promise(ok: boolean, what: string, detail: unknown = '') {
    if (!ok) failures++;
    expect(ok, `${what} ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`).toBe(true);
  }

  /** A failed run: a non-zero exit (not our hang guard) and one `cpv: error:` line, no stack, no SDK noise. */
  function expectClearError(r: Run, what: string) {
    promise(r.status !== null, `${what}: ended by itself (no hang)`, r.stderr);
    promise(r.status !== 0, `${what}: non-zero exit`);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('cpv: error: '));
    promise(errorLines.length === 1, `${what}: one error line`, r.stderr);
    promise(
      !/\n\s+at .+:\d+:\d+|\[WARN\]|undefined/.test(r.stderr),
      `${what}: no stack, no SDK noise`,
      r.stderr,
    );
  }

  /** What the repo holds after `op` succeeded: every object, intact, where it belongs. */
  async function expectComplete(op: Op, cwd: string, prefix: string, what: string) {
    if (op === 'push') {
      const check = await remoteCheck(prefix);
      promise(
        check.missing.length === 0 && check.wrong.length === 0,
        `${what}: remote complete and intact`,
        check,
      );
      // A multipart upload cut off by a fault is resumed or aborted once the object is there.
      const open = await adminClient(server).send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` }),
      );
      promise((open.Uploads ?? []).length === 0, `${what}: no multipart upload left open`, open.Uploads);
      return;
    }
    const bad = badCacheObjects(cwd);
    promise(bad.length === 0, `${what}: no corrupt cache object`, bad);
    const cached = cacheObjects(cwd);
    const absent = [...expected.keys()].filter((k) => !cached.has(k));
    promise(absent.length === 0, `${what}: every object in the cache`, absent);
    if (op === 'pull')
      promise(isDeepEqual(workspace(cwd), trackedFiles), `${what}: workspace equals the tracked version`);
  }

  /** After a faulty run: nothing wrong anywhere, whatever the outcome. */
  async function expectNothingWrong(op: Op, cwd: string, prefix: string, what: string) {
    if (op === 'push') {
      const check = await remoteCheck(prefix);
      promise(
        check.wrong.length === 0 && check.extra.length === 0,
        `${what}: no wrong object on the remote`,
        check,
      );
    } else {
      const bad = badCacheObjects(cwd);
      promise(bad.length === 0, `${what}: no corrupt cache object`, bad);
    }
  }

  type Op = 'push' | 'pull' | 'fetch';
  const faultCount = () => proxy.stats.resets + proxy.stats.stalls + proxy.stats.refusals;
  const outcomes: string[] = [];

  /**
   * Runs `op` with `faults` on (and `during` started alongside), then checks: success means
   * complete, failure means one clear error and nothing wrong; the rerun without faults completes.
   */
  async function faultyRun(
    op: Op,
    label: string,
    faults: Faults,
    seed: number,
    opts: { during?: () => void; expect?: 'ok' | 'error'; boundMs?: number } = {},
  ): Promise<Run> {
    const { cwd, prefix } = op === 'push' ? freshRepo() : { cwd: pullRepo(), prefix: 'origin' };
    const what = `${op} with ${label} (seed ${seed})`;
    const before = faultCount();
    const connectionsBefore = proxy.stats.connections;
    proxy.setFaults(faults, seed);
    opts.during?.();
    const r = await cpv(cwd, op);
    proxy.setFaults({});
    proxy.unstall();
    await proxy.restore();
    cases++;
    const struck = faultCount() - before;
    injected += struck;
    const firstError = r.stderr.split('\n').find((l) => l.startsWith('cpv: error: ')) ?? '';
    outcomes.push(
      `${what}: exit ${r.status} in ${(r.ms / 1000).toFixed(1)} s, ${struck} faults, ${proxy.stats.connections - connectionsBefore} connections${firstError ? `\n      ${firstError.slice(0, 200)}` : ''}`,
    );
    if (opts.during || faults.resetRate || faults.stallRate) promise(struck > 0, `${what}: a fault struck`);
    // Node's and the SDK's warnings (listener leaks, exceeded timeouts) are noise the user must not see.
    promise(!/Warning|\[WARN\]/.test(r.stderr), `${what}: no warnings on stderr`, r.stderr);
    if (opts.expect === 'ok') promise(r.status === 0, `${what}: succeeds`, r.stderr);
    if (opts.expect === 'error') promise(r.status !== 0, `${what}: fails`, r.stdout);
    if (opts.boundMs !== undefined)
      promise(r.ms < opts.boundMs, `${what}: ended within ${opts.boundMs} ms`, r.ms);
    if (r.status === 0) await expectComplete(op, cwd, prefix, what);
    else {
      expectClearError(r, what);
      await expectNothingWrong(op, cwd, prefix, what);
      const again = await cpv(cwd, op);
      promise(again.status === 0, `${what}: the rerun succeeds`, again.stderr);
      await expectComplete(op, cwd, prefix, `${what}, rerun`);
    }
    return r;
  }

  const MiB = 1024 * 1024;
  /** The SDK's attempts per request (maxAttempts in src/remote/s3.ts). */
  const SDK_ATTEMPTS = 5;
  /**
   * A stalled request is given up after SDK_ATTEMPTS silent read_timeouts (10 s here); 15 s more
   * is slack for start-up, the work before the stall and a loaded machine. Retries multiplied on
   * top of the SDK's (4 × 5 tries, 40 s) or a hang (the 120 s guard) both break it.
   */
  const STALL_BOUND_MS = (SDK_ATTEMPTS * TIMEOUT_S + 15) * 1000;

  it('latency: push, fetch and pull succeed', async () => {
    for (const op of ['push', 'fetch', 'pull'] as const) {
      await faultyRun(op, '25 ms latency', { latencyMs: 25 }, 1, { expect: 'ok' });
    }
  }, 120_000);

  it('connection resets: retried, or one clear error; the rerun completes', async () => {
    const resets: Faults = { resetRate: 1, resetAfterBytes: [0, 2 * MiB], maxFaults: 3 };
    for (const seed of [11, 12, 13]) await faultyRun('push', 'resets', resets, seed);
    for (const seed of [21, 22]) await faultyRun('pull', 'resets', resets, seed);
    await faultyRun('fetch', 'resets', resets, 31);
  }, 180_000);

  it('short stalls (under read_timeout) are ridden out', async () => {
    const stalls: Faults = { stallRate: 1, stallAfterBytes: [0, 2 * MiB], stallMs: 600, maxFaults: 3 };
    await faultyRun('push', 'stalls of 0.6 s', stalls, 41, { expect: 'ok' });
    await faultyRun('pull', 'stalls of 0.6 s', stalls, 42, { expect: 'ok' });
  }, 120_000);

  it('a stall forever ends in a timeout error within the bound, never a hang', async () => {
    const forever: Faults = { stallRate: 1, stallAfterBytes: [200_000, 2 * MiB] };
    for (const [op, seed] of [
      ['push', 51],
      ['pull', 52],
      ['fetch', 53],
    ] as const) {
      const r = await faultyRun(op, 'a stall forever', forever, seed, {
        expect: 'error',
        boundMs: STALL_BOUND_MS,
      });
      promise(
        /stopped answering \(no data for 2 s, read_timeout\)/.test(r.stderr),
        `${op}: the error names read_timeout`,
        r.stderr,
      );
    }
  }, 180_000);

  it('the server stopped mid-transfer and restarted: success or one clear error; the rerun completes', async () => {
    for (const [op, seed] of [
      ['push', 61],
      ['pull', 62],
    ] as const) {
      await faultyRun(op, 'the server down for 0.3 s', {}, seed, {
        during: () => void proxy.refuseAfterBytes(2 * MiB, 300),
      });
      await faultyRun(op, 'the server down until the run ended', {}, seed, {
        during: () => void proxy.refuseAfterBytes(2 * MiB),
        expect: 'error',
      });
    }
  }, 180_000);

  afterAll(() => {
    console.log(`network faults, S3 (read_timeout ${TIMEOUT_S} s):\n  ${outcomes.join('\n  ')}`);
  });
});

describe('git push and fetch over smart HTTP through a faulty network', () => {
  const TIMEOUT_MS = 2000;
  let server: GitHttpServer;
  let proxy: FaultProxy;
  let root: string;
  let repoNo = 0;
  const outcomes: string[] = [];

  beforeAll(async () => {
    root = tempDir();
    server = await startGitHttpServer({ root });
    proxy = await startFaultProxy(server.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.close();
    console.log(`network faults, git (timeout ${TIMEOUT_MS} ms):\n  ${outcomes.join('\n  ')}`);
  });

  function fsck(gitDir: string, what: string) {
    const r = spawnSync('git', ['fsck', '--full'], { cwd: gitDir, encoding: 'utf8' });
    if (r.status !== 0) failures++;
    expect(r.status, `${what}: git fsck in ${gitDir}: ${r.stderr}`).toBe(0);
  }

  /**
   * Waits (up to 3 s) until the server has finished every request for repository `name`: a
   * receive-pack whose client was cut off may still be updating the ref, and a rerun racing it
   * would be refused (as by any git server), which is not what these tests are about. (A
   * receive-pack cut off mid-pack waits for the rest forever — the test server has no timeout —
   * but it holds no lock.)
   */
  async function serverIdle(name: string) {
    const pending = () => server.requests.some((r) => r.status === 0 && r.url.startsWith(`/${name}.git/`));
    for (let i = 0; i < 30 && pending(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  /** The commit `ref` names in `gitDir`, or undefined. */
  function revParse(gitDir: string, ref: string): string | undefined {
    const r = spawnSync('git', ['rev-parse', '-q', '--verify', ref], { cwd: gitDir, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  }

  /** A commit with a 1 MiB incompressible file (the pack takes several round trips of data). */
  function commitSomething(dir: string, name: string) {
    fs.writeFileSync(path.join(dir, name), crypto.randomBytes(1024 * 1024));
    gitCli(dir, 'add', name);
    gitCli(dir, 'commit', '-qm', name);
  }

  /** Runs `op` with `faults`; returns the error (or undefined) and the time taken. */
  async function underFaults(kind: FaultKind, seed: number, op: () => Promise<unknown>) {
    const faultTotal = () => proxy.stats.resets + proxy.stats.stalls + proxy.stats.refusals;
    const before = faultTotal();
    proxy.setFaults(kind.faults, seed);
    if (kind.stopAfterBytes !== undefined) void proxy.refuseAfterBytes(kind.stopAfterBytes);
    const t0 = performance.now();
    const err = await op().then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - t0;
    proxy.setFaults({});
    proxy.unstall();
    await proxy.restore();
    const struck = faultTotal() - before;
    injected += struck;
    cases++;
    if (struck === 0) failures++;
    expect(struck, 'a fault struck').toBeGreaterThan(0);
    return { err, ms, struck };
  }

  /** A failure is one E_NETWORK line, within the timeout plus a margin (isomorphic-git does not retry). */
  function expectClearNetworkError(err: unknown, ms: number, what: string, bounded: boolean) {
    const ok =
      err instanceof CpvError &&
      err.code === 'E_NETWORK' &&
      !err.message.includes('\n') &&
      err.message.length < 400;
    if (!ok) failures++;
    expect(ok, `${what}: ${String(err)}`).toBe(true);
    if (bounded) {
      if (ms > TIMEOUT_MS + 5000) failures++;
      expect(ms, `${what}: time to the error`).toBeLessThan(TIMEOUT_MS + 5000);
    }
  }

  interface FaultKind {
    label: string;
    faults: Faults;
    /** The error must come within the timeout plus a margin. */
    bounded: boolean;
    /** Stop the server (refuse connections) after this many bytes, until the run ended. */
    stopAfterBytes?: number;
  }
  const FAULTS: FaultKind[] = [
    { label: 'a stall forever', faults: { stallRate: 1, stallAfterBytes: [100, 400_000] }, bounded: true },
    { label: 'a reset', faults: { resetRate: 1, resetAfterBytes: [100, 400_000] }, bounded: false },
    { label: 'the server stopped mid-transfer', faults: {}, bounded: false, stopAfterBytes: 300_000 },
  ];

  it('push: a stall, a reset or a stopped server ends in one clear error; refs stay valid; the rerun pushes', async () => {
    for (const kind of FAULTS) {
      const { label, bounded } = kind;
      const name = `push${++repoNo}`;
      const bare = bareRepo(root, name);
      const dir = gitRepo();
      commitSomething(dir, 'weights.bin');
      gitCli(dir, 'remote', 'add', 'origin', `${proxy.url}/${name}.git`);
      const head = revParse(dir, 'HEAD');
      const repo = GitRepo.open(dir);
      const push = () => repo.push({ remote: 'origin', branch: 'main', http: { timeoutMs: TIMEOUT_MS } });
      const { err, ms, struck } = await underFaults(kind, repoNo, push);
      outcomes.push(
        `push with ${label}: ${err ? String(err) : 'ok'} after ${(ms / 1000).toFixed(1)} s, ${struck} faults`,
      );
      const remoteMain = revParse(bare, 'refs/heads/main');
      if (err === undefined) expect(remoteMain).toBe(head);
      else {
        expectClearNetworkError(err, ms, `push with ${label}`, bounded);
        // The ref is either not there or the pushed commit, never anything else.
        expect([undefined, head]).toContain(remoteMain);
      }
      fsck(dir, `push with ${label}`);
      fsck(bare, `push with ${label}`);
      await serverIdle(name);
      await repo.push({ remote: 'origin', branch: 'main', http: { timeoutMs: TIMEOUT_MS } });
      expect(revParse(bare, 'refs/heads/main')).toBe(head);
      fsck(bare, `push with ${label}, rerun`);
    }
  }, 120_000);

  it('fetch: a stall, a reset or a stopped server ends in one clear error; refs stay valid; the rerun fetches', async () => {
    for (const kind of FAULTS) {
      const { label, bounded } = kind;
      const name = `fetch${++repoNo}`;
      const bare = bareRepo(root, name);
      const upstream = gitRepo();
      commitSomething(upstream, 'a.bin');
      gitCli(upstream, 'push', '-q', bare, 'main');
      const dir = path.join(tempDir(), 'clone');
      gitCli(root, 'clone', '-q', bare, dir);
      gitCli(dir, 'remote', 'set-url', 'origin', `${proxy.url}/${name}.git`);
      const old = revParse(dir, 'refs/remotes/origin/main');
      commitSomething(upstream, 'b.bin');
      gitCli(upstream, 'push', '-q', bare, 'main');
      const fresh = revParse(bare, 'refs/heads/main');
      const repo = GitRepo.open(dir);
      const fetch = () => repo.fetch({ remote: 'origin', http: { timeoutMs: TIMEOUT_MS } });
      const { err, ms, struck } = await underFaults(kind, repoNo, fetch);
      outcomes.push(
        `fetch with ${label}: ${err ? String(err) : 'ok'} after ${(ms / 1000).toFixed(1)} s, ${struck} faults`,
      );
      const tracking = revParse(dir, 'refs/remotes/origin/main');
      if (err === undefined) expect(tracking).toBe(fresh);
      else {
        expectClearNetworkError(err, ms, `fetch with ${label}`, bounded);
        expect([old, fresh]).toContain(tracking);
      }
      fsck(dir, `fetch with ${label}`);
      await serverIdle(name);
      await repo.fetch({ remote: 'origin', http: { timeoutMs: TIMEOUT_MS } });
      expect(revParse(dir, 'refs/remotes/origin/main')).toBe(fresh);
      fsck(dir, `fetch with ${label}, rerun`);
    }
  }, 120_000);
});
