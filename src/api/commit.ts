/**
 * `cpv commit`: record the current workspace state of tracked outputs in their `.dvc` files and
 * store their data in the cache (DVC's `dvc commit`).
 *
 * Plan first: every selected output is hashed (through the state store) before anything is
 * written. An output whose data changed since its `.dvc` file was written needs a confirmation
 * (the `confirm` callback) or `force`, as DVC asks "outputs [...] of stage ... changed. Are you
 * sure you want to commit it?". Unchanged outputs are committed too: that re-stores any object
 * missing from the cache.
 */
import type { HashName } from '../cache/hash.js';
import { Linker } from '../cache/link.js';
import { writeDvcFile } from '../dvcfile/dvcfile.js';
import { CpvError } from '../errors.js';
import { stageFiles } from '../git/scm.js';
import { chooseHashFor, relinkWorkspace } from './add.js';
import { refuseIfCheckoutInterrupted } from './checkout-journal.js';
import { type LockOptions, withRepoLock } from './lock.js';
import { hashOutput } from './outputs.js';
import { Repo } from './repo.js';
import { type SelectedOutput, selectOutputs } from './selection.js';
import { loadAllStageFiles, type StageFile } from './stages.js';

export interface CommitOptions extends LockOptions {
  cwd?: string;
  /** Commit changed outputs without asking. */
  force?: boolean;
  /** Asked once per stage whose outputs changed; without it (or on false) the commit is refused. */
  confirm?: (question: string) => Promise<boolean> | boolean;
}

export interface CommittedStage {
  /** `.dvc` path relative to cwd. */
  dvcFile: string;
  /** Whether the `.dvc` file was rewritten (some output's hash changed). */
  changed: boolean;
}

export interface CommitResult {
  stages: CommittedStage[];
  /** `.dvc` files to `git add` (relative to cwd); none in a repository without git. */
  gitFiles: string[];
  staged: boolean;
}

interface PlannedOutput {
  sel: SelectedOutput;
  hashName: HashName;
  keep: boolean;
  changed: boolean;
}

export async function commitTargets(targets: string[] = [], opts: CommitOptions = {}): Promise<CommitResult> {
  const repo = Repo.open(opts.cwd);
  return withRepoLock(repo.dvcDir, () => commitLocked(repo, targets, opts), opts);
}

async function commitLocked(repo: Repo, targets: string[], opts: CommitOptions): Promise<CommitResult> {
  refuseIfCheckoutInterrupted(repo.dvcDir);
  const stages = await loadAllStageFiles(repo);
  const selected = selectOutputs(repo, stages, targets);
  const planned: PlannedOutput[] = [];
  for (const sel of selected) planned.push(await planOutput(repo, sel));
  repo.saveState();
  await confirmChanged(repo, planned, opts);
  const result: CommitResult = { stages: [], gitFiles: [], staged: false };
  const linker = new Linker(repo.config.linkTypes);
  for (const stage of uniqueStages(planned)) {
    const outs = planned.filter((p) => p.sel.stage === stage);
    const changed = await commitStage(repo, stage, outs, linker);
    const dvcFile = repo.display(stage.path);
    result.stages.push({ dvcFile, changed });
    if (changed) result.gitFiles.push(dvcFile);
    repo.saveState();
  }
  if (repo.config.autostage && repo.gitRoot !== undefined && result.gitFiles.length > 0) {
    await stageFiles(
      repo.gitRoot,
      result.gitFiles.map((f) => repo.resolve(f)),
    );
    result.staged = true;
  }
  if (repo.gitRoot === undefined) result.gitFiles = []; // nothing to `git add` without git
  return result;
}

async function planOutput(repo: Repo, sel: SelectedOutput): Promise<PlannedOutput> {
  const { abs, out } = sel.tracked;
  const { hashName, keep } = await chooseHashFor(repo, abs, out);
  if (keep) return { sel, hashName, keep, changed: false };
  const current = await hashOutput(repo, abs, hashName, { store: false });
  return { sel, hashName, keep, changed: current.oid !== out.md5 || out.hash !== 'md5' };
}

function uniqueStages(planned: PlannedOutput[]): StageFile[] {
  return [...new Set(planned.map((p) => p.sel.stage))];
}

async function confirmChanged(repo: Repo, planned: PlannedOutput[], opts: CommitOptions): Promise<void> {
  if (opts.force) return;
  for (const stage of uniqueStages(planned)) {
    const changed = planned.filter((p) => p.sel.stage === stage && p.changed);
    if (changed.length === 0) continue;
    const name = repo.display(stage.path);
    const outs = changed.map((p) => `'${repo.display(p.sel.tracked.abs)}'`).join(', ');
    const question = `outputs [${outs}] of '${name}' changed. Are you sure you want to commit it?`;
    if (opts.confirm !== undefined && (await opts.confirm(question))) continue;
    throw new CpvError('E_NEEDS_FORCE', `unable to commit changed '${name}' (outputs ${outs} changed)`, {
      hint: 'Check the changes (cpv status), then rerun with -f/--force to commit them.',
    });
  }
}

/** Stores each output's data, records changed hashes, re-links per cache.type. */
async function commitStage(
  repo: Repo,
  stage: StageFile,
  outs: PlannedOutput[],
  linker: Linker,
): Promise<boolean> {
  let changed = false;
  for (const p of outs) {
    const { abs, out, index } = p.sel.tracked;
    const cached = out.cache !== false;
    const hashed = await hashOutput(repo, abs, p.hashName, { store: cached, precheck: cached });
    if (!p.keep && p.changed) {
      stage.file.setOutputHash(index, {
        md5: hashed.oid,
        size: hashed.size,
        nfiles: hashed.nfiles,
        isexec: hashed.isexec || undefined,
        hashName: p.hashName,
      });
      changed = true;
    }
    if (cached) relinkWorkspace(repo, abs, hashed, p.hashName, linker);
  }
  if (changed) writeDvcFile(stage.path, stage.file);
  return changed;
}
