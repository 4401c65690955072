/**
 * walkTree + dirSummary against what DVC recorded: every `kind: "dir"` vector, the basic fixture
 * repo's data/ (after and before `dvc add`), and the §3.2 rules one by one.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { DvcIgnore } from '../../src/cache/dvcignore.js';
import { dirSummary, type WalkEntry, walkTree } from '../../src/cache/walk.js';
import { isCpvError } from '../../src/errors.js';
import { materialise, type TreeContent, tempDir } from '../helpers/tmp.js';
import { FIXTURES, loadVectors } from '../helpers/vectors.js';

/**
 * Paths whose `readdirSync`/`statSync`/`lstatSync` fail with an injected errno. Tests often run as root, where
 * `chmod 000` blocks nothing, so permission errors are simulated at the `node:fs` boundary.
 */
const failures = vi.hoisted(() => new Map<string, string>());
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const failing = <F extends (...args: never[]) => unknown>(fn: F): F =>
    ((p: unknown, ...rest: unknown[]) => {
      const code = failures.get(String(p));
      if (code !== undefined) throw Object.assign(new Error(`${code}: simulated, '${String(p)}'`), { code });
      return (fn as unknown as (...a: unknown[]) => unknown)(p, ...rest);
    }) as unknown as F;
  const readdirSync = failing(real.readdirSync);
  const statSync = failing(real.statSync);
  const lstatSync = failing(real.lstatSync);
  return {
    ...real,
    readdirSync,
    statSync,
    lstatSync,
    default: { ...real, readdirSync, statSync, lstatSync },
  };
});
// The walk lists directories and stats files through raw-fs.ts (Node's fs binding, which the
// mock above cannot reach): the same simulated failures apply there.
vi.mock('../../src/cache/raw-fs.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/cache/raw-fs.js')>();
  const failIf = (p: string) => {
    const code = failures.get(p);
    if (code !== undefined) throw Object.assign(new Error(`${code}: simulated, '${p}'`), { code });
  };
  return {
    ...real,
    listDir: (p: string) => {
      failIf(p);
      return real.listDir(p);
    },
    lstatFields: (p: string) => {
      failIf(p);
      return real.lstatFields(p);
    },
  };
});

const md5File = (p: string) => createHash('md5').update(fs.readFileSync(p)).digest('hex');
const md5Text = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

/** A repo root (with `.dvc/`) holding `tree`. */
function repoWith(tree: Record<string, TreeContent>): string {
  const root = tempDir();
  materialise(root, { '.dvc/': null, ...tree });
  return root;
}

/** Walk `target` inside the repo at `root` the way `cpv add` does, and summarise it. */
async function summarise(root: string, target: string) {
  const ignore = await DvcIgnore.load(root);
  const entries = walkTree(path.join(root, target), { ignore, repoRoot: root });
  return {
    entries,
    summary: dirSummary(
      entries,
      entries.map((e) => md5File(e.path)),
    ),
  };
}

const relpaths = (entries: WalkEntry[]) => entries.map((e) => e.relpath).sort();

/** The CpvError thrown by `fn` (fails the test when nothing is thrown). */
function caught(fn: () => unknown): { code: string; message: string; hint?: string } {
  try {
    fn();
  } catch (err) {
    if (isCpvError(err)) return err;
    throw err;
  }
  throw new Error('expected a CpvError');
}

const dirVectors = loadVectors().filter((v) => v.kind === 'dir');

describe('DVC dir vectors', () => {
  it('covers every dir vector', () => {
    expect(dirVectors.length).toBeGreaterThanOrEqual(11);
  });

  it.each(dirVectors.map((v) => [v.id, v] as const))('%s', async (_id, v) => {
    const root = repoWith(v.tree);
    const { summary } = await summarise(root, v.target!);
    const e = v.expect;
    expect(summary.oid).toBe(e.dir_hash);
    if (e.dir_json !== undefined) expect(summary.manifest).toBe(e.dir_json);
    if (e.size !== undefined) expect(summary.size).toBe(e.size);
    if (e.nfiles !== undefined) expect(summary.nfiles).toBe(e.nfiles);
    if (e.file_hashes !== undefined) {
      expect(Object.fromEntries(summary.entries.map((x) => [x.relpath, x.md5]))).toEqual(e.file_hashes);
    }
  });
});

describe('basic fixture repo (written by DVC 3.51.2)', () => {
  interface ListingEntry {
    path: string;
    type: 'file' | 'dir' | 'symlink';
    mode?: string;
    md5?: string;
    target?: string;
  }
  const json = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'repos', 'basic.json'), 'utf8')) as {
    files: Record<string, string>;
    dir_manifests: Record<string, string>;
    listings: { workspace_before_add: ListingEntry[] };
  };
  const [manifestPath, manifestText] = Object.entries(json.dir_manifests)[0]!;
  const oid = manifestPath.split('/').slice(-2).join('');
  const dataDvc = json.files['data.dvc']!;
  const dvcNumber = (key: string) => Number(new RegExp(`${key}: (\\d+)`).exec(dataDvc)![1]);

  function unpack(): string {
    const top = tempDir('cpv-walk-basic-');
    const r = spawnSync('tar', ['-xzpf', path.join(FIXTURES, 'repos', 'basic.tar.gz'), '-C', top]);
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
    return path.join(top, 'basic', 'repo');
  }

  it('data/ as unpacked (after add) gives the manifest, size and nfiles DVC wrote', async () => {
    const repo = unpack();
    const { summary } = await summarise(repo, 'data');
    expect(summary.manifest).toBe(manifestText);
    expect(summary.oid).toBe(oid);
    expect(summary.size).toBe(dvcNumber('size'));
    expect(summary.nfiles).toBe(dvcNumber('nfiles'));
  });

  it('data/ rebuilt as it was before add (symlink, empty dir, .tmp files) gives the same manifest', async () => {
    const unpacked = unpack();
    const root = tempDir();
    fs.mkdirSync(path.join(root, '.dvc'));
    fs.writeFileSync(path.join(root, '.dvcignore'), json.files['.dvcignore']!);
    const listing = json.listings.workspace_before_add;
    expect(listing.some((e) => e.type === 'symlink')).toBe(true);
    for (const entry of listing) {
      const dest = path.join(root, 'data', entry.path);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      if (entry.type === 'dir') fs.mkdirSync(dest, { recursive: true });
      else if (entry.type === 'symlink') fs.symlinkSync(entry.target!, dest);
      else {
        fs.copyFileSync(path.join(unpacked, 'data', entry.path), dest);
        fs.chmodSync(dest, Number.parseInt(entry.mode!, 8));
        expect(md5File(dest)).toBe(entry.md5);
      }
    }
    const { summary, entries } = await summarise(root, 'data');
    expect(summary.manifest).toBe(manifestText);
    expect(summary.size).toBe(dvcNumber('size'));
    const link = entries.find((e) => e.relpath === 'link-to-train.csv')!;
    expect(fs.lstatSync(link.path).isSymbolicLink()).toBe(true);
    expect(link.size).toBe(256);
  });
});

describe('walk entries', () => {
  it('records posix relpath, absolute path and bigint stat fields', () => {
    const root = repoWith({ 'd/sub/f.bin': 'hello', 'd/.hidden': 'h' });
    const entries = walkTree(path.join(root, 'd'), { repoRoot: root });
    expect(relpaths(entries)).toEqual(['.hidden', 'sub/f.bin']);
    const f = entries.find((e) => e.relpath === 'sub/f.bin')!;
    const st = fs.statSync(path.join(root, 'd', 'sub', 'f.bin'), { bigint: true });
    expect(f).toEqual({
      relpath: 'sub/f.bin',
      path: path.join(root, 'd', 'sub', 'f.bin'),
      size: 5,
      mtimeNs: st.mtimeNs,
      ino: st.ino,
      mode: Number(st.mode),
      isLink: false,
    });
  });

  it("marks a symlinked file as a link, with its target's size and mode", () => {
    const root = repoWith({ 'd/target': 'twelve bytes' });
    fs.chmodSync(path.join(root, 'd/target'), 0o600);
    fs.symlinkSync('target', path.join(root, 'd/link'));
    const byName = new Map(walkTree(path.join(root, 'd'), { repoRoot: root }).map((e) => [e.relpath, e]));
    expect(byName.get('link')).toMatchObject({ isLink: true, size: 12 });
    expect(byName.get('link')!.mode & 0o777).toBe(0o600);
    expect(byName.get('target')!.isLink).toBe(false);
  });

  it('orders the manifest by code point: a-b < a.txt < a/b < a/c/d < a0', async () => {
    const root = repoWith({ 'd/a0': '1', 'd/a/c/d': '2', 'd/a/b': '3', 'd/a.txt': '4', 'd/a-b': '5' });
    const { summary } = await summarise(root, 'd');
    expect(summary.entries.map((e) => e.relpath)).toEqual(['a-b', 'a.txt', 'a/b', 'a/c/d', 'a0']);
  });

  it('keeps names exactly as the filesystem returns them: NFC and NFD are two entries', async () => {
    const root = repoWith({ 'd/caf\u00e9.txt': 'nfc', 'd/cafe\u0301.txt': 'nfd' });
    const { summary } = await summarise(root, 'd');
    expect(summary.manifest).toBe(
      `[{"md5": "${md5Text('nfd')}", "relpath": "cafe\\u0301.txt"}, ` +
        `{"md5": "${md5Text('nfc')}", "relpath": "caf\\u00e9.txt"}]`,
    );
  });

  it('escapes names like Python: backslash, quote, tab, DEL, emoji, U+FF01 before U+1F600', async () => {
    // Each file holds its own name, so the md5s are those of the names (as in manifest.test.ts).
    const names = [
      'back\\slash.txt',
      'quote"s.txt',
      'tab\tname.txt',
      'del\x7fname.txt',
      '\uff01.txt',
      '\u{1f600}.txt',
    ];
    const root = repoWith(Object.fromEntries(names.map((n) => [`d/${n}`, n])));
    const { summary } = await summarise(root, 'd');
    expect(summary.manifest).toBe(
      '[{"md5": "556384e060b87d26b0a778287ebea915", "relpath": "back\\\\slash.txt"}, ' +
        '{"md5": "d6a45febe81506474fd4b10bb7a2cedd", "relpath": "del\\u007fname.txt"}, ' +
        '{"md5": "ebbc7bde324a13330d3c25aff7e3f391", "relpath": "quote\\"s.txt"}, ' +
        '{"md5": "7c262ef3f753a5132fbddbba70f1ac80", "relpath": "tab\\tname.txt"}, ' +
        '{"md5": "2c4d383ef62037b1e1ecb8e95f92f86f", "relpath": "\\uff01.txt"}, ' +
        '{"md5": "dd397e3295dec429798105985b90d317", "relpath": "\\ud83d\\ude00.txt"}]',
    );
  });

  it('an empty directory → [] (empty subdirectories contribute nothing)', async () => {
    const root = repoWith({ 'd/e1/': null, 'd/e2/e3/': null });
    const { summary } = await summarise(root, 'd');
    expect(summary).toEqual({
      entries: [],
      manifest: '[]',
      oid: 'd751713988987e9331980363e24189ce.dir',
      size: 0,
      nfiles: 0,
    });
  });

  it('includes dotfiles, .gitignore and git-ignored files', () => {
    const root = repoWith({
      '.gitignore': 'd/*.csv\n',
      'd/.gitignore': '*\n',
      'd/x.csv': 'x',
      'd/.env': 'e',
    });
    expect(relpaths(walkTree(path.join(root, 'd'), { repoRoot: root }))).toEqual([
      '.env',
      '.gitignore',
      'x.csv',
    ]);
  });
});

describe('symlinks', () => {
  it('a link to a file counts as the file (target size and content)', async () => {
    const root = repoWith({
      'd/real.txt': 'twelve bytes',
      outside: 'outside!',
      'd/to-real': { symlink: 'real.txt' },
    });
    fs.symlinkSync(path.join(root, 'outside'), path.join(root, 'd', 'to-outside'));
    const { entries, summary } = await summarise(root, 'd');
    expect(relpaths(entries)).toEqual(['real.txt', 'to-outside', 'to-real']);
    expect(entries.find((e) => e.relpath === 'to-real')!.size).toBe(12);
    expect(summary.size).toBe(12 + 12 + 8);
    const byPath = Object.fromEntries(summary.entries.map((e) => [e.relpath, e.md5]));
    expect(byPath['to-real']).toBe(md5Text('twelve bytes'));
    expect(byPath['to-outside']).toBe(md5Text('outside!'));
  });

  it('a link to a directory is not followed and contributes nothing', () => {
    const root = repoWith({ 'd/sub/f': 'f', 'other/g': 'g', 'd/link-sub': { symlink: 'sub' } });
    fs.symlinkSync(path.join(root, 'other'), path.join(root, 'd', 'link-other'));
    expect(relpaths(walkTree(path.join(root, 'd'), { repoRoot: root }))).toEqual(['sub/f']);
  });

  it('a dangling link → E_BROKEN_SYMLINK naming the link', () => {
    const root = repoWith({ 'd/ok': 'ok', 'd/sub/dangling': { symlink: 'nowhere' } });
    const err = caught(() => walkTree(path.join(root, 'd'), { repoRoot: root }));
    expect(err.code).toBe('E_BROKEN_SYMLINK');
    expect(err.message).toContain(path.join(root, 'd', 'sub', 'dangling'));
    expect(err.message).toContain('nowhere');
  });

  it('a link loop is broken too', () => {
    const root = repoWith({ 'd/a': { symlink: 'b' }, 'd/b': { symlink: 'a' } });
    expect(caught(() => walkTree(path.join(root, 'd'), { repoRoot: root })).code).toBe('E_BROKEN_SYMLINK');
  });

  it('a dangling link excluded by .dvcignore is no error', async () => {
    const root = repoWith({ '.dvcignore': '*.lnk\n', 'd/f': 'f', 'd/x.lnk': { symlink: 'nowhere' } });
    expect(relpaths((await summarise(root, 'd')).entries)).toEqual(['f']);
  });
});

describe('exclusions', () => {
  it('leaves out .git (dir or file), .hg and .dvc directories, keeps files named .hg', () => {
    const root = repoWith({
      'd/.git/config': 'c',
      'd/sub/.git': 'gitdir: ../.git/modules/sub',
      'd/sub/f': 'f',
      'd/.hg/store': 's',
      'd/x/.hg': 'a file named .hg',
    });
    expect(relpaths(walkTree(path.join(root, 'd'), { repoRoot: root }))).toEqual(['sub/f', 'x/.hg']);
  });

  it('skips a sub-repo (a directory holding .dvc) whole', () => {
    const root = repoWith({
      'd/f': 'f',
      'd/sub/.dvc/config': '',
      'd/sub/g': 'g',
      'd/file-marker/.dvc': 'x',
      'd/file-marker/h': 'h',
    });
    expect(relpaths(walkTree(path.join(root, 'd'), { repoRoot: root }))).toEqual(['f']);
  });

  it('a tracked directory with its own .dvc/ gives [] (observed in DVC)', async () => {
    const root = repoWith({ 'd/.dvc/config': '', 'd/f': 'f' });
    expect((await summarise(root, 'd')).summary.manifest).toBe('[]');
  });

  it('the repo root is not a sub-repo of itself (its .dvc/ is just excluded)', () => {
    const root = repoWith({ f: 'f', 'sub/g': 'g' });
    fs.writeFileSync(path.join(root, '.dvc', 'config'), '');
    expect(relpaths(walkTree(root, { repoRoot: root }))).toEqual(['f', 'sub/g']);
    // Without a repo root, the walked root is the one exempted.
    expect(relpaths(walkTree(root))).toEqual(['f', 'sub/g']);
  });

  it('applies the .dvcignore files above the walked directory', async () => {
    const root = repoWith({
      '.dvcignore': '*.tmp\n',
      'd/.dvcignore-not': 'n',
      'd/a.tmp': 't',
      'd/sub/b.tmp': 't',
      'd/keep': 'k',
    });
    fs.mkdirSync(path.join(root, 'p'));
    fs.writeFileSync(path.join(root, 'p', '.dvcignore'), 'skip/\n');
    materialise(root, { 'p/d/skip/x': 'x', 'p/d/y': 'y' });
    expect(relpaths((await summarise(root, 'd')).entries)).toEqual(['.dvcignore-not', 'keep']);
    expect(relpaths((await summarise(root, 'p/d')).entries)).toEqual(['y']);
  });

  it('a .dvcignore inside the walked tree → E_DVCIGNORE_INSIDE naming its directory', async () => {
    for (const rel of ['d/.dvcignore', 'd/sub/.dvcignore']) {
      const root = repoWith({ 'd/f': 'f', [rel]: '*.x\n' });
      const ignore = await DvcIgnore.load(root);
      const err = caught(() => walkTree(path.join(root, 'd'), { ignore }));
      expect(err.code).toBe('E_DVCIGNORE_INSIDE');
      expect(err.message).toContain(path.dirname(path.join(root, rel)));
      expect(err.hint).toBeTruthy();
    }
  });

  it('a .dvcignore that is itself ignored is no error (DVC filters before checking)', async () => {
    const root = repoWith({ '.dvcignore': 'd/.dvcignore\n', 'd/.dvcignore': '*\n', 'd/f': 'f' });
    expect(relpaths((await summarise(root, 'd')).entries)).toEqual(['f']);
    const selfIgnoring = repoWith({ 'd/.dvcignore': '.dvcignore\n*.tmp\n', 'd/f': 'f', 'd/g.tmp': 'g' });
    expect(relpaths((await summarise(selfIgnoring, 'd')).entries)).toEqual(['f']);
  });

  it('applies no .dvcignore to a directory outside the repo, only the defaults', async () => {
    const root = repoWith({ '.dvcignore': '*\n' });
    const outside = tempDir();
    materialise(outside, { 'a.txt': 'a', '.git/x': 'x' });
    const ignore = await DvcIgnore.load(root);
    expect(relpaths(walkTree(outside, { ignore }))).toEqual(['a.txt']);
  });
});

describe('errors', () => {
  it('a fifo → E_IO (DVC would block reading it)', () => {
    const root = repoWith({ 'd/f': 'f' });
    const fifo = path.join(root, 'd', 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const err = caught(() => walkTree(path.join(root, 'd'), { repoRoot: root }));
    expect(err.code).toBe('E_IO');
    expect(err.message).toContain(fifo);
  });

  it('a missing root → E_IO naming it', () => {
    const root = repoWith({});
    const err = caught(() => walkTree(path.join(root, 'nope')));
    expect(err.code).toBe('E_IO');
    expect(err.message).toContain(path.join(root, 'nope'));
  });

  it.each([
    ['directory that cannot be listed', 'd/sub'],
    ['file that cannot be stat-ed', 'd/sub/f'],
    ['link target that cannot be stat-ed', 'd/link'],
  ])('EACCES on a %s → E_UNREADABLE naming it (simulated)', (_what, rel) => {
    const root = repoWith({ 'd/sub/f': 'f', 'd/link': { symlink: 'sub/f' } });
    const target = path.join(root, rel);
    failures.set(target, 'EACCES');
    try {
      const err = caught(() => walkTree(path.join(root, 'd'), { repoRoot: root }));
      expect(err.code).toBe('E_UNREADABLE');
      expect(err.message).toContain(target);
    } finally {
      failures.clear();
    }
  });

  it('chmod 000 on a directory: E_UNREADABLE for a user; root reads it anyway', () => {
    // Environment check, not a skip: root bypasses permission bits (CAP_DAC_OVERRIDE), so the
    // same walk must succeed there. The simulated test above covers the error path for root.
    const root = repoWith({ 'd/locked/f': 'f', 'd/g': 'g' });
    const locked = path.join(root, 'd', 'locked');
    fs.chmodSync(locked, 0o000);
    try {
      const walk = () => walkTree(path.join(root, 'd'), { repoRoot: root });
      if (process.getuid?.() === 0) {
        expect(relpaths(walk())).toEqual(['g', 'locked/f']);
      } else {
        const err = caught(walk);
        expect(err.code).toBe('E_UNREADABLE');
        expect(err.message).toContain(locked);
      }
    } finally {
      fs.chmodSync(locked, 0o755);
    }
  });
});

describe('dirSummary', () => {
  it('refuses hashes that do not pair up with the files', () => {
    const root = repoWith({ 'd/f': 'f' });
    const entries = walkTree(path.join(root, 'd'));
    expect(() => dirSummary(entries, [])).toThrow(RangeError);
  });
});
