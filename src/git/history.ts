/**
 * What DVC tracked at any git revision, read straight out of git objects (no checkout, no git
 * binary): the `.dvc` files and `dvc.lock` files of a commit's tree and the outputs they record.
 * `gc` uses it for every branch, tag or commit; `diff` and `ls` for one revision.
 *
 * A repository's history shares most of its trees between commits, so results are memoised by
 * tree oid: walking a thousand commits reads each distinct directory once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DvcFile, type DvcOutput, type HashName, hashNameOf } from '../dvcfile/dvcfile.js';
import { DvcLock } from '../dvcfile/lockfile.js';
import { CpvError } from '../errors.js';

type IsoGit = typeof import('isomorphic-git');
let gitModule: Promise<IsoGit> | undefined;
function loadGit(): Promise<IsoGit> {
  gitModule ??= import('isomorphic-git').then((m) => (m.default ?? m) as IsoGit);
  return gitModule;
}

/** One output recorded at a revision. */
export interface RecordedOutput {
  /** Output path relative to the DVC repository root, `/`-separated. */
  path: string;
  /** The `.dvc` or `dvc.lock` file recording it, relative to the DVC repository root. */
  source: string;
  md5: string | undefined;
  hashName: HashName;
  size?: number;
  nfiles?: number;
  isexec: boolean;
  /** `cache: false` outputs are recorded but never stored in the cache. */
  cached: boolean;
  /** `push: false`: never pushed (set only then). */
  push?: false;
  /** The remote named by the output's `remote:` key, if any. */
  remote?: string;
}

interface TreeItem {
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

const SKIP_DIRS = new Set(['.git', '.hg', '.dvc']);

function gitError(err: unknown, what: string): CpvError {
  if (err instanceof CpvError) return err;
  return new CpvError('E_GIT', `cannot ${what}: ${(err as Error)?.message ?? err}`, {
    hint: 'Check that the git repository is intact (git fsck).',
    cause: err,
  });
}

export class GitHistory {
  private readonly cache = {};
  private readonly treeMemo = new Map<string, Promise<RecordedOutput[]>>();
  private readonly blobMemo = new Map<string, Promise<RecordedOutput[]>>();

  /**
   * @param gitRoot the git work tree root
   * @param dvcRoot the DVC repository root (equal to gitRoot, or below it for `--subdir` repos)
   */
  constructor(
    readonly gitRoot: string,
    readonly dvcRoot: string = gitRoot,
  ) {}

  private get base() {
    return { fs, dir: this.gitRoot, cache: this.cache };
  }

  /** A revision (branch, tag, `HEAD`, full or short oid, with `~N`/`^` suffixes) to its commit oid. */
  async resolveCommit(rev: string): Promise<string> {
    const git = await loadGit();
    const m = /^(.*?)((?:[~^]\d*)*)$/.exec(rev)!;
    let oid = await this.resolveBase(m[1]!, rev);
    oid = await this.peelToCommit(oid, rev);
    for (const step of m[2]!.match(/[~^]\d*/g) ?? []) {
      const n = step.length > 1 ? Number(step.slice(1)) : 1;
      if (step[0] === '~') {
        for (let i = 0; i < n; i++) oid = await this.parent(git, oid, 0, rev);
      } else if (n > 0) {
        oid = await this.parent(git, oid, n - 1, rev);
      }
    }
    return oid;
  }

  private async resolveBase(name: string, rev: string): Promise<string> {
    const git = await loadGit();
    if (name === '') throw badRev(rev);
    if (!/^[0-9a-f]{40}$/.test(name)) {
      try {
        return await git.resolveRef({ fs, dir: this.gitRoot, ref: name });
      } catch {
        // not a ref name: maybe an abbreviated oid
      }
    }
    if (/^[0-9a-f]{4,40}$/.test(name)) {
      try {
        return await git.expandOid({ ...this.base, oid: name });
      } catch {
        // fall through
      }
    }
    throw badRev(rev);
  }

  private async peelToCommit(oid: string, rev: string): Promise<string> {
    const git = await loadGit();
    let current = oid;
    for (let depth = 0; depth < 16; depth++) {
      let obj: Awaited<ReturnType<IsoGit['readObject']>>;
      try {
        obj = await git.readObject({ ...this.base, oid: current });
      } catch {
        throw badRev(rev);
      }
      if (obj.type === 'commit') return current;
      if (obj.type !== 'tag') throw badRev(rev, 'not a commit');
      current = (obj.object as { object: string }).object;
    }
    throw badRev(rev, 'tag chain too long at');
  }

  private async parent(git: IsoGit, oid: string, index: number, rev: string): Promise<string> {
    const { commit } = await git.readCommit({ ...this.base, oid });
    const p = commit.parent[index];
    if (p === undefined) throw badRev(rev, 'no such ancestor in');
    return p;
  }

  /** Commit oids at the tip of every local branch. */
  async branchCommits(): Promise<string[]> {
    const git = await loadGit();
    const names = await git.listBranches({ fs, dir: this.gitRoot }).catch((e: unknown) => {
      throw gitError(e, 'list branches');
    });
    return unique(await Promise.all(names.map((b) => this.resolveCommit(`refs/heads/${b}`))));
  }

  /** Commit oids every tag points at (annotated tags peeled; tags of non-commits skipped). */
  async tagCommits(): Promise<string[]> {
    const git = await loadGit();
    const names = await git.listTags({ fs, dir: this.gitRoot }).catch((e: unknown) => {
      throw gitError(e, 'list tags');
    });
    const oids: string[] = [];
    for (const t of names) {
      try {
        oids.push(await this.resolveCommit(`refs/tags/${t}`));
      } catch {
        // a tag of a tree or blob holds no commit to keep
      }
    }
    return unique(oids);
  }

  /** Every commit reachable from any branch, tag or HEAD. */
  async allCommits(): Promise<string[]> {
    const git = await loadGit();
    const tips = [...(await this.branchCommits()), ...(await this.tagCommits())];
    const head = await this.resolveCommit('HEAD').catch(() => undefined);
    if (head !== undefined) tips.push(head);
    const seen = new Set<string>();
    const stack = [...tips];
    while (stack.length > 0) {
      const oid = stack.pop()!;
      if (seen.has(oid)) continue;
      seen.add(oid);
      const { commit } = await git.readCommit({ ...this.base, oid }).catch((e: unknown) => {
        throw gitError(e, `read commit ${oid}`);
      });
      for (const p of commit.parent) if (!seen.has(p)) stack.push(p);
    }
    return [...seen];
  }

  /** Every output recorded by the `.dvc` and `dvc.lock` files of `commit`, sorted by path. */
  async outputsAt(commit: string): Promise<RecordedOutput[]> {
    const git = await loadGit();
    const { commit: c } = await git.readCommit({ ...this.base, oid: commit }).catch((e: unknown) => {
      throw gitError(e, `read commit ${commit}`);
    });
    const prefix = path.relative(this.gitRoot, this.dvcRoot).split(path.sep).join('/');
    const treeOid = prefix === '' ? c.tree : await this.subtree(c.tree, prefix);
    if (treeOid === undefined) return [];
    const outs = await this.outputsInTree(treeOid, true);
    return [...outs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private async subtree(root: string, prefix: string): Promise<string | undefined> {
    let oid = root;
    for (const part of prefix.split('/')) {
      const entry = (await this.readTree(oid)).find((e) => e.path === part && e.type === 'tree');
      if (entry === undefined) return undefined;
      oid = entry.oid;
    }
    return oid;
  }

  private async readTree(oid: string): Promise<TreeItem[]> {
    const git = await loadGit();
    const { tree } = await git.readTree({ ...this.base, oid }).catch((e: unknown) => {
      throw gitError(e, `read tree ${oid}`);
    });
    return tree.map((e) => ({ path: e.path, oid: e.oid, type: e.type }));
  }

  /** Outputs under a tree, with paths relative to it (memoised by tree oid). */
  private outputsInTree(treeOid: string, isRoot = false): Promise<RecordedOutput[]> {
    const key = isRoot ? `root:${treeOid}` : treeOid;
    let memo = this.treeMemo.get(key);
    if (memo === undefined) {
      memo = this.collectTree(treeOid, isRoot);
      this.treeMemo.set(key, memo);
    }
    return memo;
  }

  private async collectTree(treeOid: string, isRoot: boolean): Promise<RecordedOutput[]> {
    const entries = await this.readTree(treeOid);
    // Below the root, a directory holding `.dvc` is a DVC sub-repository with its own outputs.
    if (!isRoot && entries.some((e) => e.path === '.dvc' && e.type === 'tree')) return [];
    const found: RecordedOutput[] = [];
    for (const e of entries) {
      if (e.type === 'tree' && !SKIP_DIRS.has(e.path)) {
        for (const o of await this.outputsInTree(e.oid)) found.push(prefixed(o, e.path));
      } else if (e.type === 'blob' && (e.path.endsWith('.dvc') || e.path === 'dvc.lock')) {
        for (const o of await this.outputsInBlob(e.oid, e.path)) found.push(o);
      }
    }
    return found;
  }

  private outputsInBlob(oid: string, name: string): Promise<RecordedOutput[]> {
    const key = `${oid}\0${name}`;
    let memo = this.blobMemo.get(key);
    if (memo === undefined) {
      memo = this.parseBlob(oid, name);
      this.blobMemo.set(key, memo);
    }
    return memo;
  }

  private async parseBlob(oid: string, name: string): Promise<RecordedOutput[]> {
    const git = await loadGit();
    const { blob } = await git.readBlob({ ...this.base, oid }).catch((e: unknown) => {
      throw gitError(e, `read ${name}`);
    });
    const text = Buffer.from(blob).toString('utf8');
    return name === 'dvc.lock' ? lockOutputs(text, name) : dvcFileOutputs(text, name);
  }
}

function badRev(rev: string, why = 'unknown revision'): CpvError {
  return new CpvError('E_BAD_REV', `${why} '${rev}'`, {
    hint: 'Name a branch, a tag, HEAD or a commit id (see git log / git tag).',
  });
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function prefixed(o: RecordedOutput, dir: string): RecordedOutput {
  return { ...o, path: `${dir}/${o.path}`, source: `${dir}/${o.source}` };
}

function recorded(out: DvcOutput, outPath: string, source: string): RecordedOutput {
  return {
    path: outPath,
    source,
    md5: out.md5,
    hashName: hashNameOf(out),
    size: out.size,
    nfiles: out.nfiles,
    isexec: out.isexec === true,
    cached: out.cache !== false,
    ...(out.push === false ? { push: false } : {}),
    ...(out.remote === undefined ? {} : { remote: out.remote }),
  };
}

/** Outputs of a `.dvc` file's text, paths relative to the directory holding it. */
export function dvcFileOutputs(text: string, name: string): RecordedOutput[] {
  const file = DvcFile.parse(text, name);
  const wdir = file.wdir ?? '.';
  return file.outs.map((out) => recorded(out, path.posix.normalize(path.posix.join(wdir, out.path)), name));
}

/** Cached outputs of a `dvc.lock` text (deps are not cached data), relative to its directory. */
export function lockOutputs(text: string, name: string): RecordedOutput[] {
  const lock = DvcLock.parse(text, name);
  return lock.stages.flatMap((stage) =>
    stage.outs.map((out) => recorded(out, path.posix.normalize(out.path), name)),
  );
}
