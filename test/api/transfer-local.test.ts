/**
 * push / fetch / pull / status -c against local-directory remotes: round trips into a fresh clone,
 * DVC's remote layout (vectors and a DVC-written fixture), partial pulls, corrupted remote objects,
 * manifests only over complete contents, and resuming after an interruption.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { cloudStatus } from '../../src/api/cloud-status.js';
import { fetch } from '../../src/api/fetch.js';
import { initRepo } from '../../src/api/init.js';
import { pull } from '../../src/api/pull.js';
import { push } from '../../src/api/push.js';
import { repoStatus } from '../../src/api/status.js';
import { hashFile } from '../../src/cache/hash.js';
import { ObjectStore } from '../../src/cache/odb.js';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../../src/cli/output.js';
import { CpvError } from '../../src/errors.js';
import { gitCli, gitRepo, materialise, tempDir } from '../helpers/tmp.js';
import { FIXTURES, loadVectors } from '../helpers/vectors.js';

const TREE = {
  'model.bin': 'weights v1',
  'data/a.txt': 'alpha',
  'data/sub/b.txt': 'bravo',
  'data/empty.txt': '',
};

/** Repo A with TREE added and committed, its default remote a fresh directory. */
async function repoA(
  tree: Record<string, string> = TREE,
  url?: (remote: string) => string,
): Promise<{ a: string; remote: string }> {
  const a = gitRepo();
  const remote = path.join(tempDir('cpv-remote-'), 'store');
  materialise(a, tree);
  await initRepo(a);
  const targets = [...new Set(Object.keys(tree).map((k) => k.split('/')[0]!))];
  await addTargets(targets, { cwd: a });
  fs.writeFileSync(
    path.join(a, '.dvc', 'config'),
    `[core]\n    remote = origin\n['remote "origin"']\n    url = ${url ? url(remote) : remote}\n`,
  );
  gitCli(a, 'add', '-A');
  gitCli(a, 'commit', '-q', '-m', 'data');
  return { a, remote };
}

function cloneOf(a: string): string {
  const b = path.join(tempDir('cpv-clone-'), 'b');
  gitCli(path.dirname(b), 'clone', '-q', a, b);
  return b;
}

/** Every file under `dir` as key → { mode, bytes md5 }. */
function listing(dir: string): Map<string, { mode: string; size: number; md5: string }> {
  const out = new Map<string, { mode: string; size: number; md5: string }>();
  const visit = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const abs = path.join(d, e.name);
      if (e.isDirectory()) visit(abs);
      else if (e.name.startsWith('.tmp-') && !fs.existsSync(abs))
        continue; // renamed meanwhile
      else {
        const bytes = fs.readFileSync(abs);
        out.set(path.relative(dir, abs).split(path.sep).join('/'), {
          mode: (fs.statSync(abs).mode & 0o777).toString(8),
          size: bytes.length,
          md5: createMd5(bytes),
        });
      }
    }
  };
  if (fs.existsSync(dir)) visit(dir);
  return out;
}

function createMd5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

async function rejection(p: Promise<unknown>): Promise<CpvError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CpvError);
  return err as CpvError;
}

const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');

describe('local remote round trip', () => {
  it('pushes every object once and pulls files, directories and empty files into a fresh clone', async () => {
    const { a, remote } = await repoA();
    expect((await push([], { cwd: a })).pushed).toBe(5); // model, a, b, empty, .dir
    expect((await push([], { cwd: a })).pushed).toBe(0);
    // The remote holds exactly the cache's objects, byte for byte, read-only.
    const cache = listing(path.join(a, '.dvc', 'cache'));
    const stored = listing(remote);
    expect([...stored.keys()].sort()).toEqual([...cache.keys()].sort());
    for (const [key, obj] of stored) {
      expect(obj.md5, key).toBe(cache.get(key)?.md5);
      expect(obj.mode, key).toBe('444');
    }

    const b = cloneOf(a);
    const result = await pull([], { cwd: b });
    expect(result.fetched).toBe(5);
    for (const [rel, text] of Object.entries(TREE)) expect(read(b, rel), rel).toBe(text);
    expect((await repoStatus([], { cwd: b })).stages).toEqual({});
    expect((await pull([], { cwd: b })).fetched).toBe(0);
  });

  it('accepts a file:// url', async () => {
    const { a } = await repoA(TREE, (r) => pathToFileURL(r).href);
    expect((await push([], { cwd: a })).pushed).toBe(5);
    const b = cloneOf(a);
    await pull(['model.bin'], { cwd: b });
    expect(read(b, 'model.bin')).toBe('weights v1');
  });

  it('lays objects out as DVC does (vector dir-one-two-remote-layout)', async () => {
    const vector = loadVectors().find((v) => v.id === 'dir-one-two-remote-layout')!;
    const { a, remote } = await repoA(vector.tree as Record<string, string>);
    const out = captureOutput();
    expect(await main(['--cwd', a, 'push'], out)).toBe(0);
    expect(out.stdout).toBe(`${vector.expect.push_stdout}\n`);
    expect([...listing(remote).keys()].sort()).toEqual(vector.expect.remote_keys_dvc3);
    expect(read(remote, `files/md5/6b/18131dc289fd37006705affe961ef8.dir`)).toBe(vector.expect.dir_json);
  });

  it('a partial pull fetches just one file out of a tracked directory', async () => {
    const { a } = await repoA();
    await push([], { cwd: a });
    const b = cloneOf(a);
    const result = await pull(['data/sub/b.txt'], { cwd: b });
    expect(result.fetched).toBe(2); // the manifest and b.txt
    expect(read(b, 'data/sub/b.txt')).toBe('bravo');
    expect(fs.existsSync(path.join(b, 'data/a.txt'))).toBe(false);
    expect(fs.existsSync(path.join(b, 'model.bin'))).toBe(false);
    const odb = new ObjectStore(path.join(b, '.dvc', 'cache'));
    const { md5: a5 } = await hashFile(path.join(a, 'data/a.txt'), 'md5');
    expect(await odb.exists(a5)).toBe(false);
  });

  it('a partial push uploads just that file; its manifest follows with the whole directory', async () => {
    const { a, remote } = await repoA();
    expect((await push(['data/sub/b.txt'], { cwd: a })).pushed).toBe(1);
    const { md5: b5 } = await hashFile(path.join(a, 'data/sub/b.txt'), 'md5');
    expect([...listing(remote).keys()]).toEqual([`files/md5/${b5.slice(0, 2)}/${b5.slice(2)}`]);
    // The rest: model.bin, a.txt, empty.txt and the manifest, last.
    expect((await push([], { cwd: a })).pushed).toBe(4);
    expect((await cloudStatus([], { cwd: a })).status).toEqual({});
  });

  it('legacy (md5-dos2unix) outputs go to the root layout of the remote', async () => {
    const a = gitRepo();
    const remote = tempDir('cpv-remote-');
    await initRepo(a);
    fs.writeFileSync(path.join(a, 'notes.txt'), 'line one\r\nline two\r\n');
    const odb = new ObjectStore(path.join(a, '.dvc', 'cache'));
    const { oid } = await odb.addFile(path.join(a, 'notes.txt'), 'md5-dos2unix');
    fs.writeFileSync(path.join(a, 'notes.txt.dvc'), `outs:\n- md5: ${oid}\n  size: 20\n  path: notes.txt\n`);
    fs.writeFileSync(path.join(a, '.dvc', 'config'), `['remote "r"']\n    url = ${remote}\n`);
    expect((await push([], { cwd: a, remote: 'r' })).pushed).toBe(1);
    expect([...listing(remote).keys()]).toEqual([`${oid.slice(0, 2)}/${oid.slice(2)}`]);
    fs.rmSync(path.join(a, '.dvc', 'cache'), { recursive: true, force: true });
    fs.rmSync(path.join(a, 'notes.txt'));
    await pull([], { cwd: a, remote: 'r' });
    expect(read(a, 'notes.txt')).toBe('line one\r\nline two\r\n');
  });
});

describe('integrity', () => {
  it('an altered remote object is detected on pull and never enters the cache', async () => {
    const { a, remote } = await repoA();
    await push([], { cwd: a });
    const { md5 } = await hashFile(path.join(a, 'data/a.txt'), 'md5');
    const key = path.join(remote, 'files', 'md5', md5.slice(0, 2), md5.slice(2));
    fs.chmodSync(key, 0o644);
    fs.writeFileSync(key, 'alpha, tampered');
    const b = cloneOf(a);
    const err = await rejection(pull([], { cwd: b }));
    expect(err.code).toBe('E_TRANSFER_INCOMPLETE');
    expect(err.message).toContain('data/a.txt');
    expect(err.message).toContain('corrupt');
    const cacheDir = path.join(b, '.dvc', 'cache');
    expect(await new ObjectStore(cacheDir).exists(md5)).toBe(false);
    expect([...listing(cacheDir).keys()].filter((k) => k.includes('.tmp-'))).toEqual([]);
    // The intact objects did arrive; nothing was checked out from a failed fetch.
    expect(fs.existsSync(path.join(b, 'data'))).toBe(false);
  });

  it('objects over 1 MiB stream into the cache; an altered one is caught there too', async () => {
    // Objects up to 1 MiB are checked in memory, bigger ones while they stream to a temp file:
    // both paths must verify, and neither may leave a temp behind.
    const big = (seed: number) =>
      Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * seed) & 0xff));
    const { a, remote } = await repoA(TREE);
    fs.writeFileSync(path.join(a, 'big1.bin'), big(7));
    fs.writeFileSync(path.join(a, 'big2.bin'), big(11));
    await addTargets(['big1.bin', 'big2.bin'], { cwd: a });
    gitCli(a, 'add', '-A');
    gitCli(a, 'commit', '-q', '-m', 'big files');
    await push([], { cwd: a });
    const { md5 } = await hashFile(path.join(a, 'big2.bin'), 'md5');
    const key = path.join(remote, 'files', 'md5', md5.slice(0, 2), md5.slice(2));
    fs.chmodSync(key, 0o644);
    const altered = big(11);
    altered.writeUInt8(altered.readUInt8(2 * 1024 * 1024) ^ 1, 2 * 1024 * 1024); // one bit, past the first MiB
    fs.writeFileSync(key, altered);
    const b = cloneOf(a);
    const err = await rejection(pull([], { cwd: b }));
    expect(err.message).toContain('big2.bin');
    expect(err.message).toContain('corrupt');
    const cacheDir = path.join(b, '.dvc', 'cache');
    expect(await new ObjectStore(cacheDir).exists(md5)).toBe(false);
    expect([...listing(cacheDir).keys()].filter((k) => k.includes('.tmp-'))).toEqual([]);
    expect(fs.existsSync(path.join(b, 'big1.bin'))).toBe(false); // a failed fetch checks nothing out
    await fetch(['big1.bin'], { cwd: b });
    const got = new ObjectStore(cacheDir).pathFor((await hashFile(path.join(a, 'big1.bin'), 'md5')).md5);
    expect(fs.readFileSync(got).equals(big(7))).toBe(true);
    expect(fs.statSync(got).mode & 0o777).toBe(0o444);
  });

  it('push names objects missing from the cache and does not upload their manifest', async () => {
    const { a, remote } = await repoA();
    const { md5 } = await hashFile(path.join(a, 'data/sub/b.txt'), 'md5');
    fs.rmSync(new ObjectStore(path.join(a, '.dvc', 'cache')).pathFor(md5));
    const out = captureOutput();
    expect(await main(['--cwd', a, 'push'], out)).toBe(1);
    expect(out.stderr).toContain('data/sub/b.txt');
    expect(out.stderr).toContain('not in the local cache');
    expect(out.stderr).toContain('data (');
    const keys = [...listing(remote).keys()];
    expect(keys.some((k) => k.endsWith('.dir'))).toBe(false);
    expect(keys).toHaveLength(3); // model, a, empty
  });

  it('an interrupted push leaves no partial object, no manifest, and resumes', async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 40; i++)
      tree[`data/f${String(i).padStart(2, '0')}.txt`] = `file ${i}\n`.repeat(i + 1);
    const { a, remote } = await repoA(tree);
    const controller = new AbortController();
    const err = await rejection(
      push([], {
        cwd: a,
        jobs: 2,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.objectsDone === 10) controller.abort();
        },
      }),
    );
    expect(err.code).toBe('E_ABORTED');
    const keys = [...listing(remote).keys()];
    expect(keys.length).toBeGreaterThanOrEqual(10);
    expect(keys.length).toBeLessThan(40);
    expect(keys.filter((k) => k.endsWith('.dir') || k.includes('.tmp-'))).toEqual([]);
    const again = await push([], { cwd: a });
    expect(again.pushed).toBe(41 - keys.length);
    expect(listing(remote).size).toBe(41);
  });
});

describe('Ctrl-C', () => {
  it('cpv push cancels cleanly on SIGINT (exit 130, no temp files) and the rerun finishes', async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 1500; i++) tree[`data/f${i}.txt`] = `file ${i}\n`;
    const { a, remote } = await repoA(tree);
    const cli = path.resolve(import.meta.dirname, '..', '..', 'dist', 'cli.js');
    const child = spawn(process.execPath, [cli, 'push', '-j', '1'], {
      cwd: a,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Interrupt once objects are arriving on the remote.
    const objects = path.join(remote, 'files', 'md5');
    while (!fs.existsSync(objects) || fs.readdirSync(objects).length < 10) {
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('cpv: interrupted');
    const keys = [...listing(remote).keys()];
    expect(keys.filter((k) => k.includes('.tmp-') || k.endsWith('.dir'))).toEqual([]);
    expect(keys.length).toBeLessThan(1501);
    expect((await push([], { cwd: a })).pushed).toBe(1501 - keys.length);
  }, 120_000);
});

describe('status -c', () => {
  it('reports new, in sync, deleted and missing like DVC (vector behaviour-status-push-pull-output)', async () => {
    const vector = loadVectors().find((v) => v.id === 'behaviour-status-push-pull-output')!;
    const { a } = await repoA(vector.tree as Record<string, string>);
    expect((await cloudStatus([], { cwd: a })).status).toEqual(vector.expect.cloud_before_push_json);
    const text = captureOutput();
    await main(['--cwd', a, 'status', '-c'], text);
    expect(text.stdout.trimEnd().split('\n').sort()).toEqual(
      vector.expect.cloud_before_push_text_lines_sorted,
    );

    const pushed = captureOutput();
    await main(['--cwd', a, 'push'], pushed);
    expect(pushed.stdout).toBe(`${vector.expect.push_stdout}\n`);
    const synced = captureOutput();
    await main(['--cwd', a, 'status', '--cloud'], synced);
    expect(synced.stdout).toBe(`Cache and remote 'origin' are in sync.\n`);

    const odb = new ObjectStore(path.join(a, '.dvc', 'cache'));
    const { md5 } = await hashFile(path.join(a, 'foo'), 'md5');
    fs.rmSync(odb.pathFor(md5));
    expect((await cloudStatus([], { cwd: a })).status).toEqual(
      vector.expect.cloud_after_local_cache_delete_json,
    );
    const json = captureOutput();
    await main(['--cwd', a, 'status', '-r', 'origin', '--json'], json);
    expect(JSON.parse(json.stdout)).toEqual({ foo: 'deleted' });
  });

  it('a clone without a cache sees every object as deleted, directory files read from the remote manifest', async () => {
    const { a } = await repoA();
    await push([], { cwd: a });
    const b = cloneOf(a);
    expect((await cloudStatus([], { cwd: b })).status).toEqual({
      'model.bin': 'deleted',
      data: 'deleted',
      'data/a.txt': 'deleted',
      'data/sub/b.txt': 'deleted',
      'data/empty.txt': 'deleted',
    });
    const quiet = captureOutput();
    expect(await main(['--cwd', b, 'status', '-c', '-q'], quiet)).toBe(1);
    expect(quiet.stdout).toBe('');
  });

  it('fetch with nothing to do and pull of deleted data print what DVC prints', async () => {
    const vector = loadVectors().find((v) => v.id === 'behaviour-status-push-pull-output')!;
    const { a } = await repoA(vector.tree as Record<string, string>);
    await push([], { cwd: a });
    const fetched = captureOutput();
    await main(['--cwd', a, 'fetch'], fetched);
    expect(fetched.stdout).toBe(`${vector.expect.fetch_stdout_nothing}\n`);
    fs.rmSync(path.join(a, 'data'), { recursive: true });
    const pulled = captureOutput();
    await main(['--cwd', a, 'pull'], pulled);
    expect(pulled.stdout).toBe(vector.expect.pull_stdout_data);
  });
});

describe('DVC-written remote (fixture basic)', () => {
  function unpack(): {
    top: string;
    repo: string;
    json: { remote_objects: Array<Record<string, unknown>>; remote_dirs: unknown[] };
  } {
    const top = tempDir('cpv-fixture-basic-');
    const r = spawnSync('tar', ['-xzpf', path.join(FIXTURES, 'repos', 'basic.tar.gz'), '-C', top]);
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
    const json = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'repos', 'basic.json'), 'utf8'));
    return { top: path.join(top, 'basic'), repo: path.join(top, 'basic', 'repo'), json };
  }

  it('cpv pushes the same keys, bytes and modes DVC pushed', async () => {
    const { top, repo, json } = unpack();
    const ours = path.join(top, 'ours');
    fs.appendFileSync(path.join(repo, '.dvc', 'config'), `['remote "ours"']\n    url = ../../ours\n`);
    const out = captureOutput();
    const code = await main(['--cwd', repo, 'push', '-r', 'ours'], out);
    expect(out.stderr).toBe('');
    expect(code).toBe(0);
    expect(out.stdout).toBe('14 files pushed\n');
    const got = [...listing(ours)].map(([key, o]) => ({ key, ...o }));
    expect(got.sort((x, y) => (x.key < y.key ? -1 : 1))).toEqual(json.remote_objects);
    const dirs: Array<{ key: string; mode: string }> = [];
    const visit = (rel: string): void => {
      for (const e of fs.readdirSync(path.join(ours, rel), { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        const key = rel === '' ? e.name : `${rel}/${e.name}`;
        dirs.push({ key, mode: (fs.statSync(path.join(ours, key)).mode & 0o777).toString(8) });
        visit(key);
      }
    };
    visit('');
    expect(dirs.sort((x, y) => (x.key < y.key ? -1 : 1))).toEqual(json.remote_dirs);
  });

  it('cpv pulls what DVC pushed into a clone without a cache', async () => {
    const { repo } = unpack();
    const before = listing(path.join(repo, 'data'));
    for (const ignored of ['scratch.tmp', 'raw/cache.tmp']) before.delete(ignored); // .dvcignore'd
    fs.rmSync(path.join(repo, '.dvc', 'cache'), { recursive: true, force: true });
    fs.rmSync(path.join(repo, 'data'), { recursive: true, force: true });
    fs.rmSync(path.join(repo, 'model.bin'));
    const result = await pull([], { cwd: repo });
    expect(result.fetched).toBe(14);
    const after = listing(path.join(repo, 'data'));
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [k, v] of after) expect(v.md5, k).toBe(before.get(k)?.md5);
    expect((await repoStatus([], { cwd: repo })).stages).toEqual({});
    expect((await cloudStatus([], { cwd: repo })).status).toEqual({});
  });
});

describe('remote selection errors', () => {
  it('no default remote, unknown remote, unsupported url', async () => {
    const a = gitRepo();
    await initRepo(a);
    fs.writeFileSync(path.join(a, 'f.txt'), 'x');
    await addTargets(['f.txt'], { cwd: a });
    expect((await rejection(push([], { cwd: a }))).code).toBe('E_NO_REMOTE');
    expect((await rejection(fetch([], { cwd: a, remote: 'nope' }))).code).toBe('E_NO_REMOTE');
    fs.writeFileSync(path.join(a, '.dvc', 'config'), `['remote "x"']\n    url = gdrive://abc\n`);
    expect((await rejection(push([], { cwd: a, remote: 'x' }))).code).toBe('E_REMOTE_CONFIG');
    const out = captureOutput();
    expect(await main(['--cwd', a, 'push', '-j', '0'], out)).toBe(2);
    fs.writeFileSync(path.join(a, '.dvc', 'config'), `['remote "x"']\n    url = /tmp/x\n    jobs = many\n`);
    expect((await rejection(push([], { cwd: a, remote: 'x' }))).code).toBe('E_REMOTE_CONFIG');
    fs.writeFileSync(path.join(a, '.dvc', 'config'), `['remote "x"']\n    jobs = 4\n`);
    expect((await rejection(push([], { cwd: a, remote: 'x' }))).code).toBe('E_REMOTE_CONFIG');
  });
});
