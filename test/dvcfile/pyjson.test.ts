/**
 * pyJsonDumps must give the bytes of Python's `json.dumps(value, sort_keys=True)`. Expected texts
 * below were printed by CPython 3.11's `json.dumps`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCodePoints, pyJsonDumps, pyJsonString } from '../../src/dvcfile/pyjson.js';

describe('pyJsonString', () => {
  it.each([
    ['plain', '"plain"'],
    ['', '""'],
    ['back\\slash', '"back\\\\slash"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['tab\there', '"tab\\there"'],
    ['nl\ncr\rbs\bff\f', '"nl\\ncr\\rbs\\bff\\f"'],
    ['ctl\x00\x01\x1f', '"ctl\\u0000\\u0001\\u001f"'],
    ['del\x7f', '"del\\u007f"'],
    ['caf\u00e9', '"caf\\u00e9"'],
    ['cafe\u0301', '"cafe\\u0301"'],
    ['\uff01', '"\\uff01"'],
    ['\u{1f600}', '"\\ud83d\\ude00"'],
    ['\u2028', '"\\u2028"'],
    ['a/b', '"a/b"'],
    ['~ {}', '"~ {}"'],
    // A lone surrogate is escaped as itself, as Python does for such a str.
    ['\ud800', '"\\ud800"'],
  ])('%j → %s', (input, expected) => {
    expect(pyJsonString(input)).toBe(expected);
  });

  it('equals JSON.stringify with every char outside 0x20–0x7E escaped (property)', () => {
    const reference = (s: string) =>
      JSON.stringify(s).replace(
        /[\u007f-\uffff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(pyJsonString(s)).toBe(reference(s));
      }),
    );
  });
});

describe('pyJsonDumps', () => {
  it('sorts keys by code point and uses ", " / ": " separators', () => {
    const value = {
      b: 1,
      a: [1, 2.5, null, true, false],
      '\u00e9': {},
      '\u{1f600}': [],
      '\uff01': 'x',
      z: { y: [1, { k: 'v' }] },
    };
    expect(pyJsonDumps(value)).toBe(
      '{"a": [1, 2.5, null, true, false], "b": 1, "z": {"y": [1, {"k": "v"}]}, ' +
        '"\\u00e9": {}, "\\uff01": "x", "\\ud83d\\ude00": []}',
    );
  });

  it('keeps insertion order with sortKeys: false', () => {
    expect(pyJsonDumps({ b: 1, a: 2 }, { sortKeys: false })).toBe('{"b": 1, "a": 2}');
  });

  it('indents like json.dumps(indent=2) and indent=0', () => {
    const value = { b: 1, a: [1, { k: [], j: { x: null } }] };
    expect(pyJsonDumps(value, { sortKeys: false, indent: 2 })).toBe(
      '{\n  "b": 1,\n  "a": [\n    1,\n    {\n      "k": [],\n      "j": {\n        "x": null\n      }\n    }\n  ]\n}',
    );
    expect(pyJsonDumps(value, { sortKeys: false, indent: 0 })).toBe(
      '{\n"b": 1,\n"a": [\n1,\n{\n"k": [],\n"j": {\n"x": null\n}\n}\n]\n}',
    );
  });

  it.each([
    [[], '[]'],
    [{}, '{}'],
    [null, 'null'],
    [true, 'true'],
    [false, 'false'],
    [0, '0'],
    [-7, '-7'],
    [2 ** 53, '9007199254740992'],
    [1e21, '1000000000000000000000'],
    [12345678901234567890n, '12345678901234567890'],
    [0.5, '0.5'],
    [-0.25, '-0.25'],
    [1.5e-7, '1.5e-07'],
    [2.5e-5, '2.5e-05'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [0.001, '0.001'],
    [123.456, '123.456'],
    [1234567.891, '1234567.891'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1 / 3, '0.3333333333333333'],
    [5e-324, '5e-324'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [Number.NEGATIVE_INFINITY, '-Infinity'],
  ])('%s → %s', (value, expected) => {
    expect(pyJsonDumps(value)).toBe(expected);
  });

  it('leaves out undefined properties and refuses what Python cannot encode', () => {
    expect(pyJsonDumps({ a: 1, b: undefined })).toBe('{"a": 1}');
    expect(() => pyJsonDumps(undefined)).toThrow(TypeError);
    expect(() => pyJsonDumps([() => 1])).toThrow(/not JSON serializable/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => pyJsonDumps(cyclic)).toThrow(/Circular/);
  });

  it('encodes the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(pyJsonDumps([shared, shared])).toBe('[{"x": 1}, {"x": 1}]');
  });

  const jsonish = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'binary' }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value')),
      fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { noNullPrototype: true }),
    ),
  })).value;

  it('output parses back to the input and is pure ASCII (property)', () => {
    fc.assert(
      fc.property(jsonish, (value) => {
        const text = pyJsonDumps(value);
        expect(text).toMatch(/^[\x20-\x7e]*$/);
        expect(JSON.parse(text)).toEqual(value);
      }),
    );
  });

  it('prints floats that parse back to the same double (property)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        fc.pre(!Object.is(x, -0));
        const text = pyJsonDumps(x);
        expect(text).toMatch(/^-?\d+(\.\d+)?(e[+-]\d\d+)?$/);
        expect(JSON.parse(text)).toBe(x);
      }),
    );
  });
});

describe('compareCodePoints', () => {
  it('orders U+FF01 before U+1F600, unlike JS string comparison', () => {
    expect(compareCodePoints('\uff01.txt', '\u{1f600}.txt')).toBeLessThan(0);
    expect(compareCodePoints('\u{1f600}.txt', '\uff01.txt')).toBeGreaterThan(0);
    expect('\u{1f600}.txt' < '\uff01.txt').toBe(true); // why the function exists
  });

  it.each([
    ['a', 'a', 0],
    ['a', 'b', -1],
    ['a', 'a0', -1],
    ['a-b', 'a.txt', -1],
    ['a.txt', 'a/b', -1],
    ['a/c/d', 'a0', -1],
    ['\u{10000}', '\u{10001}', -1],
    ['\ue000', '\u{10000}', -1],
    ['x\u{1f600}', 'x\uffff', 1],
    ['\ud800', '\u{10000}', -1], // lone high surrogate U+D800 < U+10000
    ['\udc00', '\u{10000}', -1],
  ])('%j vs %j → sign %d', (a, b, sign) => {
    expect(Math.sign(compareCodePoints(a, b))).toBe(sign);
    expect(Math.sign(compareCodePoints(b, a))).toBe(sign === 0 ? 0 : -sign);
  });

  it('agrees with comparing UTF-8 bytes (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const bytes = Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
        expect(Math.sign(compareCodePoints(a, b))).toBe(bytes);
      }),
    );
  });
});
