/**
 * `cpv fetch`: download the objects of the chosen outputs from their remote into the local cache
 * (dvc-compat §5.3). A directory needs its manifest first: from the cache if it is there, else
 * downloaded (verified) from the remote. Then every listed file not intact in the cache is
 * downloaded, `jobs` at a time, each hashed while it streams and placed only if it matches.
 * A target inside a tracked directory fetches just the files under it.
 */
import * as fs from 'node:fs';
import pLimit from 'p-limit';
import { type ManifestEntry, parseManifest } from '../dvcfile/manifest.js';
import { downloadToCache } from '../remote/download.js';
import type { Remote } from '../remote/remote.js';
import { throwIfAborted } from '../remote/retry.js';
import { withRepoLock } from './lock.js';
import { Repo } from './repo.js';
import {
  BatchStop,
  collectObjects,
  type FailedObject,
  groupByRemote,
  incompleteError,
  jobsFor,
  type ObjectRef,
  ProgressCounter,
  reasonOf,
  type SelectedOutput,
  selectOutputs,
  settleAll,
  type TransferOptions,
} from './transfer.js';

export interface FetchResult {
  /** Objects downloaded, manifests included. */
  fetched: number;
  /** The outputs acted on (pull checks these out). */
  outputs: SelectedOutput[];
}

export async function fetch(targets: string[] = [], opts: TransferOptions = {}): Promise<FetchResult> {
  const repo = Repo.open(opts.cwd);
  return withRepoLock(repo.dvcDir, () => fetchLocked(repo, targets, opts), opts);
}

/** Fetch for a caller that already holds the repository lock (pull). */
export async function fetchLocked(
  repo: Repo,
  targets: string[],
  opts: TransferOptions,
): Promise<FetchResult> {
  const { outputs } = await selectOutputs(repo, targets, { revs: opts });
  let fetched = 0;
  for (const group of await groupByRemote(repo, outputs, opts.remote)) {
    fetched += await fetchFromRemote(repo, group.remote, group.outputs, opts);
  }
  return { fetched, outputs };
}

async function fetchFromRemote(
  repo: Repo,
  remote: Remote,
  outputs: SelectedOutput[],
  opts: TransferOptions,
): Promise<number> {
  const jobs = jobsFor(remote, opts.jobs);
  const failed: FailedObject[] = [];
  let manifests = 0;
  const plan = await collectObjects(repo, outputs, {
    onMissingManifest: (f) => failed.push(f),
    loadManifest: async (output) => {
      if ((await repo.odb.check(output.oid, output.hashName)) !== 'ok') {
        try {
          await downloadToCache(remote, repo.odb, output.oid, output.hashName, { signal: opts.signal });
          manifests += 1;
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          failed.push({ name: output.display, oid: output.oid, reason: reasonOf(err) });
          return undefined;
        }
      }
      return readManifest(repo, output);
    },
  });
  const wanted = await notInCache(repo, [...plan.files.values()], jobs);
  const progress = new ProgressCounter('transfer', wanted.length, 0, opts.onProgress);
  const limit = pLimit(jobs);
  let downloaded = 0;
  const stop = new BatchStop();
  await settleAll(
    wanted.map((ref) =>
      limit(async () => {
        throwIfAborted(opts.signal);
        if (stop.error !== undefined) return;
        try {
          await downloadToCache(remote, repo.odb, ref.oid, ref.hashName, {
            signal: opts.signal,
            onBytes: progress.bytes,
            jobs,
          });
          downloaded += 1;
          progress.object();
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          if (!stop.stops(err)) failed.push({ name: ref.name, oid: ref.oid, reason: reasonOf(err) });
        }
      }),
    ),
  );
  stop.throwIfStopped();
  if (failed.length > 0) {
    throw incompleteError(
      'fetched',
      failed,
      downloaded + manifests,
      `Objects missing on remote '${remote.name}' must be pushed from a clone that has them; for other failures run the command again (objects already fetched are kept).`,
    );
  }
  return downloaded + manifests;
}

function readManifest(repo: Repo, output: SelectedOutput): ManifestEntry[] {
  const p = repo.odb.pathFor(output.oid, output.hashName);
  return parseManifest(fs.readFileSync(p, 'utf8'), output.oid);
}

/** The refs whose object is not intact in the local cache. */
async function notInCache(repo: Repo, refs: ObjectRef[], jobs: number): Promise<ObjectRef[]> {
  const limit = pLimit(Math.max(jobs, 8));
  const checks = await Promise.all(refs.map((ref) => limit(() => repo.odb.check(ref.oid, ref.hashName))));
  return refs.filter((_, i) => checks[i] !== 'ok');
}
