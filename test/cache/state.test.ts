import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/cache/crc32.js';
import { StateStore } from '../../src/cache/state.js';
import { fingerprintFileCount } from '../../src/cache/tree-stamp.js';
import { tempDir } from '../helpers/tmp.js';

const st = (ino: number, mtimeNs: bigint, size: number) => ({ ino: BigInt(ino), mtimeNs, size });

describe('StateStore', () => {
  it('returns a hash only for the same inode, mtime (ns) and size', () => {
    const dir = tempDir();
    const s = StateStore.open(dir);
    s.set('md5', '/w/a', st(1, 1000n, 3), 'a'.repeat(32));
    s.save();
    const r = StateStore.open(dir);
    expect(r.get('md5', '/w/a', st(1, 1000n, 3))).toBe('a'.repeat(32));
    expect(r.get('md5', '/w/a', st(2, 1000n, 3))).toBeUndefined();
    expect(r.get('md5', '/w/a', st(1, 1001n, 3))).toBeUndefined();
    expect(r.get('md5', '/w/a', st(1, 1000n, 4))).toBeUndefined();
    expect(r.get('md5-dos2unix', '/w/a', st(1, 1000n, 3))).toBeUndefined();
  });

  it('keeps paths with tabs, newlines and unicode intact', () => {
    const dir = tempDir();
    const s = StateStore.open(dir);
    const weird = '/w/tab\tname\nnew😀line';
    s.set('md5', weird, st(5, 5n, 5), 'b'.repeat(32));
    s.save();
    expect(StateStore.open(dir).get('md5', weird, st(5, 5n, 5))).toBe('b'.repeat(32));
  });

  it('writes each record as JSON would quote its path, and reads every path back (property)', () => {
    const dir = tempDir();
    const st = { ino: 7n, mtimeNs: 123456789n, size: 3 };
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1 }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const paths = [`/w/${a}`, `/w/${b}`];
        const s = StateStore.open(dir);
        for (const p of paths) s.set('md5', p, st, 'c'.repeat(32));
        s.setTree('md5', paths[0]!, 'fp', `${'d'.repeat(32)}.dir`);
        s.save();
        const lines = fs.readFileSync(path.join(dir, 'cpv-state.log'), 'utf8').split('\n');
        for (const p of paths) expect(lines.some((l) => l.includes(`\t${JSON.stringify(p)}\t`))).toBe(true);
        const r = StateStore.open(dir);
        for (const p of paths) expect(r.get('md5', p, st)).toBe('c'.repeat(32));
        expect(r.getTree('md5', paths[0]!, 'fp')).toBe(`${'d'.repeat(32)}.dir`);
        fs.rmSync(path.join(dir, 'cpv-state.log'));
        fs.rmSync(path.join(dir, 'cpv-state-trees.log'));
      }),
      { numRuns: 200 },
    );
  });

  it('ignores a torn or corrupted record instead of returning a wrong hash', () => {
    const dir = tempDir();
    const s = StateStore.open(dir);
    s.set('md5', '/w/a', st(1, 1n, 1), 'c'.repeat(32));
    s.set('md5', '/w/b', st(2, 2n, 2), 'd'.repeat(32));
    s.save();
    const log = path.join(dir, 'cpv-state.log');
    const text = fs.readFileSync(log, 'utf8');
    // flip one hex digit of the first record's hash, and tear the last line
    const corrupted = text.replace('c'.repeat(32), `${'c'.repeat(31)}e`);
    fs.writeFileSync(log, corrupted.slice(0, -10));
    const r = StateStore.open(dir);
    expect(r.get('md5', '/w/a', st(1, 1n, 1))).toBeUndefined();
    expect(r.get('md5', '/w/b', st(2, 2n, 2))).toBeUndefined();
    expect(r.size).toBe(0);
  });

  it('appends, later records win, and compaction keeps only live entries', () => {
    const dir = tempDir();
    for (let round = 0; round < 3; round++) {
      const s = StateStore.open(dir);
      for (let i = 0; i < 600; i++)
        s.set('md5', `/w/${i}`, st(i, BigInt(round), 1), round.toString(16).repeat(32));
      s.save();
    }
    const r = StateStore.open(dir);
    expect(r.size).toBe(600);
    expect(r.get('md5', '/w/7', st(7, 2n, 1))).toBe('2'.repeat(32));
    const lines = fs.readFileSync(path.join(dir, 'cpv-state.log'), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(1 + 2 * 600 + 1000);
  });

  it('compacts a log that is only ever written to (checkouts) once it outgrows its last compacted size', () => {
    const dir = tempDir();
    const log = path.join(dir, 'cpv-state.log');
    const rounds = 80;
    let grownTo = 0;
    for (let round = 1; round <= rounds; round++) {
      // As a checkout does: new inodes for the same 2,000 paths, and never a read of the log.
      const s = StateStore.open(dir);
      for (let i = 0; i < 2000; i++)
        s.set('md5', `/w/data/f${i}`, st(round * 10_000 + i, 1n, 4), 'c'.repeat(32));
      s.save();
      grownTo = Math.max(grownTo, fs.statSync(log).size);
    }
    const oneRound = fs.readFileSync(log, 'utf8').split('\n')[1]!.length * 2000;
    // Unbounded, the log would hold all 160,000 records; it stays near twice one round plus 1 MiB.
    expect(grownTo).toBeLessThan(2 * oneRound + (1 << 20) + oneRound);
    expect(grownTo).toBeLessThan((rounds * oneRound) / 4);
    const r = StateStore.open(dir);
    expect(r.size).toBe(2000);
    expect(r.get('md5', '/w/data/f7', st(rounds * 10_000 + 7, 1n, 4))).toBe('c'.repeat(32));
  });

  it('writes without reading the log, and a later read sees both old and new records', () => {
    const dir = tempDir();
    const first = StateStore.open(dir);
    first.set('md5', '/w/old', st(1, 1n, 1), '1'.repeat(32));
    first.set('md5', '/w/both', st(2, 2n, 2), '2'.repeat(32));
    first.save();
    const s = StateStore.open(dir);
    s.set('md5', '/w/both', st(2, 3n, 2), '3'.repeat(32)); // newer than the log's record
    s.set('md5', '/w/new', st(4, 4n, 4), '4'.repeat(32));
    expect(s.get('md5', '/w/old', st(1, 1n, 1))).toBe('1'.repeat(32));
    expect(s.get('md5', '/w/both', st(2, 3n, 2))).toBe('3'.repeat(32));
    expect(s.get('md5', '/w/both', st(2, 2n, 2))).toBeUndefined();
    expect(s.get('md5', '/w/new', st(4, 4n, 4))).toBe('4'.repeat(32));
    s.save();
    const r = StateStore.open(dir);
    expect(r.get('md5', '/w/both', st(2, 3n, 2))).toBe('3'.repeat(32));
    expect(r.size).toBe(3);
  });

  it('remembers trees by fingerprint and verified objects by stamp, across reopen', () => {
    const dir = tempDir();
    const s = StateStore.open(dir);
    s.setTree('md5', '/w/data', '2:abc', `${'a'.repeat(32)}.dir`);
    s.setVerified('md5', '/c/aa/bb.dir', 'stamp-1');
    s.save();
    const r = StateStore.open(dir);
    expect(r.getTree('md5', '/w/data', '2:abc')).toBe(`${'a'.repeat(32)}.dir`);
    expect(r.getTree('md5', '/w/data', '2:abd')).toBeUndefined();
    expect(r.getTree('md5-dos2unix', '/w/data', '2:abc')).toBeUndefined();
    // The recorded fingerprint (whose file count is a hint for the next walk), none without a record.
    expect(r.treeFingerprint('md5', '/w/data')).toBe('2:abc');
    expect(r.treeFingerprint('md5', '/w/other')).toBeUndefined();
    expect(r.treeFingerprint('md5-dos2unix', '/w/data')).toBeUndefined();
    expect(fingerprintFileCount(r.treeFingerprint('md5', '/w/data'))).toBe(2);
    expect(fingerprintFileCount(r.treeFingerprint('md5', '/w/other'))).toBeUndefined();
    expect(r.isVerified('md5', '/c/aa/bb.dir', 'stamp-1')).toBe(true);
    expect(r.isVerified('md5', '/c/aa/bb.dir', 'stamp-2')).toBe(false);
  });

  it('appends records in blocks before save(), each readable on its own (bounded memory, crash-safe)', () => {
    const dir = tempDir();
    const s = StateStore.open(dir);
    for (let i = 0; i < 5000; i++) s.set('md5', `/w/${i}`, st(i, 1n, 1), 'e'.repeat(32));
    // not saved (a process killed here): the first block is already on disk, whole
    const early = StateStore.open(dir);
    expect(early.size).toBe(4096);
    expect(early.get('md5', '/w/4095', st(4095, 1n, 1))).toBe('e'.repeat(32));
    s.save();
    expect(StateStore.open(dir).size).toBe(5000);
  });

  it('starts afresh on an unknown log format', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'cpv-state.log'), 'something else\nmd5\t1\t1\t1\tx\t"/a"\t0\n');
    expect(StateStore.open(dir).size).toBe(0);
  });

  it('crc32 agrees with zlib', () => {
    const zcrc = (zlib as unknown as { crc32?: (s: string) => number }).crc32;
    expect(zcrc, 'node:zlib crc32 needed as the reference').toBeTypeOf('function');
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        (s) => crc32(s) === zcrc!(Buffer.from(s, 'utf8') as unknown as string),
      ),
    );
  });
});
