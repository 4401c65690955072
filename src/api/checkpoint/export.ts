/**
 * Writing one checkpoint's files into a plain directory (no `.git`, no `.dvc`): the git-tracked
 * files as they were at the tagged commit, and each DVC output copied out of the cache (objects
 * the cache lacks are fetched from the data remote first). Everything goes into a temp directory
 * beside the destination that is renamed into place at the end, so a failed download leaves no
 * half-filled destination behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ObjectStore } from '../../cache/odb.js';
import { DvcFile, hashNameOf } from '../../dvcfile/dvcfile.js';
import { parseManifest } from '../../dvcfile/manifest.js';
import { CpvError } from '../../errors.js';
import { tempPathFor } from '../../fsutil.js';
import { loadRepoConfig } from '../repo-config.js';
import { inFilter } from '../selection.js';
import { fetchData, type TransferHooks } from './data-sync.js';
import type { ModelRepo } from './model-repo.js';
import { isInternal } from './worktree.js';

export interface ExportedFile {
  /** Relative to the destination, `/`-separated. */
  path: string;
  size: number;
}

export interface ExportSelection {
  /** Git-tracked files (not pointers) to write. */
  gitFile: (file: string) => boolean;
  /** Pointer files (`model.bin.dvc`, `data.dvc`) whose outputs to write. */
  pointer: (file: string) => boolean;
  /** Only this part of directory outputs, relative to the output (e.g. `train/`). */
  subpath?: string;
}

/** Refuses a destination that holds anything, unless `force` (then it is replaced at the end). */
export function checkDestination(dest: string, force: boolean | undefined): void {
  const st = fs.statSync(dest, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (!st.isDirectory() || (fs.readdirSync(dest).length > 0 && !force)) {
    throw new CpvError('E_USAGE', `the destination ${dest} exists and is not empty`, {
      hint: 'Choose another destination, or pass force to replace it.',
    });
  }
}

export async function exportCommit(
  repo: ModelRepo,
  commit: string,
  dest: string,
  select: ExportSelection,
  transfer: TransferHooks = {},
): Promise<ExportedFile[]> {
  const files = (await repo.git.filesAt(commit)).filter((f) => !isInternal(f) && f !== '.gitignore');
  const pointers: Array<{ name: string; text: string }> = [];
  for (const f of files.filter((f) => f.endsWith('.dvc') && select.pointer(f))) {
    pointers.push({ name: f, text: Buffer.from((await repo.git.readAt(commit, f)) ?? []).toString('utf8') });
  }
  await fetchData(repo.dir, pointers, transfer);

  const tmp = tempPathFor(dest);
  fs.mkdirSync(tmp, { recursive: true });
  const written: ExportedFile[] = [];
  const put = (rel: string, write: (abs: string) => void): void => {
    const abs = path.join(tmp, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    write(abs);
    written.push({ path: rel, size: fs.statSync(abs).size });
  };
  try {
    for (const f of files.filter((f) => !f.endsWith('.dvc') && select.gitFile(f))) {
      const bytes = (await repo.git.readAt(commit, f)) ?? new Uint8Array();
      put(f, (abs) => fs.writeFileSync(abs, bytes));
    }
    const odb = new ObjectStore(loadRepoConfig(path.join(repo.dir, '.dvc')).cacheDir);
    for (const { name, text } of pointers) exportOutputs(odb, name, text, select.subpath, put);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return written.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function exportOutputs(
  odb: ObjectStore,
  pointerName: string,
  text: string,
  subpath: string | undefined,
  put: (rel: string, write: (abs: string) => void) => void,
): void {
  const base = path.posix.dirname(pointerName);
  const filter = subpath?.replace(/\/+$/, '') || undefined;
  for (const out of DvcFile.parse(text, pointerName).outs) {
    if (out.md5 === undefined) continue;
    const hashName = hashNameOf(out);
    const outPath = path.posix.join(base, out.path);
    if (!out.md5.endsWith('.dir')) {
      put(outPath, (abs) => copyObject(odb.pathFor(out.md5!, hashName), abs, out.isexec === true));
      continue;
    }
    const manifest = parseManifest(fs.readFileSync(odb.pathFor(out.md5, hashName), 'utf8'), pointerName);
    const entries = manifest.filter((e) => inFilter(e.relpath, filter));
    if (filter !== undefined && entries.length === 0) {
      throw new CpvError('E_TARGET_MISSING', `'${filter}' is not in ${outPath}/ at this version`, {
        hint: `Name a file or folder inside ${outPath}/ as it was at that version.`,
      });
    }
    for (const e of entries) {
      put(path.posix.join(outPath, e.relpath), (abs) => copyObject(odb.pathFor(e.md5, hashName), abs, false));
    }
  }
}

function copyObject(src: string, dest: string, isexec: boolean): void {
  fs.copyFileSync(src, dest);
  fs.chmodSync(dest, isexec ? 0o755 : 0o644);
}
