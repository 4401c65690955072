/**
 * Reading a model repo's state and putting an earlier version's files back.
 *
 * - `uncommittedChanges`: files git sees changed plus DVC outputs that differ from their pointers
 *   (a retrained `model.bin` not yet uploaded is a change too).
 * - `restoreFromCommit`: writes a commit's files over the work tree (temp + rename each), removes
 *   files the commit lacks, then brings the DVC outputs in line with the restored pointers,
 *   fetching objects the cache lacks from the data remote first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../../errors.js';
import { writeFileAtomic } from '../../fsutil.js';
import { checkout } from '../checkout.js';
import { repoStatus } from '../status.js';
import { fetchData, type TransferHooks } from './data-sync.js';
import type { ModelRepo } from './model-repo.js';

/** Paths the checkpoint API never restores or exports: DVC's own config and git plumbing. */
export function isInternal(file: string): boolean {
  return file.startsWith('.dvc/') || file === '.dvcignore';
}

export async function uncommittedChanges(repo: ModelRepo): Promise<string[]> {
  const changed = new Set(await repo.git.changedFiles());
  const status = await repoStatus([], { cwd: repo.dir });
  for (const stage of Object.values(status.stages)) {
    for (const entry of stage) {
      if (typeof entry !== 'object') continue;
      // Only a modified output holds work that a restore would lose; a missing one (fresh clone,
      // or deleted by hand) is restored from the cache or the remote.
      for (const [out, state] of Object.entries(entry['changed outs']))
        if (state === 'modified') changed.add(out);
    }
  }
  return [...changed].sort();
}

/** Throws E_DIRTY listing the changes, unless there are none or `force` is set. */
export async function refuseIfDirty(
  repo: ModelRepo,
  force: boolean | undefined,
  action: string,
): Promise<void> {
  if (force) return;
  const changes = await uncommittedChanges(repo);
  if (changes.length === 0) return;
  const shown = changes.slice(0, 5).join(', ') + (changes.length > 5 ? `, … (${changes.length} in all)` : '');
  throw new CpvError('E_DIRTY', `cannot ${action}: ${repo.model} has uncommitted changes (${shown})`, {
    hint: 'Upload them first (uploadModelCheckpoint), or pass force to discard them.',
  });
}

function sameContent(file: string, bytes: Uint8Array): boolean {
  try {
    return Buffer.from(bytes).equals(fs.readFileSync(file));
  } catch {
    return false;
  }
}

/**
 * Makes the work tree's files for which `include` holds equal to `commit`'s; returns the paths that
 * changed. DVC outputs follow their pointers.
 */
export async function restoreFromCommit(
  repo: ModelRepo,
  commit: string,
  include: (file: string) => boolean,
  transfer: TransferHooks = {},
): Promise<string[]> {
  const wanted = (await repo.git.filesAt(commit)).filter((f) => !isInternal(f) && include(f));
  const head = await repo.git.headCommit();
  const current = head ? (await repo.git.filesAt(head)).filter((f) => !isInternal(f) && include(f)) : [];
  const changed: string[] = [];
  const pointers: Array<{ name: string; text: string }> = [];
  for (const file of wanted) {
    const bytes = (await repo.git.readAt(commit, file)) ?? new Uint8Array();
    if (file.endsWith('.dvc')) pointers.push({ name: file, text: Buffer.from(bytes).toString('utf8') });
    const abs = repo.resolve(file);
    if (sameContent(abs, bytes)) continue;
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    writeFileAtomic(abs, bytes);
    changed.push(file);
  }
  for (const file of current) {
    if (wanted.includes(file)) continue;
    fs.rmSync(repo.resolve(file), { force: true });
    changed.push(file);
  }
  if (pointers.length > 0) {
    await fetchData(repo.dir, pointers, transfer);
    await checkout(
      pointers.map((p) => p.name),
      { cwd: repo.dir, force: true },
    );
  }
  return changed;
}
