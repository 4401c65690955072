/**
 * `cpv add`: track files and directories (dvc-compat §1, §3, §4, §7).
 *
 * Plan first, then apply: every target is validated before anything is written, so a bad target
 * in a list leaves the repository untouched. Applying one target = store its objects in the cache,
 * write `<target>.dvc` (temp + rename), add `/<name>` to the parent `.gitignore`, then re-link the
 * workspace copy per `cache.type`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HashName } from '../cache/hash.js';
import { Linker, workspaceFileMode } from '../cache/link.js';
import { DvcFile, type DvcOutput, hashNameOf, readDvcFile, writeDvcFile } from '../dvcfile/dvcfile.js';
import { CpvError } from '../errors.js';
import { isInside, toPosix } from '../fsutil.js';
import { addGitignoreEntry } from '../git/gitignore.js';
import { isIgnoredByGit, isTrackedByGit, stageFiles } from '../git/scm.js';
import { refuseIfCheckoutInterrupted } from './checkout-journal.js';
import { type LockOptions, withRepoLock } from './lock.js';
import { fileStat, type HashedOutput, hashOutput, remember, statOutput } from './outputs.js';
import { Repo } from './repo.js';
import { loadAllStageFiles } from './stages.js';

export interface AddOptions extends LockOptions {
  cwd?: string;
  onProgress?: (event: { target: string; done: number; total: number }) => void;
  /** Ctrl-C: stops before the next file; what was written is complete (objects, .dvc files). */
  signal?: AbortSignal | undefined;
}

export interface AddedOutput {
  /** The target as given, relative to cwd. */
  target: string;
  dvcFile: string;
  oid: string;
  size: number;
  nfiles?: number;
  isDir: boolean;
}

export interface AddResult {
  outputs: AddedOutput[];
  /**
   * Files to `git add` (relative to cwd): the `.dvc` files and changed `.gitignore`s; none in a
   * repository without git.
   */
  gitFiles: string[];
  /** Whether those files were staged (core.autostage). */
  staged: boolean;
  warnings: string[];
}

interface PlannedTarget {
  abs: string;
  display: string;
  dvcPath: string;
  existing: DvcFile | undefined;
}

export async function addTargets(targets: string[], opts: AddOptions = {}): Promise<AddResult> {
  if (targets.length === 0) {
    throw new CpvError('E_USAGE', 'nothing to add', { hint: 'Name at least one file or directory.' });
  }
  const repo = Repo.open(opts.cwd);
  return withRepoLock(repo.dvcDir, () => addPlanned(repo, targets, opts), opts);
}

async function addPlanned(repo: Repo, targets: string[], opts: AddOptions): Promise<AddResult> {
  refuseIfCheckoutInterrupted(repo.dvcDir);
  const plan = await planTargets(repo, targets);
  const result: AddResult = { outputs: [], gitFiles: [], staged: false, warnings: [] };
  const linker = new Linker(repo.config.linkTypes);
  for (const target of plan) {
    opts.signal?.throwIfAborted();
    const added = await applyTarget(repo, target, linker, result, opts);
    result.outputs.push(added);
    repo.saveState();
  }
  if (repo.config.autostage && repo.gitRoot !== undefined) {
    await stageFiles(
      repo.gitRoot,
      result.gitFiles.map((f) => repo.resolve(f)),
    );
    result.staged = true;
  }
  // Without git there is nothing to `git add` (DVC prints no hint in a --no-scm repo either).
  if (repo.gitRoot === undefined) result.gitFiles = [];
  return result;
}

async function planTargets(repo: Repo, targets: string[]): Promise<PlannedTarget[]> {
  const stages = await loadAllStageFiles(repo);
  const plan: PlannedTarget[] = [];
  for (const target of targets) {
    const abs = repo.resolve(target);
    const display = repo.display(abs);
    await validateTarget(repo, abs, display);
    const dvcPath = `${abs}.dvc`;
    checkOverlap(stages, abs, dvcPath, display);
    const existing = fs.existsSync(dvcPath) ? await readDvcFile(dvcPath) : undefined;
    plan.push({ abs, display, dvcPath, existing });
  }
  return plan;
}

async function validateTarget(repo: Repo, abs: string, display: string): Promise<void> {
  if (!isInside(repo.root, abs) || abs === repo.root) {
    throw new CpvError('E_TARGET_OUTSIDE', `'${display}' is outside of the repository ${repo.root}`, {
      hint: 'Only paths inside the repository (below its root) can be tracked.',
    });
  }
  const parts = toPosix(path.relative(repo.root, abs)).split('/');
  if (parts.some((p) => p === '.dvc' || p === '.git')) {
    throw new CpvError('E_TARGET_OUTSIDE', `'${display}' is inside .dvc/ or .git/`, {
      hint: 'Internal directories of DVC and git cannot be tracked.',
    });
  }
  if (abs.endsWith('.dvc')) {
    throw new CpvError('E_USAGE', `'${display}' is a .dvc file`, {
      hint: 'Add the data path itself (without .dvc); to refresh an output use cpv add <path>.',
    });
  }
  checkNoSymlinkedParent(repo, abs, display);
  statOutput(abs, display);
  const ignore = await repo.ignore();
  if (ignore.isIgnored(abs, fs.statSync(abs).isDirectory())) {
    throw new CpvError('E_TARGET_IGNORED', `'${display}' is ignored by .dvcignore`, {
      hint: 'Remove the matching pattern from .dvcignore to track it.',
    });
  }
  if (repo.gitRoot !== undefined && (await isTrackedByGit(repo.gitRoot, abs))) {
    throw new CpvError('E_TARGET_TRACKED', `output '${display}' is already tracked by git`, {
      hint: `Run \`git rm -r --cached '${display}'\` and commit, then add it again.`,
    });
  }
}

/** DVC refuses to add files inside symlinked directories (the link would be followed). */
function checkNoSymlinkedParent(repo: Repo, abs: string, display: string): void {
  let dir = path.dirname(abs);
  while (dir !== repo.root && isInside(repo.root, dir)) {
    if (fs.lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new CpvError(
        'E_SYMLINK_DIR',
        `cannot add '${display}': it is inside the symlinked directory '${repo.display(dir)}'`,
        {
          hint: 'Add the real directory the link points to instead.',
        },
      );
    }
    dir = path.dirname(dir);
  }
}

function checkOverlap(
  stages: Awaited<ReturnType<typeof loadAllStageFiles>>,
  abs: string,
  dvcPath: string,
  display: string,
): void {
  for (const stage of stages) {
    if (stage.path === dvcPath) continue;
    for (const out of stage.outs) {
      if (isInside(out.abs, abs) || isInside(abs, out.abs)) {
        throw new CpvError(
          'E_TARGET_TRACKED',
          `cannot add '${display}': it overlaps the output '${out.out.path}' of ${path.basename(stage.path)}`,
          { hint: 'Track the enclosing directory as a whole, or remove the other .dvc file first.' },
        );
      }
    }
  }
}

/** Which hash a (re-)added output uses: legacy outs stay legacy only while their data is unchanged. */
function chooseHash(repo: Repo, target: PlannedTarget): Promise<{ hashName: HashName; keep: boolean }> {
  return chooseHashFor(repo, target.abs, target.existing?.outs[0]);
}

/** `chooseHash` for any output (commit uses it too); `keep` = the recorded legacy hash still holds. */
export async function chooseHashFor(
  repo: Repo,
  abs: string,
  out: DvcOutput | undefined,
): Promise<{ hashName: HashName; keep: boolean }> {
  if (out === undefined || hashNameOf(out) === 'md5') return { hashName: 'md5', keep: false };
  const legacy = await hashOutput(repo, abs, 'md5-dos2unix', { store: false });
  return legacy.oid === out.md5 ? { hashName: 'md5-dos2unix', keep: true } : { hashName: 'md5', keep: false };
}

async function applyTarget(
  repo: Repo,
  target: PlannedTarget,
  linker: Linker,
  result: AddResult,
  opts: AddOptions,
): Promise<AddedOutput> {
  const { hashName, keep } = await chooseHash(repo, target);
  const hashed = await hashOutput(repo, target.abs, hashName, {
    store: true,
    precheck: true,
    onProgress: (done, total) => opts.onProgress?.({ target: target.display, done, total }),
    signal: opts.signal,
  });
  if (hashed.isDir ? hashed.nfiles === 0 : hashed.size === 0)
    result.warnings.push(`'${target.display}' is empty.`);
  if (!keep) writeDvc(target, hashed, hashName);
  result.gitFiles.push(repo.display(target.dvcPath));
  if (repo.gitRoot !== undefined && !(await isIgnoredByGit(repo.gitRoot, target.abs))) {
    const gitignore = addGitignoreEntry(target.abs);
    if (gitignore !== undefined && !result.gitFiles.includes(repo.display(gitignore))) {
      result.gitFiles.unshift(repo.display(gitignore));
    }
  }
  relinkWorkspace(repo, target.abs, hashed, hashName, linker);
  return {
    target: target.display,
    dvcFile: repo.display(target.dvcPath),
    oid: hashed.oid,
    size: hashed.size,
    nfiles: hashed.nfiles,
    isDir: hashed.isDir,
  };
}

function writeDvc(target: PlannedTarget, hashed: HashedOutput, hashName: HashName): void {
  const values = {
    md5: hashed.oid,
    size: hashed.size,
    nfiles: hashed.nfiles,
    isexec: hashed.isexec || undefined,
    hashName,
  };
  const outPath = path.basename(target.abs);
  const file = target.existing ?? DvcFile.create([{ path: outPath }]);
  file.setOutputHash(0, values);
  writeDvcFile(target.dvcPath, file);
}

/**
 * After add the workspace copy is replaced by a link to the cache object. With `copy` the bytes
 * are already right, so only the mode is reset (DVC keeps the inode too); symlinks inside the data
 * are replaced by real files either way.
 */
const { S_IFMT, S_IFREG } = fs.constants;

export function relinkWorkspace(
  repo: Repo,
  abs: string,
  hashed: HashedOutput,
  hashName: HashName,
  linker: Linker,
): void {
  if (!hashed.isDir) {
    const type = linker.link(repo.odb.pathFor(hashed.oid, hashName), abs, {
      isexec: hashed.isexec,
      empty: hashed.size === 0,
      inPlaceCopy: true,
    });
    if (type !== 'copy') remember(repo, hashName, fileStat(abs), hashed.oid);
    return;
  }
  const entries = hashed.entries ?? [];
  if (entries.length > 0) linker.settle(repo.odb.root(hashName), abs);
  // Per-file hashes are asked for only when a file is really linked: an in-place copy needs none.
  const md5At = (i: number) => hashed.files![i]!.md5;
  // With copy, a regular file that already has the workspace mode needs nothing at all (a second
  // add of 100k unchanged files): skip the call the linker would make a no-op of.
  const keptAsIs = linker.linkType === 'copy' ? S_IFREG | workspaceFileMode(false) : undefined;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (keptAsIs !== undefined && !entry.isLink && (entry.mode & (S_IFMT | 0o7777)) === keptAsIs) continue;
    const type = linker.link(() => repo.odb.pathFor(md5At(i), hashName), entry.path, {
      empty: entry.size === 0,
      inPlaceCopy: true,
      // a symlinked file's mode is its target's: let the linker look at the link itself
      currentMode: entry.isLink ? undefined : entry.mode,
    });
    // A new link has a new inode: remember its hash so the next status need not re-read it.
    if (type !== 'copy') remember(repo, hashName, fileStat(entry.path), md5At(i));
  }
}
