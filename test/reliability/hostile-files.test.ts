/**
 * Hostile input to every parser of repository files: random bytes, random mutations of texts real
 * DVC wrote, and hand-made attacks. A parser either returns or throws a CpvError naming the
 * file; it never crashes with a raw exception, and never takes long (no catastrophic regexes, no
 * alias bombs).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/dvcfile/config.js';
import { DvcFile } from '../../src/dvcfile/dvcfile.js';
import { DvcLock, DvcYaml } from '../../src/dvcfile/lockfile.js';
import { parseManifest } from '../../src/dvcfile/manifest.js';
import { CpvError } from '../../src/errors.js';
import { dvcWrittenTexts } from '../dvcfile/dvc-texts.js';
import { record } from './tally.js';

const RUNS = Number(process.env.CPV_FUZZ_RUNS ?? 400);
/**
 * A hang detector, not a speed target: a parse may take 1 s plus 1 ms per KiB (a loaded CI machine
 * stays far below); the blow-ups this guards against take minutes or kill the process.
 */
const slowMs = (text: string) => 1000 + text.length / 1024;

let cases = 0;
let failures = 0;
afterAll(() => record('hostile files', { cases, failures }));

type Parser = (text: string) => unknown;

const PARSERS: Record<string, Parser> = {
  '.dvc': (t) => DvcFile.parse(t, 'fuzz.dvc'),
  'dvc.yaml': (t) => DvcYaml.parse(t, 'dvc.yaml'),
  'dvc.lock': (t) => DvcLock.parse(t, 'dvc.lock'),
  '.dir': (t) => parseManifest(t, 'fuzz.dir'),
  '.dvc/config': (t) => parseConfig(t, '.dvc/config'),
};

/** Runs a parser on hostile text: a result or a CpvError, quickly. */
function expectContained(parse: Parser, text: string): void {
  cases++;
  const t0 = performance.now();
  try {
    parse(text);
  } catch (err) {
    if (!(err instanceof CpvError)) {
      failures++;
      throw new Error(
        `raw ${(err as Error)?.name}: ${(err as Error)?.message} on ${JSON.stringify(text.slice(0, 200))}`,
      );
    }
    expect(err.message).not.toContain('\n');
  }
  const ms = performance.now() - t0;
  if (ms > slowMs(text)) failures++;
  expect(ms, `parse took ${ms.toFixed(0)} ms`).toBeLessThan(slowMs(text));
}

const seeds = dvcWrittenTexts().map((t) => t.text);
const manifestSeeds = [
  '[{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "a"}]',
  '[{"md5": "900150983cd24fb0d6963f7d28e17f72", "relpath": "d/b.txt"}, {"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "e"}]',
];
const configSeeds = [
  '[core]\n    remote = storage\n[\'remote "storage"\']\n    url = s3://bucket/path\n    endpointurl = http://localhost:9000\n',
  '[cache]\n    type = reflink,copy\n    dir = ../cache\n',
];

/** A text with a few random edits: byte flips, cuts, duplicated slices, inserted specials. */
const mutated = (pool: string[]) =>
  fc
    .tuple(
      fc.constantFrom(...pool),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.nat(),
          fc.constantFrom(
            '\u0000',
            '\n',
            ':',
            '"',
            "'",
            '[',
            ']',
            '{',
            '}',
            '&a',
            '*a',
            '!!',
            '- ',
            '\\',
            '../',
            '\uFFFF',
          ),
          fc.integer({ min: 0, max: 3 }),
        ),
        { minLength: 1, maxLength: 6 },
      ),
    )
    .map(([seed, edits]) => {
      let s = seed;
      for (const [at, len, insert, kind] of edits) {
        const i = s.length === 0 ? 0 : at % s.length;
        if (kind === 0) s = s.slice(0, i) + insert + s.slice(i);
        else if (kind === 1) s = s.slice(0, i) + s.slice(i + (len % 16));
        else if (kind === 2) s = s.slice(0, i) + s.slice(i, i + (len % 64)).repeat(2) + s.slice(i);
        else s = s.slice(0, i);
      }
      return s;
    });

describe('parsers under random and mutated input', () => {
  for (const [name, parse] of Object.entries(PARSERS)) {
    it(`${name}: random text`, () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (text) => expectContained(parse, text)),
        { numRuns: RUNS },
      );
    });
    const pool = name === '.dir' ? manifestSeeds : name === '.dvc/config' ? configSeeds : seeds;
    it(`${name}: mutations of real files`, () => {
      fc.assert(
        fc.property(mutated(pool), (text) => expectContained(parse, text)),
        { numRuns: RUNS },
      );
    });
  }
});

describe('hand-made attacks', () => {
  const billionLaughs = [
    'a: &a ["x","x","x","x","x","x","x","x","x"]',
    ...Array.from({ length: 9 }, (_, i) => {
      const p = String.fromCharCode(97 + i);
      const n = String.fromCharCode(98 + i);
      return `${n}: &${n} [*${p},*${p},*${p},*${p},*${p},*${p},*${p},*${p},*${p}]`;
    }),
    'outs:\n- path: x\n  md5: *j',
  ].join('\n');

  it.each([
    ['a YAML alias bomb', billionLaughs],
    ['a deeply nested document', `${'['.repeat(50_000)}${']'.repeat(50_000)}`],
    ['deep block nesting', Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}- a`).join('\n')],
    ['a 5 MiB single line', `outs:\n- path: ${'a'.repeat(5 << 20)}\n`],
    ['NUL bytes in keys', 'outs:\n- pa\u0000th: x\n  md5: 00\n'],
    ['a custom tag', 'outs: !!js/function "function(){}"\n'],
  ])('.dvc / dvc.lock: %s is refused or parsed, never hangs', (_name, text) => {
    expectContained(PARSERS['.dvc']!, text);
    expectContained(PARSERS['dvc.lock']!, text);
  });

  const entry = (relpath: string) =>
    `{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": ${JSON.stringify(relpath)}}`;
  it.each([
    ['a parent-directory escape', '../../etc/passwd'],
    ['an escape in the middle', 'a/../../b'],
    ['an absolute path', '/etc/passwd'],
    ['a NUL byte', 'a\u0000b'],
    ['an empty name', ''],
  ])('.dir: %s is refused', (_name, relpath) => {
    cases++;
    expect(() => parseManifest(`[${entry(relpath)}]`, 'x.dir')).toThrow(CpvError);
  });

  it('.dir: duplicate entries are refused', () => {
    cases++;
    expect(() => parseManifest(`[${entry('a')}, ${entry('a')}]`, 'x.dir')).toThrow(CpvError);
  });

  it('.dir: 200,000 entries parse in bounded time', () => {
    const big = `[${Array.from({ length: 200_000 }, (_, i) => entry(`f${String(i).padStart(6, '0')}`)).join(', ')}]`;
    cases++;
    const t0 = performance.now();
    expect(parseManifest(big, 'big.dir')).toHaveLength(200_000);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});
