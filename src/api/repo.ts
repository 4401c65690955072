/**
 * A DVC repository as the commands see it: where its root, `.dvc/` and cache are, its merged
 * config, its git root (if any), the object store and the `.dvcignore` filter.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DvcIgnore } from '../cache/dvcignore.js';
import { ObjectStore } from '../cache/odb.js';
import { StateStore } from '../cache/state.js';
import { CpvError } from '../errors.js';
import { findGitRoot } from '../git/scm.js';
import { loadRepoConfig, type RepoConfig } from './repo-config.js';

/** The nearest directory at or above `start` holding a `.dvc/` directory. */
export function findRepoRoot(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    try {
      if (fs.statSync(path.join(dir, '.dvc')).isDirectory()) return dir;
    } catch {
      // not here; keep climbing
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export class Repo {
  readonly dvcDir: string;
  readonly config: RepoConfig;
  readonly odb: ObjectStore;
  /** The git work tree root, or undefined for `--no-scm` repos and repos outside git. */
  readonly gitRoot: string | undefined;
  private ignoreFilter: Promise<DvcIgnore> | undefined;
  private stateStore: StateStore | undefined;

  private constructor(
    readonly root: string,
    /** Directory user paths are relative to (the CLI's cwd). */
    readonly cwd: string,
  ) {
    this.dvcDir = path.join(root, '.dvc');
    this.config = loadRepoConfig(this.dvcDir);
    this.odb = new ObjectStore(this.config.cacheDir);
    this.gitRoot = this.config.noScm ? undefined : findGitRoot(root);
  }

  /** Opens the repository containing `cwd`. */
  static open(cwd: string = process.cwd()): Repo {
    const absCwd = path.resolve(cwd);
    const root = findRepoRoot(absCwd);
    if (root === undefined) {
      throw new CpvError(
        'E_NOT_A_REPO',
        `you are not inside of a DVC repository (checked up from ${absCwd})`,
        {
          hint: 'Run `cpv init` at the top of your git repository first.',
        },
      );
    }
    return new Repo(root, absCwd);
  }

  /** The `.dvcignore` filter, loaded once per Repo. */
  ignore(): Promise<DvcIgnore> {
    this.ignoreFilter ??= DvcIgnore.load(this.root);
    return this.ignoreFilter;
  }

  /** The hash memo of workspace files (`.dvc/tmp/cpv-state.log`), opened on first use. */
  state(): StateStore {
    this.stateStore ??= StateStore.open(path.join(this.dvcDir, 'tmp'));
    return this.stateStore;
  }

  /** Writes new state records; commands call it once at the end (a failure only costs re-hashing). */
  saveState(): void {
    try {
      this.stateStore?.save();
    } catch {
      // A read-only .dvc/tmp must not fail a command that otherwise succeeded.
    }
  }

  /** A user-supplied path resolved against the cwd. */
  resolve(userPath: string): string {
    return path.resolve(this.cwd, userPath);
  }

  /** `abs` relative to the cwd with `/` separators, as DVC prints and keys paths. */
  display(abs: string): string {
    const rel = path.relative(this.cwd, abs) || '.';
    return rel.split(path.sep).join('/');
  }
}
