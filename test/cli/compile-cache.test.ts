import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CompileCache,
  commandTag,
  compileCacheDir,
  installCompileCache,
} from '../../src/cli/compile-cache.js';
import { tempDir } from '../helpers/tmp.js';

const base = { homedir: '/home/ada', nodeVersion: 'v20.20.2', arch: 'x64', binDir: '/opt/cpv/dist/bin' };

describe('compileCacheDir', () => {
  it('sits under ~/.cache, per Node version, architecture and install', () => {
    const dir = compileCacheDir({ ...base, env: {} });
    expect(dir).toMatch(/^\/home\/ada\/\.cache\/cpv\/v8\/v20\.20\.2-x64\/[0-9a-f]{12}$/);
    const otherInstall = compileCacheDir({ ...base, env: {}, binDir: '/usr/lib/cpv/dist/bin' });
    expect(otherInstall).not.toBe(dir);
    expect(path.dirname(otherInstall ?? '')).toBe(path.dirname(dir ?? ''));
    expect(compileCacheDir({ ...base, env: {}, nodeVersion: 'v20.19.0' })).not.toBe(dir);
  });

  it('follows $XDG_CACHE_HOME when it is absolute', () => {
    expect(compileCacheDir({ ...base, env: { XDG_CACHE_HOME: '/var/cache/ada' } })).toMatch(
      /^\/var\/cache\/ada\/cpv\/v8\//,
    );
    expect(compileCacheDir({ ...base, env: { XDG_CACHE_HOME: 'relative' } })).toMatch(
      /^\/home\/ada\/\.cache\//,
    );
  });

  it('is moved by an absolute CPV_COMPILE_CACHE and turned off by 0/off/false/no', () => {
    expect(compileCacheDir({ ...base, env: { CPV_COMPILE_CACHE: '/srv/cc' } })).toMatch(
      /^\/srv\/cc\/v20\.20\.2-x64\//,
    );
    for (const off of ['0', 'off', 'OFF', 'false', 'no', ' off ']) {
      expect(compileCacheDir({ ...base, env: { CPV_COMPILE_CACHE: off } })).toBeUndefined();
    }
  });

  it('is off when there is no home directory to put it in', () => {
    expect(compileCacheDir({ ...base, env: {}, homedir: '' })).toBeUndefined();
    expect(compileCacheDir({ ...base, env: {}, homedir: 'not/absolute' })).toBeUndefined();
  });
});

describe('commandTag', () => {
  it('is the first word that is not an option', () => {
    expect(commandTag(['status'])).toBe('status');
    expect(commandTag(['-v', 'checkout', 'data.dvc'])).toBe('checkout');
    expect(commandTag(['model', 'upload'])).toBe('model');
  });

  it('is _ when there is no word, or the word is not a command name', () => {
    expect(commandTag([])).toBe('_');
    expect(commandTag(['--version'])).toBe('_');
    expect(commandTag(['--cwd', '/tmp/repo', 'status'])).toBe('_');
    expect(commandTag(['../../etc'])).toBe('_');
    expect(commandTag(['Status'])).toBe('_');
  });
});

describe('installCompileCache', () => {
  let active: CompileCache | undefined;
  afterEach(() => {
    active?.uninstall();
    active = undefined;
  });

  /** A bundle directory with an entry (with a shebang) that requires a second file. */
  function bundle(): { binDir: string; cacheDir: string; entry: string; load: () => unknown } {
    const root = tempDir();
    const binDir = path.join(root, 'bin');
    fs.mkdirSync(binDir);
    const entry = path.join(binDir, 'entry-AAAA.cjs');
    fs.writeFileSync(
      entry,
      `#!/usr/bin/env node\nconst part = require('./part-BBBB.cjs');\nmodule.exports = { answer: part.twice(21), dir: __dirname, file: __filename };\n`,
    );
    fs.writeFileSync(path.join(binDir, 'part-BBBB.cjs'), 'exports.twice = (n) => n * 2;\n');
    const load = () => {
      const require = createRequire(entry);
      for (const file of fs.readdirSync(binDir)) delete require.cache[path.join(binDir, file)];
      return require(entry);
    };
    return { binDir, cacheDir: path.join(root, 'cache', 'v8'), entry, load };
  }

  function install(binDir: string, cacheDir: string, tag = 'status'): CompileCache {
    active?.uninstall();
    active = installCompileCache({ binDir, cacheDir, tag });
    return active;
  }

  it('compiles from source the first time, writes the cache, and uses it the next time', () => {
    const { binDir, cacheDir, entry, load } = bundle();
    const first = install(binDir, cacheDir);
    expect(load()).toEqual({ answer: 42, dir: binDir, file: entry });
    expect(first.compiled.sort()).toEqual(['entry-AAAA.cjs', 'part-BBBB.cjs']);
    expect(first.accepted).toEqual([]);
    first.flush();
    expect(fs.readdirSync(cacheDir).sort()).toEqual(['entry-AAAA.cjs.status.v8', 'part-BBBB.cjs.status.v8']);
    expect(fs.statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(cacheDir, 'part-BBBB.cjs.status.v8')).mode & 0o777).toBe(0o600);

    const second = install(binDir, cacheDir);
    expect(load()).toEqual({ answer: 42, dir: binDir, file: entry });
    expect(second.accepted.sort()).toEqual(['entry-AAAA.cjs', 'part-BBBB.cjs']);
    expect(second.compiled).toEqual([]);
  });

  it('keeps a separate cache per command tag', () => {
    const { binDir, cacheDir, load } = bundle();
    install(binDir, cacheDir, 'status');
    load();
    active?.flush();
    const other = install(binDir, cacheDir, 'checkout');
    load();
    expect(other.accepted).toEqual([]);
    other.flush();
    expect(fs.readdirSync(cacheDir)).toHaveLength(4);
  });

  it('compiles from source when V8 rejects the cached data, and replaces it', () => {
    const { binDir, cacheDir, load } = bundle();
    fs.mkdirSync(cacheDir, { recursive: true });
    const cacheFile = path.join(cacheDir, 'part-BBBB.cjs.status.v8');
    fs.writeFileSync(cacheFile, Buffer.alloc(256, 7));
    const cache = install(binDir, cacheDir);
    expect(load()).toMatchObject({ answer: 42 });
    expect(cache.compiled).toContain('part-BBBB.cjs');
    cache.flush();
    expect(fs.readFileSync(cacheFile).equals(Buffer.alloc(256, 7))).toBe(false);
    expect(install(binDir, cacheDir).accepted).toEqual([]);
    load();
    expect(active?.accepted).toContain('part-BBBB.cjs');
  });

  it('does not hand V8 a cache file damaged on disk (one flipped byte, or cut short)', () => {
    const { binDir, cacheDir, load } = bundle();
    install(binDir, cacheDir);
    load();
    active?.flush();
    const cacheFile = path.join(cacheDir, 'entry-AAAA.cjs.status.v8');
    const good = fs.readFileSync(cacheFile);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5]! ^= 0x40;
    for (const damaged of [flipped, good.subarray(0, good.length - 7), good.subarray(0, 10)]) {
      fs.writeFileSync(cacheFile, damaged);
      const cache = install(binDir, cacheDir);
      expect(load()).toMatchObject({ answer: 42 });
      expect(cache.compiled).toContain('entry-AAAA.cjs');
      expect(cache.accepted).toContain('part-BBBB.cjs');
    }
  });

  it('leaves files outside the bundle directory to Node', () => {
    const { binDir, cacheDir } = bundle();
    const elsewhere = path.join(tempDir(), 'other.cjs');
    fs.writeFileSync(elsewhere, 'module.exports = 7;\n');
    const cache = install(binDir, cacheDir);
    expect(createRequire(elsewhere)(elsewhere)).toBe(7);
    expect(cache.compiled).toEqual([]);
    cache.flush();
    expect(fs.existsSync(cacheDir)).toBe(false);
  });

  it('drops cached code of bundle files that no longer exist when it writes', () => {
    const { binDir, cacheDir, load } = bundle();
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.writeFileSync(path.join(cacheDir, 'entry-OLD0.cjs.status.v8'), 'x');
    fs.writeFileSync(path.join(cacheDir, 'notes.txt'), 'kept: not a cache entry');
    install(binDir, cacheDir);
    load();
    active?.flush();
    expect(fs.readdirSync(cacheDir).sort()).toEqual([
      'entry-AAAA.cjs.status.v8',
      'notes.txt',
      'part-BBBB.cjs.status.v8',
    ]);
  });

  it('never fails the command when the cache cannot be written', () => {
    const { binDir, load } = bundle();
    const blocker = path.join(tempDir(), 'a-file');
    fs.writeFileSync(blocker, '');
    const cache = install(binDir, path.join(blocker, 'v8'));
    expect(load()).toMatchObject({ answer: 42 });
    expect(() => cache.flush()).not.toThrow();
    expect(fs.readdirSync(path.dirname(blocker))).toEqual(['a-file']);
  });

  it('puts Node’s own compile step back on uninstall', () => {
    const { binDir, cacheDir, load } = bundle();
    const cache = install(binDir, cacheDir);
    cache.uninstall();
    load();
    expect(cache.compiled).toEqual([]);
  });
});

describe('the installed cpv executable (dist/cli.cjs)', () => {
  const bin = path.resolve(import.meta.dirname, '../../dist/cli.cjs');

  function cpv(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string } {
    expect(fs.existsSync(bin), 'dist/cli.cjs is missing: run npm run build (npm test does it first)').toBe(
      true,
    );
    return spawnSync(process.execPath, [bin, ...args], {
      cwd: tempDir(),
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
  }

  function cacheFiles(root: string): string[] {
    return fs.existsSync(root)
      ? fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.v8'))
      : [];
  }

  it('keeps compiled code per command under $XDG_CACHE_HOME, and runs the same from it', () => {
    const xdg = tempDir();
    const env = { XDG_CACHE_HOME: xdg, CPV_COMPILE_CACHE: '' };
    const first = cpv(['--version'], env);
    expect(first.status).toBe(0);
    const written = cacheFiles(path.join(xdg, 'cpv', 'v8'));
    expect(written.length).toBeGreaterThan(0);
    expect(written.every((f) => f.endsWith('._.v8'))).toBe(true);
    const again = cpv(['--version'], env);
    expect(again).toMatchObject({ status: 0, stdout: first.stdout });
    expect(cacheFiles(path.join(xdg, 'cpv', 'v8'))).toEqual(written);
    expect(cpv(['status'], env).status).not.toBe(0); // not a repo: still an ordinary cpv error
    expect(cacheFiles(path.join(xdg, 'cpv', 'v8')).some((f) => f.endsWith('.status.v8'))).toBe(true);
  });

  it('writes nothing with CPV_COMPILE_CACHE=off', () => {
    const xdg = tempDir();
    expect(cpv(['--version'], { XDG_CACHE_HOME: xdg, CPV_COMPILE_CACHE: 'off' }).status).toBe(0);
    expect(cacheFiles(xdg)).toEqual([]);
  });
});
