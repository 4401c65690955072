/**
 * raw-fs.ts reads Node's fs binding instead of building Stats objects. It must give what
 * fs.lstatSync gives, for every kind of entry, and fail the same way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DIRENT_DIR,
  DIRENT_FILE,
  DIRENT_LINK,
  listDir,
  lstatFields,
  statMode,
  usesBinding,
} from '../../src/cache/raw-fs.js';
import { tempDir } from '../helpers/tmp.js';

function viaFs(p: string): bigint[] {
  const st = fs.lstatSync(p, { bigint: true });
  return [st.ino, st.mtimeNs, st.size, st.mode];
}

describe('lstatFields', () => {
  it('uses the binding on this Node (the speed-up the walk counts on)', () => {
    expect(usesBinding()).toBe(true);
  });

  it('equals fs.lstatSync for a file, an executable, an empty file, a directory and a symlink', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'f'), 'x'.repeat(12345));
    fs.writeFileSync(path.join(d, 'x'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(d, 'empty'), '');
    fs.mkdirSync(path.join(d, 'dir'));
    fs.symlinkSync('f', path.join(d, 'link'));
    fs.symlinkSync('missing', path.join(d, 'dangling'));
    // A whole-second and a pre-1970 mtime: the seconds/nanoseconds split must add up both ways.
    fs.utimesSync(path.join(d, 'empty'), 1_700_000_000, 1_700_000_000);
    fs.utimesSync(path.join(d, 'x'), -12.25, -12.25);
    for (const name of ['f', 'x', 'empty', 'dir', 'link', 'dangling']) {
      const p = path.join(d, name);
      expect([...lstatFields(p)], name).toEqual(viaFs(p));
    }
  });

  it('throws the error fs.lstatSync throws', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'file'), '');
    for (const p of [path.join(d, 'nope'), path.join(d, 'file', 'below')]) {
      let want: NodeJS.ErrnoException | undefined;
      try {
        fs.lstatSync(p);
      } catch (err) {
        want = err as NodeJS.ErrnoException;
      }
      expect(want).toBeDefined();
      expect(() => lstatFields(p)).toThrow(expect.objectContaining({ code: want?.code }));
    }
  });
});

describe('statMode', () => {
  it('equals fs.statSync(p).mode, following symlinks; undefined where nothing is', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'ro'), 'x', { mode: 0o444 });
    fs.chmodSync(path.join(d, 'ro'), 0o444);
    fs.writeFileSync(path.join(d, 'x'), '#!/bin/sh\n', { mode: 0o755 });
    fs.mkdirSync(path.join(d, 'dir'));
    fs.symlinkSync('ro', path.join(d, 'link'));
    fs.symlinkSync('missing', path.join(d, 'dangling'));
    for (const name of ['ro', 'x', 'dir', 'link']) {
      const p = path.join(d, name);
      expect(statMode(p), name).toBe(fs.statSync(p).mode);
    }
    expect(statMode(path.join(d, 'link'))).toBe(fs.constants.S_IFREG | 0o444);
    expect(statMode(path.join(d, 'dangling'))).toBeUndefined();
    expect(statMode(path.join(d, 'nope'))).toBeUndefined();
  });

  it('throws what fs.statSync throws for errors other than a missing entry', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'file'), '');
    expect(() => statMode(path.join(d, 'file', 'below'))).toThrow(
      expect.objectContaining({ code: 'ENOTDIR' }),
    );
  });
});

describe('listDir', () => {
  it('gives the names fs.readdirSync gives, in its order, each with its type', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'file'), '');
    fs.mkdirSync(path.join(d, 'dir'));
    fs.symlinkSync('file', path.join(d, 'link'));
    fs.symlinkSync('dir', path.join(d, 'dir-link'));
    fs.writeFileSync(path.join(d, 'ünïcode name'), '');
    const want = fs.readdirSync(d, { withFileTypes: true });
    const got = listDir(d);
    expect(got.names).toEqual(want.map((e) => e.name));
    const typeOf: Record<string, number> = {
      file: DIRENT_FILE,
      dir: DIRENT_DIR,
      link: DIRENT_LINK,
      'dir-link': DIRENT_LINK,
      'ünïcode name': DIRENT_FILE,
    };
    expect(got.types).toEqual(got.names.map((n) => typeOf[n]));
  });

  it('throws the error fs.readdirSync throws', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'file'), '');
    for (const p of [path.join(d, 'nope'), path.join(d, 'file')]) {
      let code: string | undefined;
      try {
        fs.readdirSync(p);
      } catch (err) {
        code = (err as NodeJS.ErrnoException).code;
      }
      expect(code).toBeDefined();
      expect(() => listDir(p)).toThrow(expect.objectContaining({ code }));
    }
  });
});
