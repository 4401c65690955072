import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedOutputs, DvcLock, DvcYaml } from '../../src/dvcfile/lockfile.js';
import { type CpvErrorCode, isCpvError } from '../../src/errors.js';
import { FIXTURES, loadVectors } from '../helpers/vectors.js';
import { dvcWrittenTexts } from './dvc-texts.js';

const vector = (id: string) => loadVectors().find((v) => v.id === id)!;
const pipeline = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'repos', 'pipeline.json'), 'utf8')) as {
  files: Record<string, string>;
};

describe('DVC-written dvc.yaml and dvc.lock texts', () => {
  const texts = dvcWrittenTexts();

  it.each(texts.filter((t) => t.kind === 'dvc.yaml').map((t) => [t.name, t.text]))(
    '%s parses, prints back',
    (name, text) => {
      const file = DvcYaml.parse(text, name);
      expect(file.toString()).toBe(text);
      expect(file.stages.length).toBeGreaterThan(0);
    },
  );

  it.each(texts.filter((t) => t.kind === 'dvc.lock').map((t) => [t.name, t.text]))(
    '%s parses, prints back',
    (name, text) => {
      const file = DvcLock.parse(text, name);
      expect(file.toString()).toBe(text);
      expect(file.stages.length).toBeGreaterThan(0);
    },
  );
});

describe('reading the pipeline fixture', () => {
  const yaml = DvcYaml.parse(pipeline.files['dvc.yaml']!, 'dvc.yaml');
  const lock = DvcLock.parse(pipeline.files['dvc.lock']!, 'dvc.lock');

  it('reads stages, commands and declared outputs', () => {
    expect(yaml.stages.map((s) => s.name)).toEqual(['prepare', 'count']);
    expect(yaml.stage('count')?.cmd).toBe(
      `printf '{"lines": %d}\\n' "$(wc -l < out/prepared)" > metrics.json`,
    );
    expect(yaml.stage('count')?.outputs).toEqual([
      {
        path: 'metrics.json',
        kind: 'metrics',
        cache: false,
        persist: false,
        push: true,
        flags: { cache: false },
      },
    ]);
    expect(yaml.stage('prepare')?.deps).toEqual(['data']);
  });

  it('reads lock entries with their hashes and params', () => {
    expect(lock.stage('prepare')?.deps).toEqual([
      { path: 'data', hash: 'md5', md5: '0fbd0f89cf92db843dddada6b0254405.dir', size: 17, nfiles: 2 },
    ]);
    expect(lock.stage('count')?.params).toEqual({ 'params.yaml': { threshold: 3 } });
  });

  it('lists only cached outputs (the cache: false metric is left out)', () => {
    expect(cachedOutputs(yaml, lock)).toEqual([
      {
        stage: 'prepare',
        path: 'out/prepared',
        kind: 'outs',
        oid: '6c7831c26f0d0a5f807006854aa682f4',
        hashName: 'md5',
        size: 17,
        push: true,
      },
    ]);
  });
});

describe('cachedOutputs', () => {
  it('takes outs, metrics and plots with their lock oids (dvcfile-lock-repro)', () => {
    const v = vector('dvcfile-lock-repro');
    const outs = cachedOutputs(
      DvcYaml.parse(v.expect['dvc.yaml'] as string, 'dvc.yaml'),
      DvcLock.parse(v.expect['dvc.lock'] as string, 'dvc.lock'),
    );
    expect(outs.map((o) => [o.path, o.oid, o.nfiles])).toEqual([
      ['out.txt', '13b5bfe96f3e2fe411c9f66f4a582adf', undefined],
      ['outdir', '9c6c3f9c31e2f2f828d0c342f063b832.dir', 2],
    ]);
  });

  it('skips an uncached external output (dvcfile-lock-external)', () => {
    const v = vector('dvcfile-lock-external');
    const yaml = DvcYaml.parse(v.expect.dvc_yaml_text as string, 'dvc.yaml');
    expect(cachedOutputs(yaml, DvcLock.parse(v.expect.dvc_lock_text as string, 'dvc.lock'))).toEqual([]);
  });

  it('keeps flags, legacy entries, plots and metrics, and reports stages that never ran', () => {
    const yaml = DvcYaml.parse(
      'stages:\n  train:\n    cmd: python train.py\n    wdir: sub\n    outs:\n    - model.pkl:\n        push: false\n' +
        '        remote: store\n    - old.bin\n    metrics:\n    - scores.json\n    plots:\n    - roc.csv:\n' +
        '      - x: fpr\n      - y: tpr\n        cache: false\n    - loss.csv\n  later:\n    cmd: echo\n    outs:\n    - late.txt\n',
      'dvc.yaml',
    );
    const lock = DvcLock.parse(
      "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - path: loss.csv\n      hash: md5\n" +
        '      md5: 11111111111111111111111111111111\n      size: 5\n    - path: model.pkl\n      hash: md5\n' +
        "      md5: '22222222222222222222222222222222'\n      size: 7\n      isexec: true\n    - path: old.bin\n" +
        '      md5: 33333333333333333333333333333333\n      size: 9\n    - path: scores.json\n      hash: md5\n' +
        '      md5: 44444444444444444444444444444444\n      size: 2\n',
      'dvc.lock',
    );
    expect(cachedOutputs(yaml, lock)).toEqual([
      {
        stage: 'train',
        path: 'model.pkl',
        wdir: 'sub',
        kind: 'outs',
        oid: '22222222222222222222222222222222',
        hashName: 'md5',
        size: 7,
        isexec: true,
        push: false,
        remote: 'store',
      },
      {
        stage: 'train',
        path: 'old.bin',
        wdir: 'sub',
        kind: 'outs',
        oid: '33333333333333333333333333333333',
        hashName: 'md5-dos2unix',
        size: 9,
        push: true,
      },
      {
        stage: 'train',
        path: 'scores.json',
        wdir: 'sub',
        kind: 'metrics',
        oid: '44444444444444444444444444444444',
        hashName: 'md5',
        size: 2,
        push: true,
      },
      {
        stage: 'train',
        path: 'loss.csv',
        wdir: 'sub',
        kind: 'plots',
        oid: '11111111111111111111111111111111',
        hashName: 'md5',
        size: 5,
        push: true,
      },
      { stage: 'later', path: 'late.txt', kind: 'outs', oid: undefined, hashName: 'md5', push: true },
    ]);
    expect(cachedOutputs(yaml, undefined).map((o) => o.oid)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('expands foreach and matrix stages through their lock entries', () => {
    // DVC's own `${...}` templating, written with a placeholder to keep it out of JS templates.
    const text = [
      'stages:',
      '  build:',
      '    foreach: [a, b]',
      '    do:',
      '      cmd: make $(item)',
      '      outs:',
      '      - out/$(item).bin',
      '      - out/$(item).log:',
      '          cache: false',
      '  grid:',
      '    matrix:',
      '      lr: [1, 2]',
      '    cmd: train $(item.lr)',
      '    outs:',
      '    - m-$(item.lr).pt',
      '',
    ].join('\n');
    const yaml = DvcYaml.parse(text.replace(/\$\(([^)]*)\)/g, '$${$1}'), 'dvc.yaml');
    expect(yaml.stage('build')?.outputs[0]?.path).toBe(`out/${'$'}{item}.bin`);
    expect(yaml.stages.map((s) => [s.name, s.generated])).toEqual([
      ['build', true],
      ['grid', true],
    ]);
    const entry = (p: string, m: string): string =>
      `    - path: ${p}\n      hash: md5\n      md5: ${m.repeat(32)}\n      size: 1\n`;
    const lock = DvcLock.parse(
      "schema: '2.0'\nstages:\n" +
        `  build@a:\n    cmd: make a\n    outs:\n${entry('out/a.bin', 'a')}${entry('out/a.log', 'b')}` +
        `  build@b:\n    cmd: make b\n    outs:\n${entry('out/b.bin', 'c')}` +
        `  grid@lr-1:\n    cmd: train 1\n    outs:\n${entry('m-1.pt', 'd')}`,
      'dvc.lock',
    );
    expect(cachedOutputs(yaml, lock).map((o) => [o.stage, o.path])).toEqual([
      ['build@a', 'out/a.bin'],
      ['build@b', 'out/b.bin'],
      ['grid@lr-1', 'm-1.pt'],
    ]);
  });
});

describe('bad dvc.yaml / dvc.lock', () => {
  const lockOk =
    "schema: '2.0'\nstages:\n  s:\n    cmd: c\n    outs:\n    - path: o\n      hash: md5\n      md5: abc\n";
  // biome-ignore format: one case per line reads as a table
  const cases: Array<[string, 'yaml' | 'lock', string, CpvErrorCode, RegExp]> = [
    ['malformed YAML', 'lock', "schema: '2.0'\nstages: [\n", 'E_DVCFILE_PARSE', /^dvc\.lock:\d+: invalid YAML/],
    ['missing schema', 'lock', 'stages: {}\n', 'E_DVCFILE_SCHEMA', /^dvc\.lock:1: schema is required$/],
    ['empty lock', 'lock', '', 'E_DVCFILE_SCHEMA', /^dvc\.lock:1: schema is required$/],
    ['schema as a number', 'lock', lockOk.replace("'2.0'", '2.0'), 'E_DVCFILE_SCHEMA', /^dvc\.lock:1: schema must be '2\.0'/],
    ['schema 3.0', 'lock', lockOk.replace("'2.0'", "'3.0'"), 'E_DVCFILE_SCHEMA', /^dvc\.lock:1: schema must be '2\.0'/],
    ['lock stage without cmd', 'lock', "schema: '2.0'\nstages:\n  s:\n    outs: []\n", 'E_DVCFILE_SCHEMA', /^dvc\.lock:4: stages\.s\.cmd is required$/],
    ['lock entry without path', 'lock', lockOk.replace('- path: o\n      hash', '- hash'), 'E_DVCFILE_SCHEMA', /^dvc\.lock:6: stages\.s\.outs\[0\]\.path is required$/],
    ['lock entry unknown key', 'lock', `${lockOk}      cache: false\n`, 'E_DVCFILE_SCHEMA', /^dvc\.lock:9: stages\.s\.outs\[0\]\.cache is not a known key$/],
    ['lock size not int', 'lock', `${lockOk}      size: x\n`, 'E_DVCFILE_SCHEMA', /^dvc\.lock:9: stages\.s\.outs\[0\]\.size must be an integer$/],
    ['lock unknown hash', 'lock', lockOk.replace('hash: md5', 'hash: blake3'), 'E_HASH_UNSUPPORTED', /^dvc\.lock:7: stages\.s\.outs\[0\]\.hash: unsupported hash type 'blake3'$/],
    ['lock unknown top key', 'lock', `${lockOk}extra: 1\n`, 'E_DVCFILE_SCHEMA', /^dvc\.lock:9: extra is not a known key$/],
    ['stage without cmd', 'yaml', 'stages:\n  s:\n    outs: [a]\n', 'E_DVCFILE_SCHEMA', /^dvc\.yaml:3: stages\.s\.cmd is required$/],
    ['unknown stage key', 'yaml', 'stages:\n  s:\n    cmd: c\n    out: [a]\n', 'E_DVCFILE_SCHEMA', /^dvc\.yaml:4: stages\.s\.out is not a known key$/],
    ['cache not a bool', 'yaml', 'stages:\n  s:\n    cmd: c\n    outs:\n    - a:\n        cache: no\n', 'E_DVCFILE_SCHEMA', /^dvc\.yaml:6: stages\.s\.outs\[0\]\.a\.cache must be a boolean/],
    ['flags not a mapping', 'yaml', 'stages:\n  s:\n    cmd: c\n    metrics:\n    - m.json:\n', 'E_DVCFILE_SCHEMA', /^dvc\.yaml:5: stages\.s\.metrics\[0\]\.m\.json must be a mapping$/],
    ['output not a string', 'yaml', 'stages:\n  s:\n    cmd: c\n    outs:\n    - [a]\n', 'E_DVCFILE_SCHEMA', /^dvc\.yaml:5: stages\.s\.outs\[0\] must be a string$/],
    ['deps not strings', 'yaml', 'stages:\n  s:\n    cmd: c\n    deps:\n    - 1\n', 'E_DVCFILE_SCHEMA', /^dvc\.yaml:5: stages\.s\.deps\[0\] must be a string$/],
    ['foreach without do', 'yaml', 'stages:\n  s:\n    foreach: [a]\n', 'E_DVCFILE_SCHEMA', /^dvc\.yaml:3: stages\.s\.do is required$/],
    ['unknown top key', 'yaml', 'stage:\n  s:\n    cmd: c\n', 'E_DVCFILE_SCHEMA', /^dvc\.yaml:1: stage is not a known key$/],
    ['alias without its anchor', 'yaml', 'stages:\n  s:\n    cmd: c\n    params:\n    - *th\n', 'E_DVCFILE_SCHEMA', /^dvc\.yaml:5: Unresolved alias .*: th$/],
    ['lock alias without its anchor', 'lock', `${lockOk}    params:\n      p.yaml:\n        a: [*th]\n`, 'E_DVCFILE_SCHEMA', /^dvc\.lock:\d+: Unresolved alias .*: th$/],
  ];

  it.each(cases)('%s', (_name, which, text, code, message) => {
    let error: unknown;
    try {
      if (which === 'lock') DvcLock.parse(text, 'dvc.lock');
      else DvcYaml.parse(text, 'dvc.yaml');
    } catch (err) {
      error = err;
    }
    expect(isCpvError(error) ? error.code : error).toBe(code);
    expect((error as Error).message).toMatch(message);
  });

  it('the well-formed base lock parses', () => {
    expect(DvcLock.parse(lockOk, 'dvc.lock').stage('s')?.outs[0]?.md5).toBe('abc');
  });
});
