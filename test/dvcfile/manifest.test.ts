/**
 * `.dir` manifests: exact bytes and oids against what DVC wrote (vectors.json, the basic fixture
 * repo), ordering, escapes, and reading old or damaged manifests.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ManifestEntry,
  manifestOid,
  parseManifest,
  serializeManifest,
  sortManifestEntries,
} from '../../src/dvcfile/manifest.js';
import { isCpvError } from '../../src/errors.js';
import { FIXTURES, loadVectors } from '../helpers/vectors.js';

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

/** Fisher–Yates with a fixed seed, so "any order in" is exercised without flaky tests. */
function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const dirVectors = loadVectors().filter((v) => v.kind === 'dir' && typeof v.expect.dir_json === 'string');

describe('manifests recorded from DVC', () => {
  it('has dir vectors with manifest texts to check', () => {
    expect(dirVectors.length).toBeGreaterThanOrEqual(6);
  });

  it.each(dirVectors.map((v) => [v.id, v] as const))(
    '%s: parse → serialize gives the same bytes and oid',
    (_id, v) => {
      const text = v.expect.dir_json as string;
      const entries = parseManifest(text, v.id);
      expect(serializeManifest(shuffled(entries))).toBe(text);
      expect(manifestOid(text)).toBe(v.expect.dir_hash);
      if (v.expect.file_hashes !== undefined) {
        expect(Object.fromEntries(entries.map((e) => [e.relpath, e.md5]))).toEqual(v.expect.file_hashes);
      }
    },
  );

  it('basic fixture: the data/ manifest DVC stored round-trips to its cache oid', () => {
    const json = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'repos', 'basic.json'), 'utf8')) as {
      dir_manifests: Record<string, string>;
    };
    const manifests = Object.entries(json.dir_manifests);
    expect(manifests.length).toBeGreaterThan(0);
    for (const [cachePath, text] of manifests) {
      const oid = cachePath.split('/').slice(-2).join('');
      expect(manifestOid(text)).toBe(oid);
      const entries = parseManifest(text, cachePath);
      expect(entries.map((e) => e.relpath)).toContain('caf\u00e9.txt');
      expect(entries.map((e) => e.relpath)).toContain('emoji\u{1f600}.txt');
      expect(serializeManifest(shuffled(entries, 3))).toBe(text);
    }
  });
});

describe('serializeManifest', () => {
  it('empty directory → [] with the well-known oid', () => {
    expect(serializeManifest([])).toBe('[]');
    expect(manifestOid('[]')).toBe('d751713988987e9331980363e24189ce.dir');
  });

  it('orders by the whole relpath string, not by path components', () => {
    const order = ['a-b', 'a.txt', 'a/b', 'a/c/d', 'a0'];
    const entries = shuffled(order).map((relpath) => ({ md5: md5(relpath), relpath }));
    const text = serializeManifest(entries);
    expect(parseManifest(text, 'test').map((e) => e.relpath)).toEqual(order);
    expect(text.startsWith(`[{"md5": "${md5('a-b')}", "relpath": "a-b"}, `)).toBe(true);
  });

  it('escapes like Python and orders by code point (expected text from CPython json.dumps)', () => {
    const names = [
      'back\\slash.txt',
      'quote"s.txt',
      'tab\tname.txt',
      'del\x7fname.txt',
      'emoji\u{1f600}.txt',
      '\uff01.txt',
      '\u{1f600}.txt',
      'caf\u00e9.txt',
      'cafe\u0301.txt',
      'new\nline.txt',
      'ctl\x01\x1f.txt',
      'slash/and space.txt',
      'cr\r.txt',
      'bs\b.txt',
      'ff\f.txt',
      'ls\u2028.txt',
    ];
    const text = serializeManifest(names.map((relpath) => ({ md5: md5(relpath), relpath })));
    expect(text).toBe(ESCAPES_MANIFEST);
    expect(manifestOid(text)).toBe('d52ca3f26516ae4a56870e4d60148a52.dir');
  });

  it('keeps NFC and NFD spellings as two entries, NFD first (e < é)', () => {
    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    expect(nfc.normalize('NFD')).toBe(nfd);
    const text = serializeManifest([
      { md5: md5('nfc'), relpath: nfc },
      { md5: md5('nfd'), relpath: nfd },
    ]);
    expect(text).toBe(
      `[{"md5": "${md5('nfd')}", "relpath": "cafe\\u0301.txt"}, {"md5": "${md5('nfc')}", "relpath": "caf\\u00e9.txt"}]`,
    );
  });

  it('writes only md5 and relpath, whatever else the entries carry', () => {
    const entry = { md5: md5('x'), relpath: 'x', size: 1, isexec: true } as ManifestEntry;
    expect(serializeManifest([entry])).toBe(`[{"md5": "${md5('x')}", "relpath": "x"}]`);
  });
});

describe('parseManifest', () => {
  const good = md5('a');

  it('reads legacy entries with extra keys, keeping md5 and relpath only', () => {
    const text = `[{"md5": "${good}", "relpath": "a", "size": 1, "isexec": false, "mtime": 1.5}]`;
    expect(parseManifest(text, 'old.dir')).toEqual([{ md5: good, relpath: 'a' }]);
  });

  it('decodes \\u escapes and surrogate pairs back to the names', () => {
    const text = `[{"md5": "${good}", "relpath": "caf\\u00e9/\\ud83d\\ude00\\t.txt"}]`;
    expect(parseManifest(text, 'x')[0]!.relpath).toBe('caf\u00e9/\u{1f600}\t.txt');
  });

  it.each([
    ['not JSON', '[{"md5": ', /not valid JSON/],
    ['not a list', '{"md5": "x"}', /expected a JSON list/],
    ['entry not an object', '["a"]', /entry 0 is not an object/],
    ['missing md5', '[{"relpath": "a"}]', /'md5'/],
    ['md5 not hex', '[{"md5": "zz", "relpath": "a"}]', /'md5'/],
    ['md5 upper case', `[{"md5": "${good.toUpperCase()}", "relpath": "a"}]`, /'md5'/],
    ['relpath not a string', `[{"md5": "${good}", "relpath": 3}]`, /bad relpath/],
    ['empty relpath', `[{"md5": "${good}", "relpath": ""}]`, /bad relpath/],
    ['absolute relpath', `[{"md5": "${good}", "relpath": "/etc/passwd"}]`, /bad relpath/],
    ['.. in relpath', `[{"md5": "${good}", "relpath": "a/../../x"}]`, /bad relpath/],
    ['empty component', `[{"md5": "${good}", "relpath": "a//b"}]`, /bad relpath/],
    ['NUL in relpath', `[{"md5": "${good}", "relpath": "a\\u0000b"}]`, /bad relpath/],
    [
      'duplicate relpath',
      `[{"md5": "${good}", "relpath": "a"}, {"md5": "${good}", "relpath": "a"}]`,
      /duplicate/,
    ],
  ])('%s → E_MANIFEST naming the source', (_name, text, detail) => {
    let caught: unknown;
    try {
      parseManifest(text, '.dvc/cache/files/md5/ab/cdef.dir');
    } catch (err) {
      caught = err;
    }
    expect(isCpvError(caught) && caught.code).toBe('E_MANIFEST');
    expect((caught as Error).message).toContain('.dvc/cache/files/md5/ab/cdef.dir');
    expect((caught as Error).message).toMatch(detail);
  });

  it('accepts a backslash as an ordinary name character', () => {
    expect(parseManifest(`[{"md5": "${good}", "relpath": "back\\\\slash"}]`, 'x')[0]!.relpath).toBe(
      'back\\slash',
    );
  });
});

describe('manifest properties', () => {
  const component = fc
    .string({ unit: 'binary', minLength: 1, maxLength: 6 })
    .filter((s) => !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..');
  const md5Hex = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
  const relpath = fc.array(component, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
  const entries = fc
    .uniqueArray(relpath, { maxLength: 20 })
    .chain((paths) =>
      fc
        .tuple(...paths.map(() => md5Hex))
        .map((md5s) => paths.map((p, i) => ({ md5: md5s[i]!, relpath: p }))),
    );
  const utf8Order = (a: ManifestEntry, b: ManifestEntry) =>
    Buffer.compare(Buffer.from(a.relpath, 'utf8'), Buffer.from(b.relpath, 'utf8'));

  it('serialize → parse → serialize is the identity, in code-point order, pure ASCII', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const text = serializeManifest(list);
        expect(text).toMatch(/^[\x20-\x7e]*$/);
        const parsed = parseManifest(text, 'prop');
        expect(serializeManifest(parsed)).toBe(text);
        expect(parsed).toEqual([...list].sort(utf8Order));
        expect(sortManifestEntries(list)).toEqual(parsed);
      }),
    );
  });
});

/** CPython: json.dumps(sorted(entries, key=relpath), sort_keys=True) for the escape names above. */
const ESCAPES_MANIFEST =
  '[{"md5": "556384e060b87d26b0a778287ebea915", "relpath": "back\\\\slash.txt"}, ' +
  '{"md5": "c8b4168571c613830b48b387187ddb96", "relpath": "bs\\b.txt"}, ' +
  '{"md5": "c72e865204ac5d75af4388dd17831e1b", "relpath": "cafe\\u0301.txt"}, ' +
  '{"md5": "24e53dd4b8c8294311d0fd77280f1104", "relpath": "caf\\u00e9.txt"}, ' +
  '{"md5": "8eabb017c38bb4500eb1a7ed6a616209", "relpath": "cr\\r.txt"}, ' +
  '{"md5": "70cd13039d677013cf241105a5b9b372", "relpath": "ctl\\u0001\\u001f.txt"}, ' +
  '{"md5": "d6a45febe81506474fd4b10bb7a2cedd", "relpath": "del\\u007fname.txt"}, ' +
  '{"md5": "70ff76f4a9695468d8204c903325c780", "relpath": "emoji\\ud83d\\ude00.txt"}, ' +
  '{"md5": "5192018009d98c696d17cb09cd19f553", "relpath": "ff\\f.txt"}, ' +
  '{"md5": "e5aa9405348ed392bb81a0aff017ee3c", "relpath": "ls\\u2028.txt"}, ' +
  '{"md5": "4e6b75013d1e6d71caace4bf2c80d63b", "relpath": "new\\nline.txt"}, ' +
  '{"md5": "ebbc7bde324a13330d3c25aff7e3f391", "relpath": "quote\\"s.txt"}, ' +
  '{"md5": "14dd435d6aa007557bc8505679e7ed1d", "relpath": "slash/and space.txt"}, ' +
  '{"md5": "7c262ef3f753a5132fbddbba70f1ac80", "relpath": "tab\\tname.txt"}, ' +
  '{"md5": "2c4d383ef62037b1e1ecb8e95f92f86f", "relpath": "\\uff01.txt"}, ' +
  '{"md5": "dd397e3295dec429798105985b90d317", "relpath": "\\ud83d\\ude00.txt"}]';

describe('relpath safety', () => {
  /** The rule stated plainly: no NUL, and no empty, `.` or `..` component. */
  const safe = (r: string) =>
    !r.includes('\0') && r.split('/').every((p) => p !== '' && p !== '.' && p !== '..');
  const accepts = (relpath: string) => {
    try {
      parseManifest(JSON.stringify([{ md5: 'a'.repeat(32), relpath }]), 'test');
      return true;
    } catch {
      return false;
    }
  };
  it('accepts exactly the relpaths with no empty, `.` or `..` component and no NUL', () => {
    const relpath = fc.string({ unit: fc.constantFrom('a', '.', '/', '\0', 'é'), maxLength: 8 });
    fc.assert(
      fc.property(relpath, (r) => accepts(r) === safe(r)),
      { numRuns: 5000 },
    );
  });
});
