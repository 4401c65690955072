/**
 * Moving a model repo's DVC objects to and from its data remote (the `storage` remote of its DVC
 * config: a local directory or S3), through the shared transfer layer.
 *
 * - `pushData`: `cpv push` of the given pointers, so a remote never holds a `.dir` manifest
 *   without its files and every upload is confirmed before git records it.
 * - `fetchData`: objects for pointer texts read from any commit (a tag being downloaded or
 *   restored need not be checked out), manifests first, each verified as it lands in the cache.
 */
import * as fs from 'node:fs';
import pLimit from 'p-limit';
import type { HashName } from '../../cache/hash.js';
import { DvcFile, hashNameOf } from '../../dvcfile/dvcfile.js';
import { parseManifest } from '../../dvcfile/manifest.js';
import { downloadToCache } from '../../remote/download.js';
import { getRemote, type Remote } from '../../remote/index.js';
import { push } from '../push.js';
import { Repo } from '../repo.js';
import type { TransferProgress } from '../transfer.js';
import type { CheckpointProgress } from './model-repo.js';

/** Uploads what the pointer files need and the remote lacks; returns how many objects were sent. */
export async function pushData(
  repoDir: string,
  pointers: string[],
  opts: TransferHooks = {},
): Promise<number> {
  const result = await push(pointers, {
    cwd: repoDir,
    waitMs: 30_000,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress
      ? {
          onProgress: (p: TransferProgress) => {
            if (p.phase === 'transfer') opts.onProgress?.({ phase: 'upload', ...withoutPhase(p) });
          },
        }
      : {}),
  });
  return result.pushed;
}

function withoutPhase(p: TransferProgress): Omit<TransferProgress, 'phase'> {
  const { phase: _, ...rest } = p;
  return rest;
}

/** Cancellation and progress for a transfer. */
export interface TransferHooks {
  signal?: AbortSignal;
  onProgress?: (event: CheckpointProgress) => void;
}

interface ObjectRef {
  oid: string;
  hashName: HashName;
}

/** Parallel downloads of a directory's files. */
const FETCH_JOBS = 8;

/** Downloads into the cache every object the pointer texts need that the cache lacks. */
export async function fetchData(
  repoDir: string,
  pointers: Array<{ name: string; text: string }>,
  opts: { manifestsOnly?: boolean } & TransferHooks = {},
): Promise<number> {
  const repo = Repo.open(repoDir);
  // The remote is opened only when something is missing: a download of what is all in the cache
  // needs no network and no credentials.
  let remote: Promise<Remote> | undefined;
  let fetched = 0;
  let bytes = 0;
  let planned = 0;
  const report = (): void =>
    opts.onProgress?.({
      phase: 'download',
      objectsDone: fetched,
      objectsTotal: planned,
      bytesDone: bytes,
      bytesTotal: 0,
    });
  const get = async (ref: ObjectRef): Promise<void> => {
    if ((await repo.odb.check(ref.oid, ref.hashName)) === 'ok') return;
    remote ??= getRemote(repo);
    await downloadToCache(await remote, repo.odb, ref.oid, ref.hashName, {
      signal: opts.signal,
      onBytes: (n) => {
        bytes += n;
      },
    });
    fetched++;
    report();
  };
  const files: ObjectRef[] = [];
  for (const { name, text } of pointers) {
    for (const out of DvcFile.parse(text, name).outs) {
      if (out.md5 === undefined) continue;
      const ref = { oid: out.md5, hashName: hashNameOf(out) };
      if (!ref.oid.endsWith('.dir')) {
        if (!opts.manifestsOnly) files.push(ref);
        continue;
      }
      await get(ref); // the manifest says which files the directory needs
      if (opts.manifestsOnly) continue;
      const manifest = fs.readFileSync(repo.odb.pathFor(ref.oid, ref.hashName), 'utf8');
      for (const e of parseManifest(manifest, name)) files.push({ oid: e.md5, hashName: ref.hashName });
    }
  }
  planned = fetched + files.length;
  const limit = pLimit(FETCH_JOBS);
  await Promise.all(files.map((ref) => limit(() => get(ref))));
  return fetched;
}
