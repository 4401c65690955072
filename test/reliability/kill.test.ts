/**
 * SIGKILL at seeded random moments during every writing command, then a rerun. After each kill
 * and after each rerun the promises must hold:
 * - every cache object (and remote object) holds the bytes its name says — a kill may leave a
 *   temp file, never a wrong or partial object;
 * - the rerun succeeds and leaves the workspace equal to the tracked version (`status` clean);
 * - git's object store and refs stay valid (`git fsck`).
 * Kill points are spread over the calibrated duration of an uninterrupted run, so early (lock,
 * plan), middle (hashing, copying) and late (writing .dvc, commit) moments are all hit.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seeded } from '../helpers/seeded.js';
import { gitCli, gitRepo, tempDir } from '../helpers/tmp.js';
import { record } from './tally.js';

const KILLS = Number(process.env.CPV_KILLS ?? (process.env.CI ? 50 : 12));
const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');
const env = {
  ...process.env,
  CI: 'true',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

let cases = 0;
let faults = 0;
let failures = 0;
afterAll(() => record('kill -9', { cases, faults, failures }));

function cpvSync(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`cpv ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Starts `cpv args` and SIGKILLs it after `ms`; resolves when it is gone. */
function runAndKill(cwd: string, args: string[], ms: number): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...env, ...homeOf(cwd) },
    stdio: 'ignore',
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) => {
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function md5(file: string): string {
  return crypto.createHash('md5').update(fs.readFileSync(file)).digest('hex');
}

/** Every object under an object store root (`…/files/md5`) holds the bytes its name says. */
function badObjects(filesMd5: string): string[] {
  if (!fs.existsSync(filesMd5)) return [];
  const bad: string[] = [];
  for (const prefix of fs.readdirSync(filesMd5)) {
    const sub = path.join(filesMd5, prefix);
    if (!fs.statSync(sub).isDirectory()) continue; // a temp file at the root
    for (const name of fs.readdirSync(sub)) {
      if (name.startsWith('.')) continue; // temp files are not objects
      const oid = prefix + name.replace(/\.dir$/, '');
      if (md5(path.join(sub, name)) !== oid) bad.push(`${prefix}/${name}`);
    }
  }
  return bad;
}

/** Path → md5 of every file under `dir`, skipping the given top-level names. */
function treeDigest(dir: string, skip = new Set(['.git', '.dvc'])): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (rel === '' && skip.has(e.name)) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(path.join(d, e.name), r);
      else out[r] = md5(path.join(d, e.name));
    }
  };
  visit(dir, '');
  return out;
}

function makeData(dir: string, variant: number): void {
  fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'data', 'shards'), { recursive: true });
  // Over 256 files, so checkout's parallel copy-out (the worker pool) is what gets killed.
  for (let i = 0; i < 300; i++) {
    fs.writeFileSync(path.join(dir, 'data', 'shards', `s${i}.txt`), `shard ${i} v${variant}\n`.repeat(20));
  }
  const big = Buffer.alloc(8 << 20, variant + 1);
  big.writeUInt32LE(variant, 0);
  fs.writeFileSync(path.join(dir, 'data', 'big.bin'), big);
}

interface Scenario {
  name: string;
  /** Makes the starting state; returns the repo and the command to kill. */
  setup(): { cwd: string; args: string[] };
  /** Checks after the rerun finished. */
  verify(cwd: string): void;
  /** Object stores to check after every kill. */
  stores(cwd: string): string[];
  /** Finishes the work after a kill (default: the same command again). */
  rerun?(cwd: string, args: string[]): void;
  /** The state holds absolute paths of itself (settings, storage): build it anew for each kill. */
  buildEachTime?: boolean;
}

function baseRepo(): string {
  const dir = gitRepo();
  cpvSync(dir, 'init');
  return dir;
}

function expectClean(cwd: string): void {
  expect(JSON.parse(cpvSync(cwd, 'status', '--json'))).toEqual({});
}

const cacheOf = (cwd: string) => path.join(cwd, '.dvc', 'cache', 'files', 'md5');

const SCENARIOS: Scenario[] = [
  {
    name: 'add',
    setup() {
      const cwd = baseRepo();
      makeData(cwd, 1);
      return { cwd, args: ['add', 'data'] };
    },
    verify: expectClean,
    stores: (cwd) => [cacheOf(cwd)],
  },
  {
    name: 'commit',
    setup() {
      const cwd = baseRepo();
      makeData(cwd, 1);
      cpvSync(cwd, 'add', 'data');
      fs.chmodSync(path.join(cwd, 'data', 'big.bin'), 0o644);
      makeData(cwd, 2);
      return { cwd, args: ['commit', '-f', 'data.dvc'] };
    },
    verify: expectClean,
    stores: (cwd) => [cacheOf(cwd)],
  },
  {
    name: 'checkout',
    setup() {
      const cwd = baseRepo();
      makeData(cwd, 1);
      cpvSync(cwd, 'add', 'data');
      fs.writeFileSync(path.join(cwd, '.expected.json'), JSON.stringify(treeDigest(path.join(cwd, 'data'))));
      fs.rmSync(path.join(cwd, 'data'), { recursive: true, force: true });
      return { cwd, args: ['checkout'] };
    },
    verify(cwd) {
      expectClean(cwd);
      const expected = JSON.parse(fs.readFileSync(path.join(cwd, '.expected.json'), 'utf8'));
      expect(treeDigest(path.join(cwd, 'data'))).toEqual(expected);
    },
    stores: (cwd) => [cacheOf(cwd)],
  },
  {
    name: 'push',
    setup() {
      const cwd = baseRepo();
      const remote = path.join(tempDir(), 'remote');
      cpvSync(cwd, 'remote', 'add', '-d', 'store', remote);
      makeData(cwd, 1);
      cpvSync(cwd, 'add', 'data');
      return { cwd, args: ['push'] };
    },
    verify(cwd) {
      expect(cpvSync(cwd, 'status', '-c')).toMatch(/in sync/);
    },
    stores: (cwd) => [cacheOf(cwd), path.join(remoteOf(cwd), 'files', 'md5')],
  },
  {
    name: 'pull',
    setup() {
      const src = baseRepo();
      const remote = path.join(tempDir(), 'remote');
      cpvSync(src, 'remote', 'add', '-d', 'store', remote);
      makeData(src, 1);
      cpvSync(src, 'add', 'data');
      cpvSync(src, 'push');
      gitCli(src, 'add', '-A');
      gitCli(src, 'commit', '-qm', 'data');
      const cwd = path.join(tempDir(), 'clone');
      gitCli(path.dirname(cwd), 'clone', '-q', src, cwd);
      return { cwd, args: ['pull'] };
    },
    verify: expectClean,
    stores: (cwd) => [cacheOf(cwd)],
  },
  {
    name: 'gc',
    setup() {
      const cwd = baseRepo();
      makeData(cwd, 1);
      cpvSync(cwd, 'add', 'data');
      fs.chmodSync(path.join(cwd, 'data', 'big.bin'), 0o644);
      makeData(cwd, 2);
      cpvSync(cwd, 'add', 'data');
      return { cwd, args: ['gc', '-w', '-f'] };
    },
    verify(cwd) {
      expectClean(cwd);
      // Only the workspace version is left, and all of it.
      expect(cpvSync(cwd, 'gc', '-w', '--dry')).toMatch(/^No unused 'repo' cache to remove\./);
    },
    stores: (cwd) => [cacheOf(cwd)],
  },
];

/** A model repo made by `cpv model init`, its settings (CPV_HOME) and storage inside `root`. */
function modelScenario(name: string, prepare: (root: string, repo: string) => string[]): Scenario {
  return {
    name,
    buildEachTime: true,
    setup() {
      const root = tempDir();
      const home = { CPV_HOME: path.join(root, 'home') };
      cpvIn(root, home, 'setup', '--storage-dir', path.join(root, 'storage'));
      fs.mkdirSync(path.join(root, 'src', 'train'), { recursive: true });
      fs.writeFileSync(path.join(root, 'src', 'train', 'a.csv'), 'x,y\n');
      cpvIn(root, home, 'model', 'init', 'vision/resnet', '--data', path.join(root, 'src'));
      const args = prepare(root, path.join(root, 'resnet'));
      return { cwd: root, args };
    },
    verify(root) {
      const versions = cpvIn(root, homeOf(root), 'model', 'versions', 'vision/resnet', '--json');
      expect(Array.isArray(JSON.parse(versions))).toBe(true);
      expect(JSON.parse(cpvSync(path.join(root, 'resnet'), 'status', '--json'))).toEqual({});
    },
    stores: (root) => [
      cacheOf(path.join(root, 'resnet')),
      path.join(root, 'storage', 'vision', 'resnet', 'files', 'md5'),
    ],
  };
}

const homeOf = (root: string) => ({ CPV_HOME: path.join(root, 'home') });

function cpvIn(cwd: string, extra: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...env, ...extra } });
  if (r.status !== 0) throw new Error(`cpv ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

SCENARIOS.push(
  modelScenario('model upload', (_root, repo) => {
    fs.writeFileSync(path.join(repo, 'model.bin'), Buffer.alloc(6 << 20, 7));
    return ['model', 'upload', 'vision/resnet', '--metrics', '{"loss":0.1}'];
  }),
  {
    ...modelScenario('model tag', (root, repo) => {
      fs.writeFileSync(path.join(repo, 'model.bin'), Buffer.alloc(1 << 20, 9));
      cpvIn(root, homeOf(root), 'model', 'upload', 'vision/resnet', '--metrics', '{"loss":0.2}');
      return ['model', 'tag', 'vision/resnet', 'v1.0', '-m', 'first'];
    }),
    // A kill after the tag was written leaves it whole; tagging again is then refused.
    rerun(root, args) {
      const tags = JSON.parse(cpvIn(root, homeOf(root), 'model', 'versions', 'vision/resnet', '--json'));
      if (tags.length === 0) cpvIn(root, homeOf(root), ...args);
      const again = JSON.parse(cpvIn(root, homeOf(root), 'model', 'versions', 'vision/resnet', '--json'));
      expect(again.map((v: { tag: string }) => v.tag)).toEqual(['v1.0']);
    },
  },
);

function remoteOf(cwd: string): string {
  const config = fs.readFileSync(path.join(cwd, '.dvc', 'config'), 'utf8');
  const url = /url = (.+)/.exec(config)?.[1]?.trim() ?? '';
  return path.resolve(path.join(cwd, '.dvc'), url);
}

/**
 * The scenario's starting state, built once and copied for each kill (building it runs cpv and
 * git several times; a copy takes milliseconds). A push starts from an empty remote each time.
 */
function starter(s: Scenario): () => { cwd: string; args: string[] } {
  if (s.buildEachTime) return () => s.setup();
  const template = s.setup();
  return () => {
    const cwd = path.join(tempDir(), 'repo');
    fs.cpSync(template.cwd, cwd, { recursive: true, verbatimSymlinks: true });
    if (s.name === 'push') fs.rmSync(remoteOf(cwd), { recursive: true, force: true });
    return { cwd, args: template.args };
  };
}

/** How long an uninterrupted run takes, to spread the kill points over it. */
function calibrate(s: Scenario, fresh: () => { cwd: string; args: string[] }): number {
  const { cwd, args } = fresh();
  const t0 = performance.now();
  cpvIn(cwd, homeOf(cwd), ...args);
  const ms = performance.now() - t0;
  s.verify(cwd);
  return ms;
}

describe(`kill -9 at ${KILLS} seeded points per command, then rerun`, () => {
  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      const fresh = starter(scenario);
      const duration = calibrate(scenario, fresh);
      const random = seeded(0xc0ffee ^ scenario.name.length);
      for (let k = 0; k < KILLS; k++) {
        const { cwd, args } = fresh();
        const at = Math.floor(random() * duration);
        await runAndKill(cwd, args, at);
        faults++;
        cases++;
        for (const store of scenario.stores(cwd)) {
          const bad = badObjects(store);
          if (bad.length > 0) failures++;
          expect(bad, `${scenario.name} killed at ${at} ms: corrupt objects in ${store}`).toEqual([]);
        }
        if (scenario.rerun) scenario.rerun(cwd, args);
        else cpvIn(cwd, homeOf(cwd), ...args);
        scenario.verify(cwd);
        for (const store of scenario.stores(cwd)) expect(badObjects(store)).toEqual([]);
        for (const gitDir of [cwd, path.join(cwd, 'resnet')]) {
          if (!fs.existsSync(path.join(gitDir, '.git'))) continue;
          const fsck = spawnSync('git', ['fsck', '--full'], { cwd: gitDir, encoding: 'utf8' });
          expect(fsck.status, fsck.stderr).toBe(0);
        }
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    }, 900_000);
  }
});
