/**
 * `cpv push`: upload the cached objects of the chosen outputs to their remote (dvc-compat §5.2).
 *
 * Order and trust follow DVC, with one addition for correctness:
 * 1. every object (file objects and `.dir` manifests) is looked up on the remote in one batch
 *    (`oidsExist` picks per-object checks or a listing);
 * 2. missing file objects are uploaded, `jobs` at a time;
 * 3. a `.dir` manifest is uploaded only once every file it lists is on the remote, so a remote
 *    holding a manifest always holds its files (DVC relies on that when it sees a `.dir`);
 * 4. finally everything uploaded is looked up again: the push succeeds only when every object is
 *    confirmed on the remote, and otherwise names what is missing.
 * A rerun after an interruption re-does only what is not on the remote yet.
 */
import * as fs from 'node:fs';
import pLimit from 'p-limit';
import { objectKey } from '../remote/keys.js';
import type { Remote } from '../remote/remote.js';
import { throwIfAborted } from '../remote/retry.js';
import { withRepoLock } from './lock.js';
import { Repo } from './repo.js';
import {
  BatchStop,
  collectObjects,
  type DirObjects,
  existingByHash,
  type FailedObject,
  groupByRemote,
  incompleteError,
  jobsFor,
  type ObjectRef,
  objectId,
  ProgressCounter,
  reasonOf,
  type SelectedOutput,
  selectOutputs,
  settleAll,
  type TransferOptions,
} from './transfer.js';

export interface PushResult {
  /** Objects uploaded (DVC's `N files pushed` counts objects). */
  pushed: number;
  /** Names of the remotes pushed to. */
  remotes: string[];
}

export async function push(targets: string[] = [], opts: TransferOptions = {}): Promise<PushResult> {
  const repo = Repo.open(opts.cwd);
  return withRepoLock(
    repo.dvcDir,
    async () => {
      const { outputs } = await selectOutputs(repo, targets, { forPush: true, revs: opts });
      const result: PushResult = { pushed: 0, remotes: [] };
      for (const group of await groupByRemote(repo, outputs, opts.remote)) {
        result.pushed += await pushToRemote(repo, group.remote, group.outputs, opts);
        result.remotes.push(group.remote.name);
      }
      return result;
    },
    opts,
  );
}

interface LocalObject extends ObjectRef {
  size: number;
}

async function pushToRemote(
  repo: Repo,
  remote: Remote,
  outputs: SelectedOutput[],
  opts: TransferOptions,
): Promise<number> {
  const jobs = jobsFor(remote, opts.jobs);
  const failed: FailedObject[] = [];
  // Manifests come from the local cache: an output whose manifest is gone cannot be pushed.
  const collected = await collectObjects(repo, outputs, { onMissingManifest: (f) => failed.push(f) });
  // A path inside a directory pushes just its files, as DVC's granular push: the manifest goes
  // up only with the whole directory (and then only over complete contents).
  const plan = { ...collected, dirs: collected.dirs.filter((d) => d.whole) };
  const mine = [...plan.files.values(), ...plan.dirs.map((d) => d.ref)];
  const local = await localObjects(repo, mine, jobs);
  // A manifest may go up only over complete contents, so look up all of its directory's files,
  // also those no target names.
  const onRemote = await existingByHash(remote, [...mine, ...plan.dirs.flatMap((d) => d.all)], {
    jobs,
    signal: opts.signal,
  });

  const files = [...plan.files.values()].filter((ref) => !onRemote.has(objectId(ref)));
  for (const ref of files) {
    if (!local.has(objectId(ref))) failed.push(missingLocally(ref));
  }
  const uploadable = files.flatMap((ref) => local.get(objectId(ref)) ?? []);
  const progress = new ProgressCounter(
    'transfer',
    uploadable.length,
    uploadable.reduce((sum, o) => sum + o.size, 0),
    opts.onProgress,
  );
  const stop = new BatchStop();
  const uploaded = await uploadAll(remote, repo, uploadable, { jobs, opts, progress, failed, stop });
  stop.throwIfStopped();

  // Manifests last, and only over complete contents.
  const present = (ref: ObjectRef) => onRemote.has(objectId(ref)) || uploaded.has(objectId(ref));
  const dirs = plan.dirs.filter((d) => !onRemote.has(objectId(d.ref)));
  const ready: LocalObject[] = [];
  for (const dir of dirs) {
    const manifest = local.get(objectId(dir.ref));
    if (manifest === undefined) failed.push(missingLocally(dir.ref));
    else if (dir.all.every(present)) ready.push(manifest);
    else failed.push(incompleteDir(dir));
  }
  for (const id of await uploadAll(remote, repo, ready, { jobs, opts, progress, failed, stop }))
    uploaded.add(id);
  stop.throwIfStopped();

  await confirmUploads(remote, [...uploadable, ...ready], uploaded, jobs, opts, failed);
  if (failed.length > 0) {
    throw incompleteError(
      'pushed',
      failed,
      uploaded.size,
      'Objects missing from the local cache must be re-added or fetched first; for other failures run the push again (objects already on the remote are skipped).',
    );
  }
  return uploaded.size;
}

/** The objects present (intact) in the local cache, with their sizes. */
async function localObjects(repo: Repo, refs: ObjectRef[], jobs: number): Promise<Map<string, LocalObject>> {
  const limit = pLimit(Math.max(jobs, 8));
  const found = new Map<string, LocalObject>();
  await Promise.all(
    refs.map((ref) =>
      limit(async () => {
        if ((await repo.odb.check(ref.oid, ref.hashName)) !== 'ok') return;
        const { size } = await fs.promises.stat(repo.odb.pathFor(ref.oid, ref.hashName));
        found.set(objectId(ref), { ...ref, size });
      }),
    ),
  );
  return found;
}

interface UploadBatch {
  jobs: number;
  opts: TransferOptions;
  progress: ProgressCounter;
  /** Objects that could not be uploaded, and why. */
  failed: FailedObject[];
  /** Set by a failure every other upload would meet too (a full remote disk). */
  stop: BatchStop;
}

/** Uploads `objects`, `jobs` at a time; returns the ids that succeeded, records the others. */
async function uploadAll(
  remote: Remote,
  repo: Repo,
  objects: LocalObject[],
  { jobs, opts, progress, failed, stop }: UploadBatch,
): Promise<Set<string>> {
  const limit = pLimit(jobs);
  const done = new Set<string>();
  await settleAll(
    objects.map((obj) =>
      limit(async () => {
        throwIfAborted(opts.signal);
        if (stop.error !== undefined) return;
        try {
          await remote.put(
            objectKey(obj.oid, obj.hashName),
            repo.odb.pathFor(obj.oid, obj.hashName),
            obj.size,
            { signal: opts.signal, onBytes: progress.bytes, jobs },
          );
          done.add(objectId(obj));
          progress.object();
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          if (!stop.stops(err)) failed.push({ name: obj.name, oid: obj.oid, reason: reasonOf(err) });
        }
      }),
    ),
  );
  return done;
}

/** Looks every uploaded object up again; one not found is a failure, not a success. */
async function confirmUploads(
  remote: Remote,
  objects: LocalObject[],
  uploaded: Set<string>,
  jobs: number,
  opts: TransferOptions,
  failed: FailedObject[],
): Promise<void> {
  const sent = objects.filter((o) => uploaded.has(objectId(o)));
  if (sent.length === 0) return;
  const confirmed = await existingByHash(remote, sent, { jobs, signal: opts.signal });
  for (const obj of sent) {
    if (confirmed.has(objectId(obj))) continue;
    uploaded.delete(objectId(obj));
    failed.push({ name: obj.name, oid: obj.oid, reason: 'uploaded, but not found on the remote afterwards' });
  }
}

function missingLocally(ref: ObjectRef): FailedObject {
  return { name: ref.name, oid: ref.oid, reason: 'not in the local cache (nor on the remote)' };
}

function incompleteDir(dir: DirObjects): FailedObject {
  return {
    name: dir.ref.name,
    oid: dir.ref.oid,
    reason: 'manifest not uploaded because some of its files are not on the remote',
  };
}
