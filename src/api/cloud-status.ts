/**
 * `cpv status -c`: the local cache against a remote, object by object (dvc-compat §9).
 *
 * Each object is named by its output path, or `<out>/<relpath>` for a directory's files, and is
 * `new` (only in the cache), `deleted` (only on the remote) or `missing` (in neither); objects in
 * both are in sync and not listed. Recorded hashes are compared, never the workspace. A directory
 * whose manifest is not in the cache is read from the remote (verified, kept in memory only).
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { manifestOid, parseManifest } from '../dvcfile/manifest.js';
import { objectKey } from '../remote/keys.js';
import type { Remote } from '../remote/remote.js';
import { Repo } from './repo.js';
import {
  collectObjects,
  existingByHash,
  groupByRemote,
  jobsFor,
  type ObjectRef,
  objectId,
  type SelectedOutput,
  selectOutputs,
  type TransferOptions,
} from './transfer.js';

export type CloudStatus = 'new' | 'deleted' | 'missing';

export interface CloudStatusResult {
  /** Object name → status; empty when cache and remote agree. */
  status: Record<string, CloudStatus>;
  /** The remote(s) compared with. */
  remotes: string[];
  /** Number of outputs looked at (0 = nothing tracked). */
  tracked: number;
}

export async function cloudStatus(
  targets: string[] = [],
  opts: TransferOptions = {},
): Promise<CloudStatusResult> {
  const repo = Repo.open(opts.cwd);
  const { outputs, tracked } = await selectOutputs(repo, targets, { revs: opts });
  const result: CloudStatusResult = { status: {}, remotes: [], tracked };
  for (const group of await groupByRemote(repo, outputs, opts.remote)) {
    Object.assign(result.status, await compare(repo, group.remote, group.outputs, opts));
    result.remotes.push(group.remote.name);
  }
  return result;
}

async function compare(
  repo: Repo,
  remote: Remote,
  outputs: SelectedOutput[],
  opts: TransferOptions,
): Promise<Record<string, CloudStatus>> {
  const jobs = jobsFor(remote, opts.jobs);
  const plan = await collectObjects(repo, outputs, {
    onMissingManifest: () => undefined, // the directory itself still gets a status below
    loadManifest: async (output) => {
      if ((await repo.odb.check(output.oid, output.hashName)) === 'ok') {
        return parseManifest(await readCached(repo, output), output.oid);
      }
      return remoteManifest(remote, output, opts.signal);
    },
  });
  // Directories without a manifest anywhere are still compared as one object.
  const refs = new Map<string, ObjectRef>();
  for (const output of outputs) {
    const ref = { oid: output.oid, hashName: output.hashName, name: output.display };
    if (!refs.has(objectId(ref))) refs.set(objectId(ref), ref);
  }
  for (const [id, ref] of plan.files) if (!refs.has(id)) refs.set(id, ref);
  const all = [...refs.values()];
  const limit = pLimit(Math.max(jobs, 8));
  const localChecks = await Promise.all(all.map((r) => limit(() => repo.odb.check(r.oid, r.hashName))));
  const onRemote = await existingByHash(remote, all, { jobs, signal: opts.signal });
  const status: Record<string, CloudStatus> = {};
  all.forEach((ref, i) => {
    const local = localChecks[i] === 'ok';
    const there = onRemote.has(objectId(ref));
    if (local && there) return;
    status[ref.name] = local ? 'new' : there ? 'deleted' : 'missing';
  });
  return status;
}

function readCached(repo: Repo, output: SelectedOutput): Promise<string> {
  return readFile(repo.odb.pathFor(output.oid, output.hashName), 'utf8');
}

/** A manifest read from the remote, only if its bytes match its oid. */
async function remoteManifest(remote: Remote, output: SelectedOutput, signal: AbortSignal | undefined) {
  try {
    const text = await readAll(await remote.get(objectKey(output.oid, output.hashName), { signal }));
    return manifestOid(text) === output.oid ? parseManifest(text, output.oid) : undefined;
  } catch (err) {
    if (signal?.aborted) throw err;
    return undefined; // absent or unreadable: the directory shows as deleted/missing
  }
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
