/**
 * The journal of files a checkout is creating in place.
 *
 * Checkout writes most files through a temp and a rename, so a kill leaves each file old or new.
 * A file that does not exist yet needs no such care, and creating it in place halves the
 * directory updates, which is most of what a checkout of many small files costs. Such a file is
 * created with no permission bits (`PARTIAL_MODE`) and gets its real mode once complete.
 *
 * Before creating any, checkout lists them here (paths relative to the repo root, as JSON). The
 * next checkout, before it looks at the workspace, removes each listed path that is still a
 * regular file with `PARTIAL_MODE`: the leftovers of a killed run, never anything of the user's
 * (a file of theirs would not be on the list, or would not have that mode).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PARTIAL_MODE } from '../cache/pool-worker.js';
import { CpvError } from '../errors.js';
import { isInside, writeFileAtomic } from '../fsutil.js';

const JOURNAL_FILE = 'cpv-checkout-journal.json';

function journalPath(dvcDir: string): string {
  return path.join(dvcDir, 'tmp', JOURNAL_FILE);
}

/** Records that checkout is about to create `files` (absolute paths) in place. */
export function beginInPlace(dvcDir: string, root: string, files: readonly string[]): void {
  const p = journalPath(dvcDir);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  // A slice, not path.relative: that took 30 ms of a 10k-file checkout.
  const rel = (f: string) => (f.startsWith(prefix) ? f.slice(prefix.length) : path.relative(root, f));
  writeFileAtomic(p, JSON.stringify(files.map(rel)));
}

/** The files listed by the last `beginInPlace` are all complete (or removed). */
export function endInPlace(dvcDir: string): void {
  fs.rmSync(journalPath(dvcDir), { force: true });
}

/**
 * Removes the partial files a killed checkout left behind, then the journal. Returns how many
 * were removed.
 */
export function recoverInPlace(dvcDir: string, root: string): number {
  const p = journalPath(dvcDir);
  let listed: unknown;
  try {
    listed = JSON.parse(fs.readFileSync(p, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    listed = []; // unreadable (it is written temp + rename, so never torn): name nothing
  }
  let removed = 0;
  for (const rel of Array.isArray(listed) ? listed : []) {
    if (typeof rel !== 'string') continue;
    const abs = path.resolve(root, rel);
    if (!isInside(root, abs)) continue;
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (st?.isFile() && (st.mode & 0o7777) === PARTIAL_MODE) {
      fs.rmSync(abs, { force: true });
      removed++;
    }
  }
  endInPlace(dvcDir);
  return removed;
}

/**
 * Refuses to save workspace data (add, commit) while a killed checkout's partial files may be in
 * it: their cut-short bytes would be recorded as a new version.
 */
export function refuseIfCheckoutInterrupted(dvcDir: string): void {
  if (!fs.existsSync(journalPath(dvcDir))) return;
  throw new CpvError(
    'E_CHECKOUT_INTERRUPTED',
    'an interrupted checkout left files half-written in the workspace',
    {
      hint: 'Run cpv checkout to finish it (it removes the half-written files and restores them), then retry.',
    },
  );
}
