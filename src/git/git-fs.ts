/**
 * The filesystem isomorphic-git is handed. isomorphic-git writes `.git/index`, refs and objects in
 * place, so a reader (the git CLI, another cpv) could see a half-written file, and a killed
 * process could leave one behind. This wrapper makes every write inside the git directory a
 * write to a temp file beside the target followed by a rename, which readers see as one step.
 * Temp names start with a dot: git skips such names when it lists refs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isInside, tempPathFor } from '../fsutil.js';

type WriteFile = typeof fs.promises.writeFile;

/** A promise-style fs (the shape isomorphic-git accepts) whose writes under `gitdir` are atomic. */
export function atomicGitFs(gitdir: string, base: typeof fs.promises = fs.promises): { promises: object } {
  const root = path.resolve(gitdir);
  const writeFile: WriteFile = async (file, data, options) => {
    if (typeof file !== 'string' || !isInside(root, path.resolve(file))) {
      return base.writeFile(file, data, options);
    }
    const tmp = tempPathFor(file);
    try {
      await base.writeFile(tmp, data, options);
      await base.rename(tmp, file);
    } catch (err) {
      await base.rm(tmp, { force: true });
      throw err;
    }
  };
  return {
    promises: {
      readFile: base.readFile.bind(base),
      writeFile,
      mkdir: base.mkdir.bind(base),
      rmdir: base.rmdir.bind(base),
      rm: base.rm.bind(base),
      unlink: base.unlink.bind(base),
      stat: base.stat.bind(base),
      lstat: base.lstat.bind(base),
      readdir: base.readdir.bind(base),
      readlink: base.readlink.bind(base),
      symlink: base.symlink.bind(base),
      chmod: base.chmod.bind(base),
    },
  };
}
