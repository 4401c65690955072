/**
 * `cpv remove <x.dvc>... [--outs]`: stop tracking (dvc-compat §7 `dvc remove`). Deletes the `.dvc`
 * file and the outputs' `.gitignore` entries (the `.gitignore` too when nothing is left in it);
 * keeps the data, turning hard- or sym-linked files into private writable copies first, unless
 * `outs` asks to delete it. The cache is never touched (`cpv gc` reclaims it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../errors.js';
import { removeGitignoreEntry } from '../git/gitignore.js';
import { stageFiles, trackedByGit } from '../git/scm.js';
import { type LockOptions, withRepoLock } from './lock.js';
import { Repo } from './repo.js';
import { loadStageFile, type StageFile } from './stages.js';
import { unprotectPath } from './unprotect.js';

export interface RemoveOptions extends LockOptions {
  cwd?: string;
  /** Delete the outputs' data from the workspace too. */
  outs?: boolean;
}

export interface RemoveResult {
  /** Removed `.dvc` files, relative to cwd. */
  removed: string[];
  /**
   * Files to `git add`/`git rm` (removed `.dvc` files, changed or deleted `.gitignore`s); none in
   * a repository without git.
   */
  gitFiles: string[];
  staged: boolean;
}

export async function removeTargets(targets: string[], opts: RemoveOptions = {}): Promise<RemoveResult> {
  if (targets.length === 0) {
    throw new CpvError('E_USAGE', 'nothing to remove', { hint: 'Name at least one .dvc file.' });
  }
  const repo = Repo.open(opts.cwd);
  return withRepoLock(repo.dvcDir, () => removeLocked(repo, targets, opts), opts);
}

async function removeLocked(repo: Repo, targets: string[], opts: RemoveOptions): Promise<RemoveResult> {
  const stages: StageFile[] = [];
  for (const target of targets) stages.push(await loadTarget(repo, target));
  const result: RemoveResult = { removed: [], gitFiles: [], staged: false };
  const note = (file: string) => {
    const shown = repo.display(file);
    if (!result.gitFiles.includes(shown)) result.gitFiles.push(shown);
  };
  for (const stage of stages) {
    for (const { abs } of stage.outs) {
      if (repo.gitRoot !== undefined) {
        const gitignore = removeGitignoreEntry(abs);
        if (gitignore !== undefined) note(gitignore);
      }
      if (opts.outs) fs.rmSync(abs, { recursive: true, force: true });
      else unprotectPath(abs);
    }
    fs.rmSync(stage.path, { force: true });
    note(stage.path);
    result.removed.push(repo.display(stage.path));
  }
  if (repo.config.autostage && repo.gitRoot !== undefined) {
    await stageRemoval(
      repo.gitRoot,
      result.gitFiles.map((f) => repo.resolve(f)),
    );
    result.staged = true;
  }
  if (repo.gitRoot === undefined) result.gitFiles = []; // nothing to `git rm` without git
  return result;
}

/** Targets are `.dvc` files (DVC also takes pipeline stage names, which cpv does not edit). */
async function loadTarget(repo: Repo, target: string): Promise<StageFile> {
  const abs = repo.resolve(target);
  if (!abs.endsWith('.dvc') || !fs.existsSync(abs)) {
    const guess = `${abs}.dvc`;
    throw new CpvError(
      fs.existsSync(abs) ? 'E_USAGE' : 'E_TARGET_MISSING',
      `'${target}' is not a .dvc file`,
      {
        hint: fs.existsSync(guess)
          ? `Did you mean '${repo.display(guess)}'?`
          : 'Name the .dvc file that tracks the data (e.g. data.dvc).',
      },
    );
  }
  if (!fs.statSync(abs).isFile() || path.basename(abs) === '.dvc') {
    throw new CpvError('E_USAGE', `'${target}' is not a .dvc file`, { hint: 'Name a .dvc file.' });
  }
  return loadStageFile(abs);
}

/**
 * Stages present files with `git add`, and deleted ones that git tracks as removals (a deleted file
 * git never knew needs nothing), in one step under git's index lock.
 */
async function stageRemoval(gitRoot: string, files: string[]): Promise<void> {
  const gone = files.filter((f) => !fs.existsSync(f));
  const tracked = await trackedByGit(gitRoot, gone);
  const neverKnown = new Set(gone.filter((_, i) => !tracked[i]));
  await stageFiles(
    gitRoot,
    files.filter((f) => !neverKnown.has(f)),
  );
}
