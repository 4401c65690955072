/**
 * Model test: random sequences of file edits, stage, commit and tag applied both through GitRepo
 * and through the git CLI in a twin repository (same identity and dates) must give the same
 * index, the same commit and tag object ids, and the same successes and failures.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GitRepo } from '../../src/git/repo.js';
import { snapshot, tempDir } from '../helpers/tmp.js';
import { g, git, IDENTITY, WHEN } from './peer.js';

const who = { ...IDENTITY, ...WHEN };
const FILES = ['a.txt', 'dir/b.dvc', 'dir/sub/c.bin', 'e f.txt'];

type Op =
  | { kind: 'write'; file: string; content: string; exec: boolean }
  | { kind: 'delete'; file: string }
  | { kind: 'stage'; paths: string[] }
  | { kind: 'commit'; message: string }
  | { kind: 'tag'; name: string; message: string }
  | { kind: 'unstage'; paths: string[] }
  | { kind: 'checkout'; rev: string; paths: string[] };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    file: fc.constantFrom(...FILES),
    content: fc.string({ maxLength: 20 }),
    exec: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('delete' as const), file: fc.constantFrom(...FILES) }),
  fc.record({
    kind: fc.constant('stage' as const),
    paths: fc.subarray([...FILES, 'dir', 'dir/sub'], { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    kind: fc.constant('commit' as const),
    message: fc.constantFrom('one', 'two\n\nbody', '  padded  '),
  }),
  fc.record({
    kind: fc.constant('tag' as const),
    name: fc.constantFrom('v1', 'v2', 'exp/a'),
    message: fc.constantFrom('release', 'notes\nmore'),
  }),
);

function applyFile(root: string, o: Op): void {
  const p = path.join(root, o.kind === 'write' || o.kind === 'delete' ? o.file : '');
  if (o.kind === 'write') {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, o.content);
    fs.chmodSync(p, o.exec ? 0o755 : 0o644);
  } else if (o.kind === 'delete') fs.rmSync(p, { force: true });
}

async function applyCpv(repo: GitRepo, o: Op): Promise<boolean> {
  try {
    if (o.kind === 'stage') await repo.stage(o.paths);
    else if (o.kind === 'commit') await repo.commit({ message: o.message, author: who, committer: who });
    else if (o.kind === 'tag') await repo.tag({ name: o.name, message: o.message, tagger: who });
    else if (o.kind === 'unstage') await repo.unstage(o.paths);
    else if (o.kind === 'checkout') await repo.checkout(o.rev, o.paths);
    else applyFile(repo.dir, o);
    return true;
  } catch {
    return false;
  }
}

function applyCli(dir: string, o: Op): boolean {
  if (o.kind === 'stage') return git(dir, ['add', '--', ...o.paths]).status === 0;
  if (o.kind === 'commit') return git(dir, ['commit', '-q', '-m', o.message]).status === 0;
  if (o.kind === 'tag') return git(dir, ['tag', '-a', o.name, '-m', o.message]).status === 0;
  if (o.kind === 'unstage') return git(dir, ['reset', '-q', '--', ...o.paths]).status === 0;
  if (o.kind === 'checkout') return git(dir, ['checkout', '-q', o.rev, '--', ...o.paths]).status === 0;
  applyFile(dir, o);
  return true;
}

describe('GitRepo and the git CLI, step by step', () => {
  it('agree on index, commits, tags and failures for random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
        const repo = await GitRepo.init(path.join(tempDir(), 'cpv'));
        const twin = tempDir();
        g(twin, 'init', '-q', '-b', 'main');
        for (const o of ops) {
          const ours = await applyCpv(repo, o);
          const theirs = applyCli(twin, o);
          expect(ours, JSON.stringify(o)).toBe(theirs);
          expect(g(repo.dir, 'ls-files', '-s'), JSON.stringify(o)).toBe(g(twin, 'ls-files', '-s'));
          expect(snapshot(repo.dir), JSON.stringify(o)).toEqual(snapshot(twin));
        }
        const refs = (dir: string) => git(dir, ['for-each-ref', '--format=%(refname) %(objectname)']).stdout;
        expect(refs(repo.dir)).toBe(refs(twin));
      }),
      {
        numRuns: 30,
        examples: [
          // a file deleted inside a staged directory: git add dir stages the deletion
          [
            [
              { kind: 'write', file: 'dir/b.dvc', content: 'b', exec: false },
              { kind: 'write', file: 'dir/sub/c.bin', content: 'c', exec: true },
              { kind: 'stage', paths: ['dir'] },
              { kind: 'commit', message: 'one' },
              { kind: 'delete', file: 'dir/sub/c.bin' },
              { kind: 'stage', paths: ['dir'] },
              { kind: 'commit', message: 'two\n\nbody' },
              { kind: 'tag', name: 'v1', message: 'release' },
            ],
          ],
        ],
      },
    );
  });
});
