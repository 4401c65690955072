import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  computeStageMd5,
  DvcFile,
  type DvcOutput,
  hashNameOf,
  readDvcFile,
  writeDvcFile,
} from '../../src/dvcfile/dvcfile.js';
import { type CpvErrorCode, isCpvError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { loadVectors, type Vector } from '../helpers/vectors.js';
import { dvcWrittenTexts } from './dvc-texts.js';

const vectors = loadVectors();
const vector = (id: string): Vector => vectors.find((v) => v.id === id)!;

/** The output a `file`/`dir` vector's `.dvc` file records. */
function expectedOutput(v: Vector): DvcOutput {
  const e = v.expect;
  const out: DvcOutput = { path: path.basename(v.target!), hash: 'md5' };
  out.md5 = (e.dir_hash ?? e.md5) as string;
  out.size = e.size as number;
  if (e.nfiles !== undefined) out.nfiles = e.nfiles as number;
  if (e.isexec === true) out.isexec = true;
  return out;
}

describe('a fresh .dvc file is byte-identical to DVC', () => {
  const addVectors = vectors.filter(
    (v) => v.kind !== 'dvcfile' && typeof v.expect.dvc_file_text === 'string',
  );

  it('covers files, an executable, directories and an empty directory', () => {
    expect(addVectors.map((v) => v.id)).toEqual(
      expect.arrayContaining(['file-foo', 'file-executable', 'dir-foo-bar', 'dir-empty']),
    );
  });

  it.each(addVectors.map((v) => [v.id, v]))('%s: DvcFile.create', (_id, v) => {
    expect(DvcFile.create([expectedOutput(v)]).toString()).toBe(v.expect.dvc_file_text);
  });

  it.each(addVectors.map((v) => [v.id, v]))('%s: create from the path, then setOutputHash', (_id, v) => {
    const out = expectedOutput(v);
    const file = DvcFile.create([{ path: out.path }]);
    file.setOutputHash(0, {
      md5: out.md5!,
      size: out.size!,
      nfiles: out.nfiles,
      isexec: out.isexec,
      hashName: 'md5',
    });
    expect(file.toString()).toBe(v.expect.dvc_file_text);
  });

  it('writes an import stage in DVC order (md5, frozen, deps with repo, outs)', () => {
    const file = DvcFile.create(
      [{ md5: '6dbda444875c24ec1bbdb433456be11f', size: 11, hash: 'md5', path: 'foo_imp' }],
      {
        deps: [
          {
            path: 'foo',
            repo: { url: '/path/to/other-repo', rev_lock: 'edd159e14daea0f7659581e5a4058dbf276bb396' },
          },
        ],
        frozen: true,
      },
    );
    file.setStageMd5(file.computeStageMd5());
    expect(file.toString()).toBe(
      'md5: 5c51dda7102854680f55d90a41eef709\nfrozen: true\ndeps:\n- path: foo\n  repo:\n    url: /path/to/other-repo\n' +
        '    rev_lock: edd159e14daea0f7659581e5a4058dbf276bb396\nouts:\n- md5: 6dbda444875c24ec1bbdb433456be11f\n' +
        '  size: 11\n  hash: md5\n  path: foo_imp\n',
    );
  });

  it('orders every out key as Output.dumpd does and drops default flags', () => {
    const out: DvcOutput = {
      push: false,
      remote: 'r',
      persist: true,
      cache: false,
      meta: { k: 'v' },
      labels: ['a'],
      type: 't',
      desc: 'd',
      path: 'p',
      hash: 'md5',
      isexec: true,
      nfiles: 2,
      size: 1,
      md5: 'abc',
    };
    const dumped = (DvcFile.create([out]).toDict().outs as Record<string, unknown>[])[0]!;
    expect(Object.keys(dumped)).toEqual([
      'md5',
      'size',
      'nfiles',
      'isexec',
      'hash',
      'path',
      'desc',
      'type',
      'labels',
      'meta',
      'cache',
      'persist',
      'remote',
      'push',
    ]);
    const defaults = DvcFile.create([
      { path: 'p', isexec: false, cache: true, persist: false, push: true, labels: [] },
    ]);
    expect(defaults.toString()).toBe('outs:\n- path: p\n');
  });
});

describe('DVC-written texts parse and print back unchanged', () => {
  const dvcTexts = dvcWrittenTexts().filter((t) => t.kind === 'dvc');

  it.each(dvcTexts.map((t) => [t.name, t.text]))('%s', (name, text) => {
    const file = DvcFile.parse(text, name);
    expect(file.toString()).toBe(text);
    const firstMd5 = /md5: (\S+)/.exec(text.split('outs:')[1] ?? '')?.[1];
    if (firstMd5 !== undefined) expect(file.outs[0]?.md5).toBe(firstMd5);
  });

  it('reads the outputs of a real repository', () => {
    const text =
      'outs:\n- md5: 93a920c7e7a8bdb8e4857667e28b56dc.dir\n  size: 3347\n  nfiles: 13\n  hash: md5\n  path: data\n';
    expect(DvcFile.parse(text, 'data.dvc').outs).toEqual([
      { md5: '93a920c7e7a8bdb8e4857667e28b56dc.dir', size: 3347, nfiles: 13, hash: 'md5', path: 'data' },
    ]);
  });

  it('re-applying the same hash changes nothing', () => {
    const v = vector('file-executable');
    const file = DvcFile.parse(v.expect.dvc_file_text as string, 'foo.dvc');
    file.setOutputHash(0, { md5: v.expect.md5 as string, size: 3, isexec: true, hashName: 'md5' });
    expect(file.toString()).toBe(v.expect.dvc_file_text);
  });
});

describe('round-trip edits', () => {
  it('reproduces import-url-preserve: comments and order kept, new keys appended', () => {
    const v = vector('dvcfile-import-url-preserve');
    const file = DvcFile.parse(v.tree['bar.dvc'] as string, 'bar.dvc');
    const hash = { md5: 'acbd18db4cc2f85cedef654fccc4a4d8', size: 3, hashName: 'md5' } as const;
    file.setDependencyHash(0, hash);
    file.setOutputHash(0, hash);
    file.setFrozen(true);
    const stageMd5 = file.computeStageMd5();
    expect(stageMd5).toBe(v.expect.stage_md5);
    file.setStageMd5(stageMd5);
    expect(file.toString()).toBe(v.expect.dvc_file_text);
    expect(file.frozen).toBe(true);
    expect(file.md5).toBe(stageMd5);
  });

  it('appends md5 and size after hand-written fields (dvc commit preserve fields)', () => {
    const before =
      '# comment\nouts:\n- path: foo # out comment\n  desc: out desc\n  type: mytype\n  labels:\n  - label1\n' +
      '  meta:\n    key: value\n  remote: testremote\n  hash: md5\nmeta: some metadata\n';
    const file = DvcFile.parse(before, 'foo.dvc');
    file.setOutputHash(0, { md5: 'acbd18db4cc2f85cedef654fccc4a4d8', size: 3, hashName: 'md5' });
    expect(file.toString()).toBe(
      before.replace('  hash: md5\n', '  hash: md5\n  md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n'),
    );
  });

  it('replaces changed values in place, keeps their comments, and deletes keys no longer written', () => {
    const before =
      'outs:\n- md5: 5ea40360f5b4ec688df672a4db9c17d1.dir # the dir\n  size: 6\n  nfiles: 2\n  isexec: true\n' +
      '  hash: md5\n  path: data\n  cache: true\n';
    const file = DvcFile.parse(before, 'data.dvc');
    file.setOutputHash(0, {
      md5: 'acbd18db4cc2f85cedef654fccc4a4d8',
      size: 3,
      isexec: false,
      hashName: 'md5',
    });
    expect(file.toString()).toBe(
      'outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8 # the dir\n  size: 3\n  hash: md5\n  path: data\n',
    );
  });

  it('keeps an all-digit md5 that was written unquoted as the exact digits', () => {
    const text =
      'outs:\n- md5: 01234567890123456789012345678901\n  size: 1\n  hash: md5\n  path: a\n- md5: 0e123\n  path: b\n';
    const file = DvcFile.parse(text, 'a.dvc');
    expect(file.outs.map((o) => o.md5)).toEqual(['01234567890123456789012345678901', '0e123']);
    // Any write re-renders the whole stage like DVC does: numbers that are md5s become quoted strings.
    file.setOutputHash(1, { md5: 'acbd18db4cc2f85cedef654fccc4a4d8', size: 3, hashName: 'md5' });
    expect(file.toString()).toBe(
      "outs:\n- md5: '01234567890123456789012345678901'\n  size: 1\n  hash: md5\n  path: a\n" +
        '- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  path: b\n  size: 3\n  hash: md5\n',
    );
  });

  it('keeps untouched values as written: number spellings, quotes DVC would drop are re-rendered', () => {
    const meta =
      "meta:\n  version: 2.0\n  oct: 0o17\n  exp: 1e3\n  neg: -0.50\n  flag: True\n  none: ~\n  list: [1, 'b']\n";
    const file = DvcFile.parse(`${meta}outs:\n- path: 'a'\n`, 'a.dvc');
    file.setOutputHash(0, { md5: 'acbd18db4cc2f85cedef654fccc4a4d8', size: 3, hashName: 'md5' });
    // ruamel does not keep needless quotes ('a' → a); everything else is as it was.
    expect(file.toString()).toBe(
      `${meta.replace("'b'", 'b')}outs:\n- path: a\n  md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  hash: md5\n`,
    );
  });

  it('fills an empty file', () => {
    const file = DvcFile.parse('', 'empty.dvc');
    expect(file.outs).toEqual([]);
    expect(file.toString()).toBe('');
    file.setFrozen(false);
    expect(file.toString()).toBe('');
    file.setFrozen(true);
    expect(file.toString()).toBe('frozen: true\n');
  });

  it('reads every stage field and dumps them in DVC order', () => {
    const text =
      'meta:\n  k: v\nalways_changed: true\nouts:\n- path: y\ndeps:\n- path: x\n  repo:\n    rev: main\n    url: u\n' +
      'wdir: ..\ndesc: d\n';
    const file = DvcFile.parse(text, 'a.dvc');
    expect([file.desc, file.wdir, file.meta, file.frozen, file.md5]).toEqual([
      'd',
      '..',
      { k: 'v' },
      false,
      undefined,
    ]);
    expect(file.deps).toEqual([{ path: 'x', repo: { rev: 'main', url: 'u' } }]);
    expect(Object.keys(file.toDict())).toEqual(['desc', 'wdir', 'deps', 'outs', 'always_changed', 'meta']);
    expect(file.toDict().deps).toEqual([{ path: 'x', repo: { url: 'u', rev: 'main' } }]);
    // Getters hand out copies: changing them does not change the file.
    file.outs[0]!.path = 'changed';
    (file.meta as { k: string }).k = 'changed';
    expect(file.toString()).toBe(text);
  });

  it('turns the DVC 1.x `locked` into `frozen`', () => {
    const file = DvcFile.parse('locked: true\nouts:\n- path: a\n', 'a.dvc');
    expect(file.frozen).toBe(true);
    file.setFrozen(true);
    expect(file.toString()).toBe('outs:\n- path: a\nfrozen: true\n');
  });

  it('refuses an output index that does not exist', () => {
    const file = DvcFile.create([{ path: 'a' }]);
    expect(() => file.setOutputHash(1, { md5: 'abc', size: 1, hashName: 'md5' })).toThrow(
      /outs\[1\] does not exist/,
    );
  });
});

describe('legacy DVC 2.x outputs (§1.5)', () => {
  const crlf = vector('file-crlf-md5-vs-dos2unix').expect;
  const legacy = `outs:\n- md5: ${crlf.md5_dos2unix}\n  size: 14\n  path: crlf.txt\n`;

  it('reads an output without `hash:` as md5-dos2unix', () => {
    const out = DvcFile.parse(legacy, 'crlf.txt.dvc').outs[0]!;
    expect(out.hash).toBeUndefined();
    expect(hashNameOf(out)).toBe('md5-dos2unix');
    expect(hashNameOf({ hash: 'md5' })).toBe('md5');
  });

  it('unchanged data: the legacy entry stays byte-identical', () => {
    const file = DvcFile.parse(legacy, 'crlf.txt.dvc');
    file.setOutputHash(0, { md5: crlf.md5_dos2unix as string, size: 14, hashName: 'md5-dos2unix' });
    expect(file.toString()).toBe(legacy);
  });

  it('changed data: switches to md5 and appends `hash: md5`', () => {
    const file = DvcFile.parse(legacy, 'crlf.txt.dvc');
    file.setOutputHash(0, { md5: crlf.md5 as string, size: 14, hashName: 'md5' });
    expect(file.toString()).toBe(`outs:\n- md5: ${crlf.md5}\n  size: 14\n  path: crlf.txt\n  hash: md5\n`);
    expect(hashNameOf(file.outs[0]!)).toBe('md5');
  });
});

describe('stage md5 (§1.4)', () => {
  it.each(vectors.filter((v) => 'stage_md5_input' in v).map((v) => [v.id, v]))(
    '%s: from the vector input',
    (_id, v) => {
      const input = (v as unknown as { stage_md5_input: Record<string, unknown> }).stage_md5_input;
      expect(computeStageMd5(input)).toBe(v.expect.stage_md5);
    },
  );

  it('ignores annotations: the annotated foo.dvc hashes like its bare input', () => {
    const v = vector('dvcfile-stage-md5-annotations');
    const file = DvcFile.parse(v.tree['foo.dvc'] as string, 'foo.dvc');
    expect(file.computeStageMd5()).toBe(v.expect.stage_md5);
  });

  it('matches Python json.dumps on unicode, escapes and key order', () => {
    // md5 of json.dumps(d, sort_keys=True) computed with CPython 3.
    const dict = {
      outs: [
        {
          md5: 'acbd18db4cc2f85cedef654fccc4a4d8',
          hash: 'md5',
          path: 'café 😀\t\x7f"\\/x',
          cache: false,
          remote: 'r',
          size: 99,
          desc: 'dropped',
        },
      ],
      always_changed: true,
      wdir: 'sub',
      md5: 'dropped',
      frozen: true,
      deps: [
        { path: 'Z', repo: { url: 'u', rev: 'v1' } },
        { path: 'a', md5: 'xxx', nfiles: 3 },
      ],
    };
    expect(computeStageMd5(dict)).toBe('89fd5d34ae687996a2e1b01f7410c337');
    const { wdir: _wdir, ...noWdir } = dict;
    expect(computeStageMd5({ ...dict, wdir: '.' })).toBe(computeStageMd5(noWdir));
    expect(computeStageMd5({ ...dict, wdir: '.' })).not.toBe(computeStageMd5(dict));
  });
});

describe('bad input', () => {
  const ok = 'outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  hash: md5\n  path: foo\n';
  // biome-ignore format: one case per line reads as a table
  const cases: Array<[string, string, CpvErrorCode, RegExp]> = [
    ['malformed YAML', 'outs:\n- path: a\n  size: x: 1\n', 'E_DVCFILE_PARSE', /^bad\.dvc:3: invalid YAML/],
    ['tab indentation', 'outs:\n\t- path: a\n', 'E_DVCFILE_PARSE', /^bad\.dvc:2: invalid YAML/],
    ['duplicate key', 'outs:\n- path: a\n  path: b\n', 'E_DVCFILE_PARSE', /^bad\.dvc:3: invalid YAML/],
    [
      'size not an int',
      ok.replace('size: 3', 'size: big'),
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:3: outs\[0\]\.size must be an integer$/,
    ],
    [
      'size a float',
      ok.replace('size: 3', 'size: 3.5'),
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:3: outs\[0\]\.size must be an integer$/,
    ],
    [
      'nfiles a string',
      `${ok}  nfiles: '2'\n`,
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:6: outs\[0\]\.nfiles must be an integer$/,
    ],
    [
      'isexec not a bool',
      `${ok}  isexec: yes\n`,
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:6: outs\[0\]\.isexec must be a boolean/,
    ],
    [
      'path a number',
      ok.replace('path: foo', 'path: 123'),
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:5: outs\[0\]\.path must be a string$/,
    ],
    [
      'md5 a boolean',
      ok.replace('md5: acbd18db4cc2f85cedef654fccc4a4d8', 'md5: true'),
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:2: outs\[0\]\.md5 must be a string$/,
    ],
    [
      'md5 too short',
      ok.replace('md5: acbd18db4cc2f85cedef654fccc4a4d8', 'md5: ab'),
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:2: outs\[0\]\.md5 must be at least 3/,
    ],
    [
      'labels not strings',
      `${ok}  labels:\n  - [x]\n`,
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:7: outs\[0\]\.labels\[0\] must be a string$/,
    ],
    ['outs not a list', 'outs: foo\n', 'E_DVCFILE_SCHEMA', /^bad\.dvc:1: outs must be a list$/],
    ['out not a mapping', 'outs:\n- foo\n', 'E_DVCFILE_SCHEMA', /^bad\.dvc:2: outs\[0\] must be a mapping$/],
    ['unknown top-level key', `${ok}foo: 1\n`, 'E_DVCFILE_SCHEMA', /^bad\.dvc:6: foo is not a known key$/],
    ['Object.prototype key', `constructor: 1\n${ok}`, 'E_DVCFILE_SCHEMA', /^bad\.dvc:1: constructor is not a known key$/],
    [
      'DVC 1.x metric key',
      `${ok}  metric: false\n`,
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:6: outs\[0\]\.metric is not a known key$/,
    ],
    [
      'missing path',
      'outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n',
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:2: outs\[0\]\.path is required$/,
    ],
    [
      'unknown hash type',
      ok.replace('hash: md5', 'hash: sha256'),
      'E_HASH_UNSUPPORTED',
      /^bad\.dvc:4: outs\[0\]\.hash: unsupported hash type 'sha256'$/,
    ],
    ['file is a list', '- outs\n', 'E_DVCFILE_SCHEMA', /^bad\.dvc:1: the file must be a mapping$/],
    ['frozen not a bool', `frozen: 1\n${ok}`, 'E_DVCFILE_SCHEMA', /^bad\.dvc:1: frozen must be a boolean/],
    [
      'repo without url',
      'deps:\n- path: a\n  repo:\n    rev: v1\n',
      'E_DVCFILE_SCHEMA',
      /^bad\.dvc:4: deps\[0\]\.repo\.url is required$/,
    ],
    [
      'dep hash unknown',
      'deps:\n- path: a\n  hash: xxh\n',
      'E_HASH_UNSUPPORTED',
      /^bad\.dvc:3: deps\[0\]\.hash: unsupported/,
    ],
  ];

  it.each(cases)('%s', (_name, text, code, message) => {
    let error: unknown;
    try {
      DvcFile.parse(text, 'bad.dvc');
    } catch (err) {
      error = err;
    }
    expect(isCpvError(error) ? error.code : error).toBe(code);
    expect((error as Error).message).toMatch(message);
    expect((error as { hint?: string }).hint).toBeTruthy();
  });

  it('the well-formed base case parses', () => {
    expect(DvcFile.parse(ok, 'ok.dvc').outs[0]?.path).toBe('foo');
  });
});

describe('reading and writing files', () => {
  const text = vector('file-foo').expect.dvc_file_text as string;

  it('writes atomically, keeps the mode of an existing file and reads back', async () => {
    const dir = tempDir();
    const target = path.join(dir, 'foo.dvc');
    writeDvcFile(
      target,
      DvcFile.create([{ md5: 'acbd18db4cc2f85cedef654fccc4a4d8', size: 3, hash: 'md5', path: 'foo' }]),
    );
    expect(fs.readFileSync(target, 'utf8')).toBe(text);
    fs.chmodSync(target, 0o640);
    const file = await readDvcFile(target);
    file.setOutputHash(0, { md5: '37b51d194a7513e45b56f6524f2d51f2', size: 3, hashName: 'md5' });
    writeDvcFile(target, file);
    expect(fs.readFileSync(target, 'utf8')).toBe(
      text.replace('acbd18db4cc2f85cedef654fccc4a4d8', '37b51d194a7513e45b56f6524f2d51f2'),
    );
    expect(fs.statSync(target).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(dir)).toEqual(['foo.dvc']);
  });

  it('reports unreadable and unwritable paths as E_IO, leaving no temp file', async () => {
    const dir = tempDir();
    await expect(readDvcFile(path.join(dir, 'missing.dvc'))).rejects.toMatchObject({ code: 'E_IO' });
    const blocker = path.join(dir, 'target.dvc');
    fs.mkdirSync(blocker); // renaming a file over a directory fails
    expect(() => writeDvcFile(blocker, DvcFile.create([{ path: 'x' }]))).toThrow(
      expect.objectContaining({ code: 'E_IO' }),
    );
    expect(fs.readdirSync(dir)).toEqual(['target.dvc']);
  });

  it('names the file in parse errors', async () => {
    const dir = tempDir();
    const target = path.join(dir, 'bad.dvc');
    fs.writeFileSync(target, 'outs:\n- size: 1\n');
    await expect(readDvcFile(target)).rejects.toThrow(`${target}:2: outs[0].path is required`);
  });
});
