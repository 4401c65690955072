/**
 * `cpv move <src> <dst>`: rename a tracked output and keep its `.dvc` file and `.gitignore`
 * entries consistent (DVC's `dvc move`). When the `.dvc` file has the default name
 * (`<src>.dvc`), it becomes `<dst>.dvc` beside the new location; otherwise it stays where it is
 * and only its output path changes. The data itself is renamed, so no bytes are copied and the
 * cache is untouched (the hashes do not change).
 *
 * Order for crash safety: the new `.dvc` file is written first, then the data renamed, then the
 * `.gitignore` entries moved, then the old `.dvc` file deleted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DvcFile, writeDvcFile } from '../dvcfile/dvcfile.js';
import { CpvError, errnoCode } from '../errors.js';
import { isInside, toPosix } from '../fsutil.js';
import { addGitignoreEntry, removeGitignoreEntry } from '../git/gitignore.js';
import { isIgnoredByGit, stageFiles } from '../git/scm.js';
import { type LockOptions, withRepoLock } from './lock.js';
import { Repo } from './repo.js';
import { loadAllStageFiles, type StageFile, type TrackedOutput } from './stages.js';

export interface MoveOptions extends LockOptions {
  cwd?: string;
}

export interface MoveResult {
  /** The output's new path and its `.dvc` file, relative to cwd. */
  path: string;
  dvcFile: string;
  /**
   * Files to `git add` (the new `.dvc`, changed `.gitignore`s) and the old `.dvc` to `git rm`;
   * none in a repository without git.
   */
  gitFiles: string[];
  staged: boolean;
}

export async function moveOutput(src: string, dst: string, opts: MoveOptions = {}): Promise<MoveResult> {
  const repo = Repo.open(opts.cwd);
  return withRepoLock(repo.dvcDir, () => moveLocked(repo, src, dst), opts);
}

async function moveLocked(repo: Repo, src: string, dst: string): Promise<MoveResult> {
  const { stage, tracked, all } = await findOutput(repo, src);
  const dstAbs = destination(repo, tracked.abs, repo.resolve(dst), dst);
  checkOverlap(repo, all, tracked, dstAbs);
  const defaultName = stage.path === `${tracked.abs}.dvc`;
  const newDvc = defaultName ? `${dstAbs}.dvc` : stage.path;
  if (defaultName && fs.existsSync(newDvc)) {
    throw new CpvError('E_TARGET_TRACKED', `'${repo.display(newDvc)}' already exists`, {
      hint: 'Remove it first, or pick another destination.',
    });
  }
  // The rewritten file has no wdir: the output path is relative to the .dvc file's directory.
  const outRel = toPosix(path.relative(path.dirname(newDvc), dstAbs));
  const file = DvcFile.create(
    stage.file.outs.map((o, i) => (i === tracked.index ? { ...o, path: outRel } : o)),
    {
      deps: stage.file.deps,
      desc: stage.file.desc,
      meta: stage.file.meta,
      frozen: stage.file.frozen,
      md5: stage.file.md5,
    },
  );
  fs.mkdirSync(path.dirname(dstAbs), { recursive: true });
  writeDvcFile(newDvc, file);
  renameData(repo, tracked.abs, dstAbs, () => {
    if (newDvc !== stage.path) fs.rmSync(newDvc, { force: true });
    else writeDvcFile(stage.path, stage.file);
  });
  const gitFiles: string[] = [repo.display(newDvc)];
  if (repo.gitRoot !== undefined) {
    const removed = removeGitignoreEntry(tracked.abs);
    if (removed !== undefined) gitFiles.push(repo.display(removed));
    if (!(await isIgnoredByGit(repo.gitRoot, dstAbs))) {
      const added = addGitignoreEntry(dstAbs);
      if (added !== undefined && !gitFiles.includes(repo.display(added))) gitFiles.push(repo.display(added));
    }
  }
  if (newDvc !== stage.path) {
    fs.rmSync(stage.path, { force: true });
    gitFiles.push(repo.display(stage.path));
  }
  let staged = false;
  if (repo.config.autostage && repo.gitRoot !== undefined) {
    await stageFiles(
      repo.gitRoot,
      gitFiles.map((f) => repo.resolve(f)).filter((f) => fs.existsSync(f)),
    );
    staged = true;
  }
  return {
    path: repo.display(dstAbs),
    dvcFile: repo.display(newDvc),
    gitFiles: repo.gitRoot === undefined ? [] : gitFiles, // nothing to `git add` without git
    staged,
  };
}

async function findOutput(
  repo: Repo,
  src: string,
): Promise<{ stage: StageFile; tracked: TrackedOutput; all: StageFile[] }> {
  const abs = repo.resolve(src);
  const all = await loadAllStageFiles(repo);
  for (const stage of all) {
    const tracked = stage.outs.find((o) => o.abs === abs);
    if (tracked !== undefined) {
      if (stage.file.deps.length > 0 || stage.outs.length > 1) {
        throw new CpvError(
          'E_USAGE',
          `cannot move '${src}': ${repo.display(stage.path)} is not a plain data file`,
          {
            hint: 'Only outputs of `cpv add`-style .dvc files (one output, no dependencies) can be moved.',
          },
        );
      }
      return { stage, tracked, all };
    }
  }
  throw new CpvError(
    fs.existsSync(abs) ? 'E_USAGE' : 'E_TARGET_MISSING',
    `'${src}' is not a tracked output`,
    {
      hint: abs.endsWith('.dvc')
        ? 'Name the data path, not the .dvc file.'
        : 'Name an output of a .dvc file (see cpv status).',
    },
  );
}

/** The destination must not lie inside (or contain) another tracked output. */
function checkOverlap(repo: Repo, all: StageFile[], moving: TrackedOutput, dstAbs: string): void {
  for (const stage of all) {
    for (const o of stage.outs) {
      if (o === moving || !(isInside(o.abs, dstAbs) || isInside(dstAbs, o.abs))) continue;
      throw new CpvError(
        'E_TARGET_TRACKED',
        `cannot move to '${repo.display(dstAbs)}': it overlaps the output '${repo.display(o.abs)}' of ${repo.display(stage.path)}`,
        { hint: 'Pick a destination outside other tracked outputs.' },
      );
    }
  }
}

/** Where the data goes: into `dst` if it is an existing directory, else to `dst` itself. */
function destination(repo: Repo, srcAbs: string, dstAbs: string, dst: string): string {
  let target = dstAbs;
  if (fs.statSync(dstAbs, { throwIfNoEntry: false })?.isDirectory())
    target = path.join(dstAbs, path.basename(srcAbs));
  const rel = toPosix(path.relative(repo.root, target));
  if (
    !isInside(repo.root, target) ||
    target === repo.root ||
    rel.split('/').some((p) => p === '.dvc' || p === '.git')
  ) {
    throw new CpvError(
      'E_TARGET_OUTSIDE',
      `cannot move to '${dst}': outside the repository or inside .dvc/.git`,
      {
        hint: 'Pick a destination inside the repository work tree.',
      },
    );
  }
  if (isInside(srcAbs, target)) {
    throw new CpvError('E_USAGE', `cannot move '${repo.display(srcAbs)}' into itself`, {
      hint: 'Pick another destination.',
    });
  }
  if (fs.lstatSync(target, { throwIfNoEntry: false }) !== undefined) {
    throw new CpvError('E_TARGET_TRACKED', `'${repo.display(target)}' already exists`, {
      hint: 'Remove it first, or pick another destination.',
    });
  }
  return target;
}

/** Renames the data; on failure `undo` takes the freshly written `.dvc` file back. */
function renameData(repo: Repo, from: string, to: string, undo: () => void): void {
  if (!fs.existsSync(from)) return; // data not checked out: moving the .dvc file is enough
  try {
    fs.renameSync(from, to);
  } catch (err) {
    undo();
    throw new CpvError(
      'E_IO',
      `cannot move '${repo.display(from)}' to '${repo.display(to)}': ${errnoCode(err) ?? err}`,
      {
        hint:
          errnoCode(err) === 'EXDEV'
            ? 'The destination is on another filesystem; move within the repository work tree.'
            : 'Check permissions on both directories.',
        cause: err,
      },
    );
  }
}
