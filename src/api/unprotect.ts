/**
 * Turning hard- or sym-linked workspace files back into private, writable copies (DVC's
 * `unprotect`, dvc-compat §4.3, §7). With `hardlink`/`symlink` cache types a workspace file *is*
 * the read-only cache object; before handing the data to the user for good (`remove`) it must be
 * copied out, or editing it would corrupt the cache. Copies go through temp + rename.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { workspaceFileMode } from '../cache/link.js';
import { tempPathFor } from '../fsutil.js';

/** Unprotects a file, or every file under a directory. Returns how many files were copied. */
export function unprotectPath(abs: string): number {
  const st = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (st === undefined) return 0;
  if (st.isDirectory()) {
    let n = 0;
    for (const name of fs.readdirSync(abs)) n += unprotectPath(path.join(abs, name));
    return n;
  }
  if (st.isSymbolicLink()) {
    const target = fs.statSync(abs, { throwIfNoEntry: false });
    if (target === undefined || !target.isFile()) return 0; // dangling or a link to a directory
    copyOut(abs, (target.mode & 0o100) !== 0);
    return 1;
  }
  if (!st.isFile()) return 0;
  if (st.nlink > 1) {
    copyOut(abs, (st.mode & 0o100) !== 0);
    return 1;
  }
  if ((st.mode & 0o200) === 0) fs.chmodSync(abs, workspaceFileMode((st.mode & 0o100) !== 0));
  return 0;
}

function copyOut(abs: string, isexec: boolean): void {
  const tmp = tempPathFor(abs);
  try {
    fs.copyFileSync(abs, tmp); // follows a symlink: copies the object's bytes
    fs.chmodSync(tmp, workspaceFileMode(isexec));
    fs.renameSync(tmp, abs);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
