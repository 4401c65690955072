/**
 * `cpv init`: the same files `dvc init` makes (dvc-compat §6.4), staged in git but not committed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { findGitRoot, stageFiles } from '../git/scm.js';

export const DVCIGNORE_TEMPLATE =
  '# Add patterns of files dvc should ignore, which could improve\n' +
  '# the performance. Learn more at\n' +
  '# https://dvc.org/doc/user-guide/dvcignore\n';
export const DVC_GITIGNORE = '/config.local\n/tmp\n/cache\n';
export const NO_SCM_CONFIG = '[core]\n    no_scm = True\n';

export interface InitOptions {
  /** Do not use git (writes `core.no_scm = True`, no `.gitignore` files, nothing staged). */
  noScm?: boolean;
  /** Initialise inside a subdirectory of a git repository. */
  subdir?: boolean;
  /** Re-create an existing `.dvc/` (its cache is removed, as with `dvc init -f`). */
  force?: boolean;
}

export interface InitResult {
  root: string;
  noScm: boolean;
  /** Files created (absolute paths). */
  created: string[];
  /** Files staged in git, relative to the git root. */
  staged: string[];
}

export async function initRepo(dir: string, opts: InitOptions = {}): Promise<InitResult> {
  const root = path.resolve(dir);
  const dvcDir = path.join(root, '.dvc');
  const noScm = opts.noScm ?? false;
  const gitRoot = noScm ? undefined : findGitRoot(root);
  checkPreconditions(root, dvcDir, gitRoot, noScm, opts);
  if (opts.force) fs.rmSync(dvcDir, { recursive: true, force: true });

  fs.mkdirSync(path.join(dvcDir, 'tmp'), { recursive: true });
  const created: string[] = [];
  const write = (file: string, text: string): void => {
    writeFileAtomic(file, text);
    created.push(file);
  };
  write(path.join(dvcDir, 'config'), noScm ? NO_SCM_CONFIG : '');
  if (!noScm) write(path.join(dvcDir, '.gitignore'), DVC_GITIGNORE);
  const dvcignore = path.join(root, '.dvcignore');
  if (!fs.existsSync(dvcignore)) write(dvcignore, DVCIGNORE_TEMPLATE);

  const staged: string[] = [];
  if (gitRoot !== undefined) {
    const files = [path.join(dvcDir, 'config'), path.join(dvcDir, '.gitignore'), dvcignore];
    const rel = files.map((f) => path.relative(gitRoot, f).split(path.sep).join('/'));
    await stageFiles(gitRoot, rel);
    staged.push(...rel);
  }
  return { root, noScm, created, staged };
}

function checkPreconditions(
  root: string,
  dvcDir: string,
  gitRoot: string | undefined,
  noScm: boolean,
  opts: InitOptions,
): void {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new CpvError('E_TARGET_MISSING', `directory ${root} does not exist`, {
      hint: 'Create the directory first, or run cpv init inside it.',
    });
  }
  if (fs.existsSync(dvcDir) && !opts.force) {
    throw new CpvError('E_ALREADY_INIT', `'${dvcDir}' exists`, {
      hint: 'Use `cpv init -f` to re-initialise (this removes the local cache).',
    });
  }
  if (noScm) return;
  if (gitRoot === undefined) {
    throw new CpvError('E_NOT_GIT', `${root} is not tracked by git`, {
      hint: 'Run `git init` first, or use `cpv init --no-scm` to work without git.',
    });
  }
  if (gitRoot !== root && !opts.subdir) {
    throw new CpvError('E_NOT_GIT', `${root} is not the top of its git repository (${gitRoot})`, {
      hint: 'Use `cpv init --subdir` to initialise in a subdirectory, or run it at the git root.',
    });
  }
}
