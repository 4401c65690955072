import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseValueText, quoteOneLine, quoteValue } from '../../src/dvcfile/config-value.js';

const read = (text: string) => parseValueText(text, [text], 0);

describe('config values: configobj quoting', () => {
  it('writes values the way configobj does', () => {
    expect(quoteValue('s3://bucket/path')).toBe('s3://bucket/path');
    expect(quoteValue('')).toBe('""');
    // a `"` alone needs no quotes (vector dvcfile-config-written: secret_access_key = abc"def)
    expect(quoteValue('abc"def')).toBe('abc"def');
    expect(quoteValue('reflink,hardlink')).toBe('"reflink,hardlink"');
    expect(quoteValue('id=a,id=b')).toBe('"id=a,id=b"');
    expect(quoteValue('a"b,c')).toBe(`'a"b,c'`);
    expect(quoteValue(' lead')).toBe('" lead"');
    expect(quoteValue('trail ')).toBe('"trail "');
    expect(quoteValue('a#b')).toBe('"a#b"');
    expect(quoteValue(`it's "x"`)).toBe(`"""it's "x""""`);
    expect(quoteValue('two\nlines')).toBe('"""two\nlines"""');
    expect(quoteValue(['reflink', 'copy'])).toBe('reflink, copy');
    expect(quoteValue(['one'])).toBe('one,');
    expect(quoteValue([])).toBe(',');
    expect(quoteOneLine('remote "storage"')).toBe(`'remote "storage"'`);
  });

  it('refuses what configobj cannot quote', () => {
    expect(() => quoteOneLine(`a'b"c,`)).toThrow(expect.objectContaining({ code: 'E_CONFIG_VALUE' }));
    expect(() => quoteOneLine('a\nb')).toThrow(expect.objectContaining({ code: 'E_CONFIG_VALUE' }));
    expect(() => quoteValue(`x'''y"""z`)).toThrow(expect.objectContaining({ code: 'E_CONFIG_VALUE' }));
  });

  it('reads values, lists, comments and triple quotes', () => {
    expect(read('plain value  # note')).toEqual({ value: 'plain value', comment: '# note', lastLine: 0 });
    expect(read('"a,b" # c')?.value).toBe('a,b');
    expect(read('reflink, copy')?.value).toEqual(['reflink', 'copy']);
    expect(read('"x, y", z,')?.value).toEqual(['x, y', 'z']);
    expect(read('one,')?.value).toEqual(['one']);
    expect(read(',')?.value).toEqual([]);
    expect(read('')?.value).toBe('');
    expect(read(`'it"s'`)?.value).toBe('it"s');
    expect(read('"""both \' and " """')?.value).toBe(`both ' and " `);
    expect(parseValueText('"""first', ['k = """first', 'second"""  # c'], 0)).toEqual({
      value: 'first\nsecond',
      comment: '# c',
      lastLine: 1,
    });
    expect(read('"unclosed')).toBeUndefined();
    expect(read('a,,b')).toBeUndefined();
    expect(parseValueText('"""never closed', ['"""never closed', 'more'], 0)).toBeUndefined();
  });

  it('reads back exactly what it writes (single-line values and lists)', () => {
    const text = fc.string({
      unit: fc.constantFrom('a', 'Z', '0', ' ', ',', '#', '"', "'", '=', '\t', 'é', '/'),
    });
    fc.assert(
      fc.property(text, (value) => {
        let written: string;
        try {
          written = quoteValue(value);
        } catch {
          return; // refused values are covered above
        }
        expect(read(written)?.value).toBe(value);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.array(
          text.filter((s) => s.trim() !== '' && !(s.includes('"') && s.includes("'"))),
          { minLength: 2 },
        ),
        (items) => {
          expect(read(quoteValue(items))?.value).toEqual(items);
        },
      ),
      { numRuns: 500 },
    );
  });
});
