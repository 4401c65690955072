/**
 * Turning command targets into tracked outputs. A target may name a `.dvc` file, an output path,
 * or (for commands that allow it) a path inside a tracked directory: then only that part of the
 * directory is selected (`filter`, a `/`-separated path relative to the output).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../errors.js';
import { isInside, toPosix } from '../fsutil.js';
import type { Repo } from './repo.js';
import type { StageFile, TrackedOutput } from './stages.js';

export interface SelectedOutput {
  stage: StageFile;
  tracked: TrackedOutput;
  /** Part of a directory output the target names; undefined = the whole output. */
  filter?: string;
}

export interface SelectOptions {
  /** Accept paths inside a tracked directory (checkout). */
  allowInside?: boolean;
}

/** Every output of `stages` when `targets` is empty; otherwise the outputs the targets name. */
export function selectOutputs(
  repo: Repo,
  stages: StageFile[],
  targets: string[],
  opts: SelectOptions = {},
): SelectedOutput[] {
  if (targets.length === 0)
    return stages.flatMap((stage) => stage.outs.map((tracked) => ({ stage, tracked })));
  const selected: SelectedOutput[] = [];
  for (const target of targets) {
    const found = selectOne(stages, repo.resolve(target), opts);
    if (found.length === 0) throw notTracked(target, repo.resolve(target), opts);
    for (const item of found) {
      if (!selected.some((s) => s.tracked === item.tracked && s.filter === item.filter)) selected.push(item);
    }
  }
  return selected;
}

function selectOne(stages: StageFile[], abs: string, opts: SelectOptions): SelectedOutput[] {
  const found: SelectedOutput[] = [];
  for (const stage of stages) {
    for (const tracked of stage.outs) {
      if (stage.path === abs || tracked.abs === abs) found.push({ stage, tracked });
      else if (opts.allowInside && isInside(tracked.abs, abs)) {
        found.push({ stage, tracked, filter: toPosix(path.relative(tracked.abs, abs)) });
      }
    }
  }
  return found;
}

function notTracked(target: string, abs: string, opts: SelectOptions): CpvError {
  const exists = fs.existsSync(abs);
  return new CpvError(
    exists ? 'E_USAGE' : 'E_TARGET_MISSING',
    `'${target}' is not tracked by any .dvc file`,
    {
      hint: opts.allowInside
        ? 'Name a .dvc file, an output, or a path inside a tracked directory.'
        : 'Name a .dvc file or an output path.',
    },
  );
}

/** Whether a manifest relpath lies in the part `filter` selects. */
export function inFilter(relpath: string, filter: string | undefined): boolean {
  return filter === undefined || relpath === filter || relpath.startsWith(`${filter}/`);
}
