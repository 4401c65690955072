import { describe, expect, it } from 'vitest';
import {
  chooseScalarStyle,
  loadYaml,
  newYamlDocument,
  renderScalar,
  renderYaml,
  resolvesToNonString,
} from '../../src/dvcfile/yaml-style.js';
import { isCpvError } from '../../src/errors.js';
import { loadVectors } from '../helpers/vectors.js';
import { dvcWrittenTexts } from './dvc-texts.js';

/** `key: <value>` as DVC writes it, and the value read back. */
function roundTrip(value: string): { text: string; back: unknown } {
  const text = renderYaml(newYamlDocument({ path: value }));
  const back = loadYaml(text, 't.yaml').doc.toJS() as { path: unknown };
  return { text, back: back.path };
}

describe('scalar quoting (dvc-compat §1.7)', () => {
  // The observed table: strings YAML 1.2 would load as non-strings, and indicator-led strings.
  const quoted = ['123', '1e3', '0x1F', 'null', 'true', '.inf', '1_000', '#hash', '- dash', '@at', '*star'];
  const quoted2 = [
    '%pct',
    '!bang',
    '[br]',
    'a: b',
    '',
    '~',
    'NULL',
    'False',
    '-1',
    '+1',
    '1.',
    '.5',
    '0o17',
    '0b101',
  ];
  const quoted3 = [
    '2024-01-01',
    '=',
    '<<',
    '&',
    '`tick',
    '|pipe',
    '>gt',
    '{brace',
    ',comma',
    'x #y',
    'end:',
    ' lead',
    'trail ',
  ];
  it.each([...quoted, ...quoted2, ...quoted3])('single-quotes %j and reads it back', (value) => {
    const { text, back } = roundTrip(value);
    expect(text).toBe(`path: '${value}'\n`);
    expect(back).toBe(value);
  });

  const plain = [
    'yes',
    'on',
    'no',
    'off',
    "it's",
    'q?',
    'dir with space',
    '12:30',
    'café.txt',
    '日本',
    'emoji😀.txt',
  ];
  const plain2 = ['a:b', 'x#y', '-x', ':x', '?x', 'data/raw/train.csv', '.5e3', '_x', 'Yes', '0x', 'a,b'];
  it.each([...plain, ...plain2])('leaves %j plain and reads it back', (value) => {
    const { text, back } = roundTrip(value);
    expect(text).toBe(`path: ${value}\n`);
    expect(back).toBe(value);
  });

  it.each([
    ["'lead quote", `"'lead quote"`], // a quote inside: ruamel prefers double quotes
    ["#it's", `"#it's"`],
    ['tab\tname.txt', '"tab\\tname.txt"'],
    ['line\nbreak', '"line\\nbreak"'],
    ['bell\x07', '"bell\\a"'],
    ['del\x7f', '"del\\x7F"'],
    ['nel\x85', '"nel\\N"'],
    ['ls\u2028', '"ls\\L"'],
    ['bom\ufeff', '"bom\\uFEFF"'],
    ['tab and emoji\t😀', '"tab and emoji\\t\\U0001F600"'], // ruamel escapes astral chars in "..."
    ['back\\slash\t', '"back\\\\slash\\t"'],
  ])('double-quotes %j as %s', (value, rendered) => {
    const { text, back } = roundTrip(value);
    expect(text).toBe(`path: ${rendered}\n`);
    expect(back).toBe(value);
  });

  it('quotes md5 values that look numeric and reads them back as strings', () => {
    for (const md5 of [
      '00000000000000000000000000000000',
      '12345678901234567890123456789012',
      '0e123456789012345678901234567890',
    ]) {
      const { text, back } = roundTrip(md5);
      expect(text).toBe(`path: '${md5}'\n`);
      expect(back).toBe(md5);
    }
    expect(roundTrip('acbd18db4cc2f85cedef654fccc4a4d8').text).toBe(
      'path: acbd18db4cc2f85cedef654fccc4a4d8\n',
    );
  });

  it('applies the same rules to mapping keys, without folding', () => {
    const text = renderYaml(newYamlDocument({ '123': 1, yes: 2, 'a: b': 3, [`${'k'.repeat(90)} x`]: 4 }));
    expect(text).toBe(`'123': 1\nyes: 2\n'a: b': 3\n${'k'.repeat(90)} x: 4\n`);
  });

  it('knows the resolver edge cases', () => {
    expect(resolvesToNonString('1_000')).toBe(true); // ruamel ints take underscores
    expect(resolvesToNonString('0755')).toBe(true);
    expect(resolvesToNonString('.5e3')).toBe(false); // exponent without sign after a leading dot
    expect(resolvesToNonString('yes')).toBe(false); // YAML 1.1 only
    expect(chooseScalarStyle('', { key: true })).toBe('single');
    expect(chooseScalarStyle('a, b', { flow: true })).toBe('single');
    expect(chooseScalarStyle('a, b')).toBe('plain');
  });
});

describe('folding long scalars at 80 columns', () => {
  const lockRepro = loadVectors().find((v) => v.id === 'dvcfile-lock-repro')!;
  const command = (lockRepro as unknown as { command: string }).command;

  it('folds a double-quoted command exactly like DVC (trailing \\, escaped leading space)', () => {
    const rendered = renderYaml(newYamlDocument({ stages: { prep: { cmd: command } } }));
    const expected = (lockRepro.expect['dvc.yaml'] as string).split('\n    deps:')[0];
    expect(rendered).toBe(`${expected}\n`);
    expect(
      (loadYaml(rendered, 'dvc.yaml').doc.toJS() as { stages: { prep: { cmd: string } } }).stages.prep.cmd,
    ).toBe(command);
  });

  it('folds long plain and single-quoted scalars at a space once past the width', () => {
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const plain = renderScalar(words, 'plain', { column: 6, indent: 2, split: true });
    expect(plain.split('\n').map((l) => l.length)).toEqual([80, 85, 36]); // past col 80, then break at the next space;
    expect(plain.split('\n')[1]?.startsWith('  word')).toBe(true);
    const single = renderScalar(`#${words}`, 'single', { column: 6, indent: 2, split: true });
    expect(single.startsWith("'#word0 ")).toBe(true);
    expect(single.split('\n')).toHaveLength(3);
    for (const [style, text] of [
      ['plain', words],
      ['single', `#${words}`],
    ] as const) {
      const doc = renderYaml(newYamlDocument({ desc: text }));
      expect(doc).toContain('\n  ');
      expect((loadYaml(doc, 'x').doc.toJS() as { desc: string }).desc).toBe(text);
      expect(chooseScalarStyle(text)).toBe(style);
    }
  });

  it('does not fold when splitting is off (keys)', () => {
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    expect(renderScalar(words, 'plain', { column: 0, indent: 2, split: false })).toBe(words);
  });
});

describe('re-rendering DVC-written files', () => {
  const texts = dvcWrittenTexts();

  it('has texts of every kind to check', () => {
    const kinds = new Set(texts.map((t) => t.kind));
    expect([...kinds].sort()).toEqual(['dvc', 'dvc.lock', 'dvc.yaml', 'run-cache']);
    expect(texts.length).toBeGreaterThan(15);
  });

  it.each(texts.map((t) => [t.name, t.text]))('%s renders back byte for byte', (_name, text) => {
    expect(renderYaml(loadYaml(text, 'x').doc)).toBe(text);
  });
});

describe('loadYaml errors', () => {
  it.each([
    ['outs:\n- path: a\n  size: x: 1\n', 3],
    ['a: 1\na: 2\n', 2],
    ['a: b: c\n', 1],
    ['outs:\n\t- path: x\n', 2],
    ['a: 1\n---\nb: 2\n', 2],
  ])('reports %j as E_DVCFILE_PARSE with its line', (text, line) => {
    try {
      loadYaml(text, 'dir/data.dvc');
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(isCpvError(err) && err.code).toBe('E_DVCFILE_PARSE');
      expect((err as Error).message).toMatch(new RegExp(`^dir/data\\.dvc:${line}: invalid YAML: \\S`));
    }
  });
});

describe('loadYaml refuses shapes that blow up the parser', () => {
  const code = (text: string) => {
    try {
      loadYaml(text, 'x.dvc');
      return 'parsed';
    } catch (err) {
      return isCpvError(err) ? `${err.code} ${err.message}` : 'raw';
    }
  };

  it('flow nesting: 256 levels parse, 257 are refused with the line', () => {
    expect(code(`a: ${'['.repeat(256)}${']'.repeat(256)}`)).toBe('parsed');
    expect(code(`a: 1\nb: ${'{'.repeat(257)}`)).toBe(
      'E_DVCFILE_PARSE x.dvc:2: invalid YAML: nested deeper than 256 levels',
    );
  });

  it('indentation: 1024 columns parse, 1025 are refused; closing brackets never go negative', () => {
    expect(code(`a:\n${' '.repeat(1024)}b: 1\n`)).toBe('parsed');
    expect(code(`a:\n${' '.repeat(1025)}b: 1\n`)).toMatch(/^E_DVCFILE_PARSE x\.dvc:2: .*1024 columns$/);
    expect(code(`a: "${']'.repeat(300)}${'['.repeat(200)}"`)).toBe('parsed');
  });
});
