/**
 * `cpv pull` = fetch, then checkout of the same targets (dvc-compat §5.3, §9). The checkout is
 * the workspace command's own (refusing to overwrite uncached workspace data unless `force`), so
 * pull and checkout can never disagree about what the workspace should hold.
 */
import * as fs from 'node:fs';
import { parseManifest } from '../dvcfile/manifest.js';
import { type CheckoutChange, checkout } from './checkout.js';
import { fetch } from './fetch.js';
import { Repo } from './repo.js';
import { entriesUnder, type SelectedOutput, type TransferOptions } from './transfer.js';

export interface PullOptions extends TransferOptions {
  /** Overwrite workspace data that differs even when it is not in the cache. */
  force?: boolean;
}

export interface PullResult {
  /** Objects downloaded. */
  fetched: number;
  /** Workspace changes per output, as checkout reports them. */
  changes: CheckoutChange[];
  /** Files written where there were none (all files of an added directory count). */
  added: number;
  /** Outputs rewritten because they differed. */
  modified: number;
  deleted: number;
}

export async function pull(targets: string[] = [], opts: PullOptions = {}): Promise<PullResult> {
  const repo = Repo.open(opts.cwd);
  const { fetched, outputs } = await fetch(targets, opts);
  const { changes } = await checkout(targets, {
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    ...(opts.force === undefined ? {} : { force: opts.force }),
    ...(opts.waitMs === undefined ? {} : { waitMs: opts.waitMs }),
    ...(opts.onWait === undefined ? {} : { onWait: opts.onWait }),
  });
  const result: PullResult = { fetched, changes, added: 0, modified: 0, deleted: 0 };
  for (const change of changes) {
    if (change.kind === 'added') result.added += filesIn(repo, outputs, change.path);
    else if (change.kind === 'modified') result.modified += 1;
    else result.deleted += 1;
  }
  return result;
}

/** How many files an added path holds: one for a file, the manifest entries under it for a directory. */
function filesIn(repo: Repo, outputs: SelectedOutput[], shown: string): number {
  if (!shown.endsWith('/')) return 1;
  const wanted = shown.slice(0, -1);
  for (const output of outputs) {
    if (!output.isDir) continue;
    const name = output.subpath === undefined ? output.display : `${output.display}/${output.subpath}`;
    if (name !== wanted) continue;
    const text = fs.readFileSync(repo.odb.pathFor(output.oid, output.hashName), 'utf8');
    return entriesUnder(parseManifest(text, output.oid), output.subpath).length;
  }
  return 1;
}
