import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigDocument,
  canonicalSectionName,
  configList,
  configString,
  parseConfig,
  readConfigDocument,
  writeConfigDocument,
} from '../../src/dvcfile/config.js';
import { quoteOneLine, quoteValue } from '../../src/dvcfile/config-value.js';
import { tempDir } from '../helpers/tmp.js';
import { FIXTURES, loadVectors } from '../helpers/vectors.js';

const doc = (text: string) => ConfigDocument.parse(text, 'test-config');

const HAND_WRITTEN = [
  '# Team config',
  '',
  '[ Core ]  # the core',
  '  Remote = storage   # default',
  '',
  '# backup store',
  '[remote "Storage"]',
  '\turl = s3://b/p',
  '\t# creds live in config.local',
  "\tgrant_read = 'id=a,id=b'",
  '\tnotes = """line one',
  'line two"""',
  '# trailing words',
  '',
].join('\n');

describe('ConfigDocument: reading', () => {
  it('round-trips texts DVC wrote and hand-written ones byte for byte', () => {
    const vector = loadVectors().find((v) => v.id === 'dvcfile-config-written')!;
    const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'repos', 'config.json'), 'utf8'));
    const steps = fixture.expect.config_steps as Array<{ files: Record<string, string | null> }>;
    const texts = [
      vector.expect['.dvc/config'] as string,
      vector.expect['.dvc/config.local'] as string,
      ...steps.flatMap((s) =>
        Object.values(s.files).filter((t): t is string => typeof t === 'string' && t !== ''),
      ),
      HAND_WRITTEN,
      '[core]\r\n    remote = x\r\n',
    ];
    for (const text of texts) expect(doc(text).toString()).toBe(text);
  });

  it("gives DVC's view: canonical section names, lower-cased keys, lists, comments stripped", () => {
    const data = doc(HAND_WRITTEN).data();
    expect([...data.keys()]).toEqual(['core', 'remote "storage"']);
    expect(configString(data, 'core', 'remote')).toBe('storage');
    expect(configString(data, 'remote "storage"', 'grant_read')).toBe('id=a,id=b');
    expect(configString(data, 'remote "storage"', 'notes')).toBe('line one\nline two');
    expect(configList(parseConfig('[cache]\n type = reflink, copy\n', 'c'), 'cache', 'type')).toEqual([
      'reflink',
      'copy',
    ]);
    expect(canonicalSectionName(`'remote  "X"'`)).toBe('remote "x"');
    expect(canonicalSectionName('"core"')).toBe('core');
  });

  it('names the file and line of what it cannot read', () => {
    const cases: Array<[string, RegExp]> = [
      ['[core]\nnot a pair\n', /test-config:2: cannot parse config line 'not a pair'/],
      ['key = value\n', /test-config:1: 'key = value' is not inside a \[section\]/],
      ['[core]\n  remote = "open\n', /test-config:2: cannot parse the value of 'remote'/],
      ['[core]\n[[nested]]\n', /test-config:2: nested sections/],
      ['[core]\n[Core]\n', /test-config:2: duplicate section \[core\]/],
      ['[core]\n a = 1\n A = 2\n', /test-config:3: duplicate option 'a'/],
    ];
    for (const [text, message] of cases) {
      expect(() => doc(text)).toThrow(message);
      expect(() => doc(text)).toThrow(expect.objectContaining({ code: 'E_DVCFILE_PARSE' }));
    }
  });
});

describe('ConfigDocument: editing keeps everything it does not touch', () => {
  it('rewrites only the edited line, keeping its indentation and inline comment', () => {
    const d = doc(HAND_WRITTEN);
    d.set('core', 'remote', 'backup');
    d.set('remote "storage"', 'url', 's3://other/place');
    expect(d.toString()).toBe(
      HAND_WRITTEN.replace('  Remote = storage   # default', '  remote = backup   # default').replace(
        '\turl = s3://b/p',
        '\turl = s3://other/place',
      ),
    );
  });

  it('appends a new key after the last one, in the indentation the section uses', () => {
    const d = doc(HAND_WRITTEN);
    d.set('remote "storage"', 'region', 'us-east-1');
    d.set('remote "storage"', 'notes', 'short again');
    expect(d.toString()).toBe(
      HAND_WRITTEN.replace(
        '\tnotes = """line one\nline two"""\n',
        '\tnotes = short again\n\tregion = us-east-1\n',
      ),
    );
  });

  it('adds sections where DVC would: plain ones before remotes, remotes after the last remote', () => {
    const d = doc('[\'remote "a"\']\n    url = /a\n');
    d.set('remote "b"', 'url', '/b');
    d.set('core', 'remote', 'a');
    d.set('cache', 'type', 'reflink,copy');
    expect(d.toString()).toBe(
      '[core]\n    remote = a\n[cache]\n    type = "reflink,copy"\n[\'remote "a"\']\n    url = /a\n[\'remote "b"\']\n    url = /b\n',
    );
    const fresh = ConfigDocument.empty();
    fresh.set('remote "storage"', 'url', 's3://x/y');
    fresh.set('core', 'remote', 'storage');
    expect(fresh.toString()).toBe(
      '[core]\n    remote = storage\n[\'remote "storage"\']\n    url = s3://x/y\n',
    );
  });

  it('unset keeps the comments above the key and drops a plain section left empty', () => {
    const d = doc('# top\n[core]\n    # why\n    remote = x\n    autostage = true\n[cache]\n    dir = /c\n');
    expect(d.unset('core', 'remote')).toBe(true);
    expect(d.toString()).toBe('# top\n[core]\n    # why\n    autostage = true\n[cache]\n    dir = /c\n');
    expect(d.unset('core', 'autostage')).toBe(true);
    // the comment stays, the empty section goes
    expect(d.toString()).toBe('# top\n[core]\n    # why\n[cache]\n    dir = /c\n');
    expect(d.unset('cache', 'dir')).toBe(true);
    expect(d.unset('cache', 'dir')).toBe(false);
    expect(d.unset('nope', 'dir')).toBe(false);
    expect(d.toString()).toBe('# top\n[core]\n    # why\n');
    const empty = doc('[core]\n    remote = x\n');
    empty.unset('core', 'remote');
    expect(empty.toString()).toBe('\n'); // what configobj writes for an empty config
  });

  it('a plain section dropped for being empty leaves its comment lines to its neighbours', () => {
    const before = doc('# about core\n[core]\n    remote = a\n[\'remote "a"\']\n    url = /a\n');
    before.unset('core', 'remote');
    expect(before.toString()).toBe('# about core\n[\'remote "a"\']\n    url = /a\n');
    const last = doc('[\'remote "a"\']\n    url = /a\n\n# about cache\n[cache]\n    dir = /c\n');
    last.unset('cache', 'dir');
    expect(last.toString()).toBe('[\'remote "a"\']\n    url = /a\n# about cache\n');
    const middle = doc(
      '[core]\n    remote = a\n# about cache\n[cache]\n    dir = /c\n[state]\n    dir = /s\n',
    );
    middle.unset('cache', 'dir');
    expect(middle.toString()).toBe('[core]\n    remote = a\n# about cache\n[state]\n    dir = /s\n');
  });

  it('reports unreadable and unwritable config files as E_IO', () => {
    const dir = tempDir();
    expect(() => readConfigDocument(dir)).toThrow(expect.objectContaining({ code: 'E_IO' }));
    fs.writeFileSync(path.join(dir, 'file'), '');
    expect(() => writeConfigDocument(path.join(dir, 'file', 'config'), ConfigDocument.empty())).toThrow(
      expect.objectContaining({ code: 'E_IO', message: expect.stringMatching(/^cannot write config /) }),
    );
  });

  it('remove, clear and rename sections (a renamed remote moves after the others, as in DVC)', () => {
    const text =
      '[core]\n    remote = a\n# about a\n[\'remote "a"\']\n    url = /a\n    jobs = 2\n[\'remote "b"\']\n    url = /b\n';
    const renamed = doc(text);
    renamed.renameSection('remote "a"', 'remote "z"');
    expect(renamed.toString()).toBe(
      '[core]\n    remote = a\n[\'remote "b"\']\n    url = /b\n# about a\n[\'remote "z"\']\n    url = /a\n    jobs = 2\n',
    );
    const removed = doc(text);
    expect(removed.removeSection('remote "a"')).toBe(true);
    expect(removed.removeSection('remote "a"')).toBe(false);
    expect(removed.toString()).toBe('[core]\n    remote = a\n[\'remote "b"\']\n    url = /b\n');
    const cleared = doc(text);
    cleared.clearSection('remote "a"');
    cleared.set('remote "a"', 'url', '/new');
    expect(cleared.toString()).toBe(
      '[core]\n    remote = a\n# about a\n[\'remote "a"\']\n    url = /new\n[\'remote "b"\']\n    url = /b\n',
    );
  });

  it('writes atomically, keeping an existing mode and giving a new file the one asked for', () => {
    const dir = tempDir();
    const file = path.join(dir, 'sub', 'config.local');
    const d = readConfigDocument(file);
    expect(d.toString()).toBe('\n');
    d.set('remote "s"', 'secret_access_key', 'x');
    writeConfigDocument(file, d, 0o600);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe('[\'remote "s"\']\n    secret_access_key = x\n');
    fs.chmodSync(file, 0o640);
    writeConfigDocument(file, d, 0o600);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['config.local']);
  });
});

describe('ConfigDocument: properties', () => {
  const sectionName = fc.constantFrom('core', 'cache', 'state', 'remote "a"', 'remote "b b"', 'db "x"');
  const key = fc.constantFrom('url', 'remote', 'dir', 'jobs', 'type', 'region');
  const value = fc.oneof(
    fc.string({ unit: fc.constantFrom('a', 'Z', '9', ' ', ',', '#', '"', "'", '=', '/', ':') }),
    fc.array(fc.constantFrom('reflink', 'copy', 'x y'), { minLength: 2, maxLength: 3 }),
  );
  const comment = fc.constantFrom('# note', '    # indented note', '', '#');
  const section = fc.record({
    lead: fc.array(comment, { maxLength: 2 }),
    name: sectionName,
    entries: fc.uniqueArray(fc.record({ lead: fc.array(comment, { maxLength: 1 }), key, value }), {
      selector: (e) => e.key,
      maxLength: 4,
    }),
  });
  const document = fc.record({
    preamble: fc.array(comment, { maxLength: 2 }),
    sections: fc.uniqueArray(section, { selector: (s) => s.name, maxLength: 4 }),
  });
  type Doc = typeof document extends fc.Arbitrary<infer T> ? T : never;

  /** The text of a generated document, or undefined when a value cannot be written. */
  function render(d: Doc): string | undefined {
    const lines: string[] = [...d.preamble];
    try {
      for (const s of d.sections) {
        lines.push(...s.lead, `[${quoteOneLine(s.name)}]`);
        for (const e of s.entries) lines.push(...e.lead, `    ${e.key} = ${quoteValue(e.value)}`);
      }
    } catch {
      return undefined;
    }
    return `${lines.join('\n')}\n`;
  }
  const op = fc.record({ kind: fc.constantFrom('set', 'unset'), section: sectionName, key, value });
  const nonEmpty = (data: Map<string, Map<string, unknown>>) =>
    [...data]
      .filter(([, values]) => values.size > 0)
      .map(([name, values]) => [name, [...values].sort()])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  const comments = (text: string) => text.split('\n').filter((l) => l.trim().startsWith('#'));

  it('reads back what it writes, keeps every comment, and agrees with a model after any edits', () => {
    fc.assert(
      fc.property(document, fc.array(op, { maxLength: 8 }), (d, ops) => {
        const text = render(d);
        if (text === undefined) return;
        const edited = doc(text);
        expect(edited.toString()).toBe(text);
        const model = edited.data();
        for (const o of ops) {
          let written: string;
          try {
            written = quoteValue(o.value);
          } catch {
            continue;
          }
          expect(written).toBeTypeOf('string');
          if (o.kind === 'set') {
            edited.set(o.section, o.key, o.value);
            const values = model.get(o.section) ?? new Map();
            values.set(o.key, o.value);
            model.set(o.section, values);
          } else {
            expect(edited.unset(o.section, o.key)).toBe(model.get(o.section)?.delete(o.key) ?? false);
          }
        }
        const out = edited.toString();
        expect(nonEmpty(doc(out).data())).toEqual(nonEmpty(model));
        // every comment line survives, in order
        const kept = comments(out);
        let at = 0;
        for (const line of comments(text)) {
          at = kept.indexOf(line, at) + 1;
          expect(at, line).toBeGreaterThan(0);
        }
      }),
      { numRuns: 400 },
    );
  });
});
