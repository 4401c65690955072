/**
 * `.gitignore` entries for DVC outputs, as DVC writes them (dvc-compat §7): the line `/<name>` in
 * the `.gitignore` of the output's parent directory, with gitignore's special characters escaped,
 * appended after a newline if the file lacks one, never duplicated.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../fsutil.js';

/** Escapes `[ ] ! * # ?` with a backslash, as pathspec's escape does; spaces stay as they are. */
export function escapeGitignore(name: string): string {
  return name.replace(/[[\]!*#?]/g, (c) => `\\${c}`);
}

export function gitignoreEntry(outputPath: string): string {
  return `/${escapeGitignore(path.basename(outputPath))}`;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Adds the entry for `outputPath` (absolute) to its parent's `.gitignore`.
 * Returns the `.gitignore` path when the file changed, else undefined.
 */
export function addGitignoreEntry(outputPath: string): string | undefined {
  const file = path.join(path.dirname(outputPath), '.gitignore');
  const entry = gitignoreEntry(outputPath);
  const old = readText(file) ?? '';
  if (old.split(/\r?\n/).some((line) => line === entry)) return undefined;
  const sep = old === '' || old.endsWith('\n') ? '' : '\n';
  writeFileAtomic(file, `${old}${sep}${entry}\n`);
  return file;
}

/** Removes the entry for `outputPath`; deletes the `.gitignore` when nothing is left. */
export function removeGitignoreEntry(outputPath: string): string | undefined {
  const file = path.join(path.dirname(outputPath), '.gitignore');
  const old = readText(file);
  if (old === undefined) return undefined;
  const entry = gitignoreEntry(outputPath);
  const kept = old.split('\n').filter((line) => line.trim() !== entry);
  if (kept.length === old.split('\n').length) return undefined;
  const text = kept.join('\n');
  if (text.trim() === '') fs.rmSync(file, { force: true });
  else writeFileAtomic(file, text);
  return file;
}
