/** Ref names: cpv accepts exactly what `git check-ref-format` accepts for a tag. */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertRefName, refNameProblem } from '../../src/git/refname.js';

function gitAccepts(name: string): boolean {
  return spawnSync('git', ['check-ref-format', `refs/tags/${name}`]).status === 0;
}

const alphabet = [
  'a',
  'b',
  '1',
  '.',
  '/',
  '-',
  '_',
  '@',
  '{',
  '}',
  '~',
  '^',
  ':',
  '?',
  '*',
  '[',
  '\\',
  ' ',
  '\t',
  '\x7f',
  'é',
  'lock',
  '.lock',
];

describe('ref names', () => {
  it('agrees with git check-ref-format on known cases', () => {
    const cases = [
      'v1.0',
      'exp/run-3',
      'a..b',
      'a/.b',
      '.a',
      'a.',
      'a.lock',
      'a.lock/b',
      'a//b',
      '/a',
      'a/',
      '@',
      'a@{b',
      'a@b',
      'a b',
      'a~1',
      'a^',
      'a:b',
      'a?',
      'a*',
      'a[b',
      'a\\b',
      'é',
      'x/y.lockz',
      '',
      'a\x01',
    ];
    for (const name of cases) {
      expect(refNameProblem(name) === undefined, JSON.stringify(name)).toBe(gitAccepts(name));
    }
  });

  it('agrees with git check-ref-format on generated names', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 6 }), (parts) => {
        const name = parts.join('');
        if (name.startsWith('-')) return; // git tag refuses these itself, check-ref-format does not
        expect(refNameProblem(name) === undefined, JSON.stringify(name)).toBe(gitAccepts(name));
      }),
      { numRuns: 250 },
    );
  });

  it('refuses a leading dash and a branch called HEAD with a clear error', () => {
    expect(() => assertRefName('-v1', 'tag')).toThrow(/invalid tag name '-v1'/);
    expect(() => assertRefName('HEAD', 'branch')).toThrow(/reserved/);
    expect(() => assertRefName('a..b', 'tag')).toThrowError(
      expect.objectContaining({ code: 'E_BAD_REF_NAME' }),
    );
  });
});
