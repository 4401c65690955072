import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addGitignoreEntry, escapeGitignore, removeGitignoreEntry } from '../../src/git/gitignore.js';
import { tempDir } from '../helpers/tmp.js';

describe('.gitignore entries', () => {
  it.each([
    ['#hash', '\\#hash'],
    ['*star', '\\*star'],
    ['q?', 'q\\?'],
    ['[br]', '\\[br\\]'],
    ['!bang', '\\!bang'],
    ['dir with space', 'dir with space'],
    ['café.txt', 'café.txt'],
  ])('escapes %s as DVC does', (name, escaped) => {
    expect(escapeGitignore(name)).toBe(escaped);
  });

  it('appends after a missing newline, never twice, and removes cleanly', () => {
    const dir = tempDir();
    const gi = path.join(dir, '.gitignore');
    fs.writeFileSync(gi, '*.log');
    expect(addGitignoreEntry(path.join(dir, 'data'))).toBe(gi);
    expect(fs.readFileSync(gi, 'utf8')).toBe('*.log\n/data\n');
    expect(addGitignoreEntry(path.join(dir, 'data'))).toBeUndefined();
    expect(fs.readFileSync(gi, 'utf8')).toBe('*.log\n/data\n');
    expect(removeGitignoreEntry(path.join(dir, 'data'))).toBe(gi);
    expect(fs.readFileSync(gi, 'utf8')).toBe('*.log\n');
    expect(removeGitignoreEntry(path.join(dir, 'data'))).toBeUndefined();
  });

  it('creates the file in the parent dir and deletes it when emptied', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'sub'));
    addGitignoreEntry(path.join(dir, 'sub', 'x[1]'));
    expect(fs.readFileSync(path.join(dir, 'sub/.gitignore'), 'utf8')).toBe('/x\\[1\\]\n');
    removeGitignoreEntry(path.join(dir, 'sub', 'x[1]'));
    expect(fs.existsSync(path.join(dir, 'sub/.gitignore'))).toBe(false);
  });
});
