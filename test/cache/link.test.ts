import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Linker, type LinkType, parseLinkTypes, workspaceFileMode } from '../../src/cache/link.js';
import { tempDir } from '../helpers/tmp.js';

function setup(content = 'payload') {
  const dir = tempDir();
  const obj = path.join(dir, 'object');
  fs.writeFileSync(obj, content);
  fs.chmodSync(obj, 0o444);
  const target = path.join(dir, 'work.txt');
  return { dir, obj, target };
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe('Linker', () => {
  it('falls back from a failing reflink to copy and remembers the choice', () => {
    const { obj, target, dir } = setup();
    const calls: LinkType[] = [];
    const failingReflink = {
      reflink: () => {
        calls.push('reflink');
        throw Object.assign(new Error('not supported'), { code: 'EOPNOTSUPP' });
      },
      hardlink: () => {
        throw new Error('unused');
      },
      symlink: () => {
        throw new Error('unused');
      },
      copy: (src: string, tmp: string, m: number) => {
        calls.push('copy');
        fs.copyFileSync(src, tmp);
        fs.chmodSync(tmp, m);
      },
    };
    const linker = new Linker(['reflink', 'copy'], failingReflink);
    expect(linker.link(obj, target)).toBe('copy');
    expect(linker.link(obj, path.join(dir, 'second.txt'))).toBe('copy');
    expect(calls).toEqual(['reflink', 'copy', 'copy']);
    expect(fs.readFileSync(target, 'utf8')).toBe('payload');
    expect(mode(target)).toBe(workspaceFileMode(false));
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('settle() tests each type with a throwaway link, keeps the first that works, leaves nothing', () => {
    const dir = tempDir();
    const cache = path.join(dir, 'cache');
    const work = path.join(dir, 'work');
    fs.mkdirSync(work);
    const tried: LinkType[] = [];
    const fail = (t: LinkType) => () => {
      tried.push(t);
      throw Object.assign(new Error('not here'), { code: 'EXDEV' });
    };
    const works = (t: LinkType) => (src: string, tmp: string) => {
      tried.push(t);
      fs.copyFileSync(src, tmp);
    };
    const linkers = {
      reflink: fail('reflink'),
      hardlink: works('hardlink'),
      symlink: fail('symlink'),
      copy: works('copy'),
    };
    const linker = new Linker(['reflink', 'hardlink', 'copy'], linkers);
    linker.settle(cache, work);
    expect(linker.linkType).toBe('hardlink');
    expect(tried).toEqual(['reflink', 'hardlink']);
    linker.settle(cache, work); // settled: no more tests
    expect(tried).toEqual(['reflink', 'hardlink']);
    expect(fs.readdirSync(cache)).toEqual([]);
    expect(fs.readdirSync(work)).toEqual([]);

    const copyOnly = new Linker(['reflink', 'copy'], linkers);
    copyOnly.settle(cache, work);
    expect(copyOnly.linkType).toBe('copy'); // copy always works: it is not tested
    expect(tried.filter((t) => t === 'copy')).toEqual([]);
  });

  it('uses real reflink when the filesystem has it, else copy (default types)', () => {
    const { obj, target } = setup();
    const used = new Linker(parseLinkTypes(undefined)).link(obj, target, { isexec: true });
    expect(['reflink', 'copy']).toContain(used);
    expect(fs.readFileSync(target, 'utf8')).toBe('payload');
    expect(mode(target)).toBe(workspaceFileMode(true));
    expect(mode(target) & 0o100).toBe(0o100);
  });

  it('hardlinks share the inode and keep the read-only mode', () => {
    const { obj, target } = setup();
    expect(new Linker(['hardlink']).link(obj, target)).toBe('hardlink');
    expect(fs.statSync(target).ino).toBe(fs.statSync(obj).ino);
    expect(mode(target)).toBe(0o444);
  });

  it('symlinks point at the cache object; empty objects get a fresh empty file instead', () => {
    const { obj, target, dir } = setup();
    new Linker(['symlink']).link(obj, target);
    expect(fs.readlinkSync(target)).toBe(obj);
    const emptyObj = path.join(dir, 'empty-object');
    fs.writeFileSync(emptyObj, '');
    const emptyTarget = path.join(dir, 'empty.txt');
    new Linker(['symlink']).link(emptyObj, emptyTarget, { empty: true });
    expect(fs.lstatSync(emptyTarget).isFile()).toBe(true);
    expect(fs.statSync(emptyTarget).size).toBe(0);
  });

  it('inPlaceCopy keeps the inode of a regular file and only resets its mode', () => {
    const { obj, target } = setup();
    fs.writeFileSync(target, 'payload', { mode: 0o755 });
    fs.chmodSync(target, 0o755);
    const ino = fs.statSync(target).ino;
    new Linker(['copy']).link(obj, target, { inPlaceCopy: true });
    expect(fs.statSync(target).ino).toBe(ino);
    expect(mode(target)).toBe(workspaceFileMode(false));
  });

  it('inPlaceCopy replaces a symlink with a real file', () => {
    const { obj, target, dir } = setup();
    fs.writeFileSync(path.join(dir, 'real'), 'payload');
    fs.symlinkSync('real', target);
    new Linker(['copy']).link(obj, target, { inPlaceCopy: true });
    expect(fs.lstatSync(target).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(target, 'utf8')).toBe('payload');
  });

  it('reports a clear error when no type works, and when the chosen type later fails', () => {
    const { obj, target } = setup();
    const fail = () => {
      throw new Error('nope');
    };
    const linker = new Linker(['reflink'], { reflink: fail, hardlink: fail, symlink: fail, copy: fail });
    expect(() => linker.link(obj, target)).toThrow(/no cache.type could link/);
    const copier = new Linker(['copy']);
    copier.link(obj, target);
    expect(() => copier.link(path.join(path.dirname(obj), 'missing'), target)).toThrow(/cannot write/);
  });

  it('parses cache.type lists and rejects unknown types', () => {
    expect(parseLinkTypes(['Hardlink', ' copy'])).toEqual(['hardlink', 'copy']);
    expect(parseLinkTypes([])).toEqual(['reflink', 'copy']);
    expect(() => parseLinkTypes(['magic'])).toThrow(/unknown cache.type/);
  });
});
