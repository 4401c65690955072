import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modelRepoTemplates } from '../../src/api/checkpoint/layout.js';
import { checkMetrics, metricsLine, parseMetricsLog } from '../../src/api/checkpoint/metrics.js';
import { checkName, isValidName } from '../../src/api/checkpoint/names.js';
import { PlanBuilder, stepsOf } from '../../src/api/checkpoint/plan.js';
import {
  DEFAULT_HTTPS_URL_TEMPLATE,
  DEFAULT_SSH_URL_TEMPLATE,
  expandUrlTemplate,
  localDataDir,
  s3DataUrl,
  teamProject,
} from '../../src/api/checkpoint/urls.js';
import {
  compareVersions,
  nextVersion,
  parseVersionTag,
  sortVersionTags,
} from '../../src/api/checkpoint/versions.js';
import type { CpvError } from '../../src/errors.js';

function errorOf(fn: () => unknown): CpvError {
  try {
    fn();
  } catch (err) {
    return err as CpvError;
  }
  throw new Error('expected a throw');
}

describe('team and model names', () => {
  it.each([
    ['', 'empty'],
    ['a/b', 'path separator'],
    ['a\\b', 'path separator'],
    ['..', "'..'"],
    ['x..y', "'..'"],
    ['bad\nname', 'control character'],
    ['tab\tname', 'control character'],
    ['-flag', 'outside'],
    ['.hidden', 'outside'],
    ['sp ace', 'outside'],
    ['x'.repeat(101), 'longer'],
  ])('refuses %j (%s) with E_BAD_NAME and a hint', (name, why) => {
    const err = errorOf(() => checkName('model', name));
    expect(err.code).toBe('E_BAD_NAME');
    expect(err.message).toContain(why);
    expect(err.hint).toMatch(/letters, digits/);
  });

  it('accepts ordinary names', () => {
    for (const n of ['resnet50', 'Vision', 'bert-base_v2.1', '7b']) expect(checkName('team', n)).toBe(n);
    expect(errorOf(() => checkName('team', 42)).code).toBe('E_BAD_NAME');
  });

  it('never accepts a name that could leave its directory', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (isValidName(s)) {
          expect(s).not.toMatch(/[/\\]|\.\.|[\u0000-\u001f]/);
          expect(s.length).toBeGreaterThan(0);
        }
      }),
    );
  });
});

describe('version tags', () => {
  it('parses model and data tags, and bare numbers', () => {
    expect(parseVersionTag('v1.10', 'model')).toEqual({
      namespace: 'model',
      major: 1,
      minor: 10,
      tag: 'v1.10',
    });
    expect(parseVersionTag('2.3', 'model').tag).toBe('v2.3');
    expect(parseVersionTag('data-v1.0', 'data').tag).toBe('data-v1.0');
    expect(parseVersionTag('v1.4', 'data').tag).toBe('data-v1.4');
  });

  it.each(['v1', '1', 'v1.2.3', 'v01.2', 'v1.02', 'x1.0', '', 'data-v1.0 ', 'v-1.0'])(
    'refuses %j as a model version',
    (tag) => {
      if (tag === 'data-v1.0 ') {
        expect(errorOf(() => parseVersionTag(tag, 'model')).code).toBe('E_BAD_VERSION');
        return;
      }
      const err = errorOf(() => parseVersionTag(tag, 'model'));
      expect(err.code).toBe('E_BAD_VERSION');
      expect(err.hint).toContain('v1.0');
    },
  );

  it('orders numerically: v1.9 before v1.10 before v2.0, ignoring other tags', () => {
    const tags = ['v1.10', 'data-v1.0', 'v2.0', 'v1.9', 'release', 'v1.2'];
    expect(sortVersionTags(tags, 'model').map((v) => v.tag)).toEqual(['v1.2', 'v1.9', 'v1.10', 'v2.0']);
    expect(sortVersionTags(tags, 'data').map((v) => v.tag)).toEqual(['data-v1.0']);
  });

  it('starts at v1.0 and then bumps the latest minor', () => {
    expect(nextVersion([], 'model').tag).toBe('v1.0');
    expect(nextVersion(['data-v3.4'], 'model').tag).toBe('v1.0');
    expect(nextVersion(['v1.0'], 'model').tag).toBe('v1.1');
    expect(nextVersion(['v1.9', 'v1.10', 'v1.2'], 'model').tag).toBe('v1.11');
    expect(nextVersion(['v1.3', 'v2.0'], 'model').tag).toBe('v2.1');
    expect(nextVersion(['v5.0'], 'data').tag).toBe('data-v1.0');
  });

  it('compares like the numbers it holds', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(1000), fc.nat(1000), fc.nat(1000), (a, b, c, d) => {
        const x = parseVersionTag(`v${a}.${b}`, 'model');
        const y = parseVersionTag(`v${c}.${d}`, 'model');
        expect(Math.sign(compareVersions(x, y))).toBe(Math.sign(a - c || b - d));
      }),
    );
  });
});

describe('metrics lines', () => {
  const now = new Date('2026-11-23T12:00:00.000Z');

  it('writes one JSON line with the timestamp, and reads it back', () => {
    const line = metricsLine({ loss: 0.25, acc: [0.5, 0.75], tags: { best: true }, note: null }, now, {
      message: 'epoch 3',
      dataVersion: 'data-v1.0',
    });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
    expect(parseMetricsLog(`${line}garbage\n\n${line}`)).toEqual([
      {
        timestamp: '2026-11-23T12:00:00.000Z',
        metrics: { loss: 0.25, acc: [0.5, 0.75], tags: { best: true }, note: null },
        message: 'epoch 3',
        dataVersion: 'data-v1.0',
      },
      expect.objectContaining({ timestamp: '2026-11-23T12:00:00.000Z' }),
    ]);
  });

  it.each([
    [{ loss: Number.NaN }, 'metrics.loss is NaN'],
    [{ loss: Number.POSITIVE_INFINITY }, 'metrics.loss is Infinity'],
    [{ f: () => 1 }, 'metrics.f is a function'],
    [{ n: 10n }, 'metrics.n is a bigint'],
    [{ u: undefined }, 'metrics.u is a undefined'],
    [{ d: new Date(0) }, 'metrics.d is a Date object'],
    [{ deep: { list: [1, Number.NaN] } }, 'metrics.deep.list[1] is NaN'],
    [[1, 2], 'must be a plain object'],
    [null, 'must be a plain object'],
    ['0.5', 'must be a plain object'],
  ])('refuses %o naming the field', (metrics, message) => {
    const err = errorOf(() => metricsLine(metrics, now));
    expect(err.code).toBe('E_BAD_METRICS');
    expect(err.message).toContain(message);
  });

  it('refuses cycles but accepts shared (non-cyclic) references', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(errorOf(() => checkMetrics(cyclic)).message).toContain('refers back to itself');
    const shared = { x: 1 };
    expect(checkMetrics({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });
});

describe('remote URLs and layout', () => {
  it('fills the git URL template', () => {
    expect(teamProject('vision')).toBe('AI-Vision-model-checkpoints');
    expect(expandUrlTemplate(DEFAULT_HTTPS_URL_TEMPLATE, 'vision', 'resnet')).toBe(
      'https://bitbucket.org/AI-Vision-model-checkpoints/resnet.git',
    );
    expect(expandUrlTemplate(DEFAULT_SSH_URL_TEMPLATE, 'nlp', 'bert')).toBe(
      'git@bitbucket.org:AI-Nlp-model-checkpoints/bert.git',
    );
    expect(expandUrlTemplate('https://gitlab.example.com/{team}/{Team}-{model}.git', 'ml', 'm1')).toBe(
      'https://gitlab.example.com/ml/Ml-m1.git',
    );
    expect(errorOf(() => expandUrlTemplate('https://h/{owner}/{model}', 'a', 'b')).code).toBe(
      'E_CONFIG_VALUE',
    );
    expect(errorOf(() => expandUrlTemplate(DEFAULT_HTTPS_URL_TEMPLATE, 'a', '../b')).code).toBe('E_BAD_NAME');
  });

  it('puts data under <bucket>/<team>/<model>', () => {
    expect(s3DataUrl('ml-data', 'vision', 'resnet')).toBe('s3://ml-data/vision/resnet');
    expect(errorOf(() => s3DataUrl('s3://x', 'a', 'b')).code).toBe('E_CONFIG_VALUE');
    expect(localDataDir('/srv/store', 'vision', 'resnet')).toBe('/srv/store/vision/resnet');
  });

  it('starts a model repo with train.py, README.md and an empty metrics.log', () => {
    const files = modelRepoTemplates('vision', 'resnet');
    expect(files.map((f) => f.path)).toEqual(['train.py', 'README.md', 'metrics.log']);
    expect(files[1]?.content).toContain('# resnet');
    expect(files[1]?.content).toContain('**vision**');
    expect(files[0]?.content).toContain('model.bin');
    expect(files[2]?.content).toBe('');
  });

  it('builds plans step by step', () => {
    const plan = new PlanBuilder('uploadModelCheckpoint', '/w/m')
      .add({ kind: 'hash', path: 'model.bin' })
      .add({ kind: 'upload', paths: ['model.bin'], remote: '/s' })
      .add({ kind: 'commit', message: 'm', files: ['model.bin.dvc'] })
      .build();
    expect(plan.action).toBe('uploadModelCheckpoint');
    expect(stepsOf(plan, 'upload')).toEqual([{ kind: 'upload', paths: ['model.bin'], remote: '/s' }]);
    expect(stepsOf(plan, 'tag')).toEqual([]);
  });
});
