/**
 * `.dvcignore` semantics: gitignore patterns per directory, deeper files overriding shallower
 * ones, DVC's default exclusions, lazy loading for paths no walk has visited.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { DvcIgnore, isExcludedByDefault, parseDvcignore, rebasePattern } from '../../src/cache/dvcignore.js';
import { isCpvError } from '../../src/errors.js';
import { materialise, type TreeContent, tempDir } from '../helpers/tmp.js';
import { loadVectors } from '../helpers/vectors.js';

/**
 * Paths whose reads fail with an injected errno. The suite often runs as root, where `chmod 000`
 * blocks nothing, so permission errors are simulated at the `node:fs` boundary instead.
 */
const failReads = vi.hoisted(() => new Map<string, string>());
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const check = (p: unknown) => {
    const code = failReads.get(String(p));
    if (code !== undefined)
      throw Object.assign(new Error(`${code}: simulated, open '${String(p)}'`), { code });
  };
  const readFileSync = ((p: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    check(p);
    return (real.readFileSync as (...a: unknown[]) => unknown)(p, ...rest);
  }) as typeof real.readFileSync;
  const readFile = (async (p: fs.PathLike, ...rest: unknown[]) => {
    check(p);
    return (real.promises.readFile as (...a: unknown[]) => unknown)(p, ...rest);
  }) as typeof real.promises.readFile;
  const promises = { ...real.promises, readFile };
  return { ...real, readFileSync, promises, default: { ...real, readFileSync, promises } };
});

/** A repo root (with `.dvc/`) holding `tree`; returns its path and a loaded filter. */
async function repoWith(tree: Record<string, TreeContent>): Promise<{ root: string; ig: DvcIgnore }> {
  const root = tempDir();
  materialise(root, { '.dvc/': null, ...tree });
  return { root, ig: await DvcIgnore.load(root) };
}

const VECTOR_DVCIGNORE = loadVectors().find((v) => v.id === 'dir-dvcignore')!.tree['.dvcignore'] as string;

describe('parseDvcignore', () => {
  it('strips lines and drops blank and comment lines, as DVC reads them', () => {
    expect(parseDvcignore('# c\n\n  *.log  \r\n\t!keep.log\r/data/skip\n   # indented comment\n')).toEqual([
      '*.log',
      '!keep.log',
      '/data/skip',
    ]);
  });

  it('keeps a BOM (Python opens the file as utf-8, not utf-8-sig, and strip() keeps U+FEFF)', () => {
    expect(parseDvcignore('\ufeff*.log\n')).toEqual(['\ufeff*.log']);
  });

  it('reads the vector .dvcignore', () => {
    expect(parseDvcignore(VECTOR_DVCIGNORE)).toEqual(['*.log', '!keep.log', 'tmp/', '/data/skip']);
  });
});

describe('rebasePattern (DVC pathspec_math.change_rule)', () => {
  it.each([
    ['*.log', 'data', '/data/**/*.log'],
    ['!keep.log', 'data', '!/data/**/keep.log'],
    ['tmp/', 'data', '/data/**/tmp/'],
    ['/skip', 'data', '/data/skip'],
    ['a/b', 'data/sub', '/data/sub/a/b'],
    ['a/b/', 'data', '/data/a/b/'],
    ['**/x', 'data', '/data/**/x'],
    ['\\#hash', 'd', '/d/**/#hash'],
  ])('%s in %s/ → %s', (pattern, rel, expected) => {
    expect(rebasePattern(pattern, rel)).toBe(expected);
  });
});

describe('isExcludedByDefault', () => {
  it.each([
    ['.git', true, true],
    ['.git', false, true],
    ['.hg', true, true],
    ['.hg', false, false],
    ['.dvc', true, true],
    ['.dvc', false, false],
    ['.gitignore', false, false],
    ['.dvcignore', false, false],
  ])('%s (dir: %s) → %s', (name, isDir, expected) => {
    expect(isExcludedByDefault(name, isDir)).toBe(expected);
  });
});

describe('DvcIgnore.isIgnored', () => {
  it('applies the vector .dvcignore exactly as DVC did (dir-dvcignore)', async () => {
    const { root, ig } = await repoWith({ '.dvcignore': VECTOR_DVCIGNORE });
    const at = (rel: string) => path.join(root, rel);
    const cases: Array<[string, boolean, boolean]> = [
      ['data/a.log', false, true], // *.log anywhere
      ['data/keep.log', false, false], // !keep.log re-includes
      ['data/tmp', true, true], // tmp/ at any depth
      ['data/tmp/t', false, true], // inside an ignored directory
      ['data/sub/tmp/u', false, true],
      ['data/tmp', false, false], // tmp/ is for directories only
      ['data/skip', true, true], // /data/skip anchored at the .dvcignore's directory
      ['data/skip/s', false, true],
      ['data/sub/skip', true, false],
      ['data/sub/skip/ss', false, false],
      ['data/real.txt', false, false],
      ['data', true, false],
    ];
    for (const [rel, isDir, expected] of cases) {
      expect([rel, isDir, ig.isIgnored(at(rel), isDir)]).toEqual([rel, isDir, expected]);
    }
  });

  it('is case-sensitive, like DVC (Python re)', async () => {
    const { root, ig } = await repoWith({ '.dvcignore': '*.log\n' });
    expect(ig.isIgnored(path.join(root, 'a.log'), false)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'A.LOG'), false)).toBe(false);
  });

  it('supports ** in the middle and at the start', async () => {
    const { root, ig } = await repoWith({ '.dvcignore': 'a/**/z\n**/deep\n' });
    expect(ig.isIgnored(path.join(root, 'a/z'), false)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'a/b/c/z'), false)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'b/a/z'), false)).toBe(false);
    expect(ig.isIgnored(path.join(root, 'x/y/deep'), true)).toBe(true);
  });

  it('cannot re-include a file inside an ignored directory (gitignore rule)', async () => {
    const { root, ig } = await repoWith({ '.dvcignore': 'tmp/\n!tmp/keep\n' });
    expect(ig.isIgnored(path.join(root, 'tmp/keep'), false)).toBe(true);
  });

  it('answers for a target no walk has visited (cpv add data/x)', async () => {
    const { root, ig } = await repoWith({ '.dvcignore': 'data/x\n', 'data/x/y/z': 'z' });
    expect(ig.isIgnored(path.join(root, 'data/x'), true)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'data/x/y/z'), false)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'data/xx'), true)).toBe(false);
  });

  it('reads deeper .dvcignore files lazily, relative to their own directory', async () => {
    const { root, ig } = await repoWith({ 'a/b/.dvcignore': 'secret\n/top-only\n' });
    expect(ig.isIgnored(path.join(root, 'a/b/c/secret'), false)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'a/b/top-only'), false)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'a/b/c/top-only'), false)).toBe(false);
    expect(ig.isIgnored(path.join(root, 'a/secret'), false)).toBe(false);
    expect(ig.isIgnored(path.join(root, 'secret'), false)).toBe(false);
  });

  it('lets a deeper .dvcignore override a shallower one', async () => {
    const { root, ig } = await repoWith({
      '.dvcignore': '*.log\ndata/x/\n',
      'data/.dvcignore': '!keep.log\n!x/\n',
    });
    expect(ig.isIgnored(path.join(root, 'data/keep.log'), false)).toBe(false);
    expect(ig.isIgnored(path.join(root, 'data/deep/keep.log'), false)).toBe(false);
    expect(ig.isIgnored(path.join(root, 'other/keep.log'), false)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'data/a.log'), false)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'data/x'), true)).toBe(false);
    expect(ig.isIgnored(path.join(root, 'data/x/f'), false)).toBe(false);
  });

  it('does not read a .dvcignore that a shallower one ignores (as DVC)', async () => {
    const { root, ig } = await repoWith({ '.dvcignore': 'sub/.dvcignore\n', 'sub/.dvcignore': '*.txt\n' });
    expect(ig.isIgnored(path.join(root, 'sub/a.txt'), false)).toBe(false);
    expect(ig.isIgnored(path.join(root, 'sub/.dvcignore'), false)).toBe(true);
  });

  it('excludes .git, .hg and .dvc by default, and everything inside them', async () => {
    const { root, ig } = await repoWith({});
    expect(ig.isIgnored(path.join(root, '.git'), true)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'sub/.git'), false)).toBe(true); // a submodule's .git file
    expect(ig.isIgnored(path.join(root, '.git/config'), false)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'x/.hg'), true)).toBe(true);
    expect(ig.isIgnored(path.join(root, '.dvc/config'), false)).toBe(true);
    expect(ig.isIgnored(path.join(root, 'x/.hg'), false)).toBe(false);
    expect(ig.isIgnored(path.join(root, '.gitignore'), false)).toBe(false);
  });

  it('never ignores the root itself or paths outside the repo', async () => {
    const { root, ig } = await repoWith({ '.dvcignore': '*\n' });
    expect(ig.isIgnored(root, true)).toBe(false);
    expect(ig.isIgnored(path.join(path.dirname(root), 'elsewhere.txt'), false)).toBe(false);
    expect(ig.isIgnored(path.join(root, 'inside.txt'), false)).toBe(true);
  });

  it('works without a root .dvcignore', async () => {
    const { root, ig } = await repoWith({ 'f.log': 'x' });
    expect(ig.isIgnored(path.join(root, 'f.log'), false)).toBe(false);
    expect(ig.scopeFor(root).isEmpty).toBe(true);
  });

  it('scopeFor gives the patterns in effect below a directory, rebased to the root', async () => {
    const { root, ig } = await repoWith({ '.dvcignore': '*.tmp\n', 'data/.dvcignore': 'x\n' });
    expect(ig.scopeFor(path.join(root, 'data', 'sub')).patterns).toEqual(['*.tmp', '/data/**/x']);
    expect(ig.scopeFor(path.dirname(root)).isEmpty).toBe(true);
  });
});

describe('unreadable .dvcignore', () => {
  it('load: EACCES on the root .dvcignore → E_UNREADABLE naming the file', async () => {
    const root = tempDir();
    const file = path.join(root, '.dvcignore');
    fs.writeFileSync(file, '*.log\n');
    failReads.set(file, 'EACCES');
    try {
      const err = await DvcIgnore.load(root).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isCpvError(err) && err.code).toBe('E_UNREADABLE');
      expect((err as Error).message).toContain(file);
    } finally {
      failReads.clear();
    }
  });

  it('lazy: EACCES on a deeper .dvcignore → E_UNREADABLE naming the file', async () => {
    const { root, ig } = await repoWith({ 'a/.dvcignore': 'x\n' });
    const file = path.join(root, 'a', '.dvcignore');
    failReads.set(file, 'EACCES');
    try {
      expect(() => ig.isIgnored(path.join(root, 'a/x'), false)).toThrow(
        expect.objectContaining({ code: 'E_UNREADABLE', message: expect.stringContaining(file) }),
      );
    } finally {
      failReads.clear();
    }
  });

  it('a directory named .dvcignore counts as no file', async () => {
    const { root, ig } = await repoWith({ 'a/.dvcignore/': null });
    expect(ig.isIgnored(path.join(root, 'a/x'), false)).toBe(false);
  });
});
