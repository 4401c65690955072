import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DvcFile, type DvcOutput, type OutputHash } from '../../src/dvcfile/dvcfile.js';
import { loadYaml, renderYaml } from '../../src/dvcfile/yaml-style.js';

const hexDigit = fc.constantFrom(...'0123456789abcdef');
const digit = fc.constantFrom(...'0123456789');

/** 32-hex md5s, with the YAML traps over-represented: all digits, and `<digits>e<digits>`. */
const md5 = fc.oneof(
  fc.string({ unit: hexDigit, minLength: 32, maxLength: 32 }),
  fc.string({ unit: digit, minLength: 32, maxLength: 32 }),
  fc
    .tuple(fc.integer({ min: 1, max: 30 }), fc.string({ unit: digit, minLength: 31, maxLength: 31 }))
    .map(([at, digits]) => `${digits.slice(0, at)}e${digits.slice(at)}`),
);
const oid = fc.tuple(md5, fc.boolean()).map(([m, dir]) => (dir ? `${m}.dir` : m));

const YAML_TRAPS = [
  '123',
  '1e3',
  '0x1F',
  'null',
  'true',
  '.inf',
  '1_000',
  '#hash',
  '- dash',
  '@at',
  '*star',
  '%pct',
  '!bang',
  '[br]',
  'a: b',
  'yes',
  'on',
  "it's",
  'q?',
  'dir with space',
  '12:30',
  'café',
  '日本',
  '',
  '~',
  ' lead',
  'trail ',
  '---',
  '...',
  '.5e3',
  '2024-01-01',
  '=',
  '<<',
  '"dq"',
  "'sq'",
  'a #b',
  'end:',
  '\t',
  'x\ny',
  '\\',
  '-',
  '?',
  ':',
];
const trickyChar = fc.constantFrom(
  ...' abc:#-\'"?[]{},&*!|>%@`\t\n\r/.é😀\u0085\u2028\ufeff\x01\x7f0123456789eE_x',
);

/** Paths: anything unicode, YAML-special spellings, and long word salads that must fold. */
const outPath = fc.oneof(
  fc.constantFrom(...YAML_TRAPS),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: trickyChar, maxLength: 40 }),
  // 12+ tokens: long enough to fold in each of the three styles.
  fc
    .array(fc.constantFrom('word', 'a:', '#x', "it's", 'x y', '  ', 'data/file.csv', 'é', '\t'), {
      minLength: 12,
      maxLength: 40,
    })
    .map((w) => w.join(' ')),
);

/** An output as DVC writes it after `add` (isexec only when true, nfiles only for dirs). */
const output: fc.Arbitrary<DvcOutput> = fc
  .record({
    path: outPath,
    md5: oid,
    size: fc.maxSafeNat(),
    nfiles: fc.option(fc.nat(), { nil: undefined }),
    isexec: fc.constantFrom(true, undefined),
  })
  .map(({ path, md5: m, size, nfiles, isexec }) => {
    const out: DvcOutput = { md5: m, size, hash: 'md5', path };
    if (nfiles !== undefined) out.nfiles = nfiles;
    if (isexec) out.isexec = true;
    return out;
  });

const outputs = fc.array(output, { minLength: 1, maxLength: 3 });

const newHash: fc.Arbitrary<OutputHash> = fc.record({
  md5: oid,
  size: fc.maxSafeNat(),
  nfiles: fc.option(fc.nat(), { nil: undefined }),
  isexec: fc.option(fc.boolean(), { nil: undefined }),
  hashName: fc.constantFrom('md5' as const, 'md5-dos2unix' as const),
});

describe('property: .dvc write/read', () => {
  it('create → parse gives back the same outputs', () => {
    fc.assert(
      fc.property(outputs, (outs) => {
        const text = DvcFile.create(outs).toString();
        expect(DvcFile.parse(text, 'p.dvc').outs).toEqual(outs);
      }),
      { numRuns: 300 },
    );
  });

  it('parse(toString(x)).toString() is the identity, and re-rendering the parsed text changes nothing', () => {
    fc.assert(
      fc.property(outputs, (outs) => {
        const text = DvcFile.create(outs).toString();
        expect(DvcFile.parse(text, 'p.dvc').toString()).toBe(text);
        expect(renderYaml(loadYaml(text, 'p.dvc').doc)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('setOutputHash on a parsed file records exactly the new values and leaves other outputs alone', () => {
    fc.assert(
      fc.property(outputs, newHash, fc.nat(), (outs, hash, pick) => {
        const index = pick % outs.length;
        const file = DvcFile.parse(DvcFile.create(outs).toString(), 'p.dvc');
        file.setOutputHash(index, hash);
        const back = DvcFile.parse(file.toString(), 'p.dvc').outs;
        const expected: DvcOutput = { path: outs[index]!.path, md5: hash.md5, size: hash.size };
        if (hash.nfiles !== undefined) expected.nfiles = hash.nfiles;
        if (hash.isexec === true) expected.isexec = true;
        if (hash.hashName === 'md5') expected.hash = 'md5';
        expect(back[index]).toEqual(expected);
        back.forEach((out, i) => {
          if (i !== index) expect(out).toEqual(outs[i]);
        });
      }),
      { numRuns: 200 },
    );
  });
});
