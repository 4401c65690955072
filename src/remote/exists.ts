/**
 * Which of a set of objects a remote already has, asked the way DVC asks (dvc-compat §5.2,
 * dvc-objects `oids_exist`): one existence check per object when there are few, one listing of
 * the whole layout when there are many compared to the remote's size.
 *
 * The remote's size is estimated by listing the keys whose oid starts with `00` (directories) or
 * `000` (object stores) and scaling: `remote_size = 16^len × hits`. Listing costs one request per
 * 1,000 keys, so listing wins when `oids ≥ remote_size / 1000` (weighted ×5 above 500,000 objects,
 * where huge listings get slow).
 */
import pLimit from 'p-limit';
import type { HashName } from '../cache/hash.js';
import { layoutPrefix, objectKey, oidOfKey, oidPrefixKey } from './keys.js';
import type { Remote, TransferCallOptions } from './remote.js';
import { throwIfAborted } from './retry.js';

const LIST_PAGE_SIZE = 1000;
const TRAVERSE_THRESHOLD_SIZE = 500_000;
const TRAVERSE_WEIGHT_MULTIPLIER = 5;

export interface ExistsOptions extends TransferCallOptions {
  jobs: number;
  /** Called after each object is settled (checked or found in a listing). */
  onChecked?: (n: number) => void;
}

/** Whether listing the whole layout is cheaper than checking `count` objects one by one. */
export function shouldTraverse(count: number, remoteSize: number): boolean {
  const pages = remoteSize / LIST_PAGE_SIZE;
  const weight = remoteSize > TRAVERSE_THRESHOLD_SIZE ? pages * TRAVERSE_WEIGHT_MULTIPLIER : pages;
  return count >= weight;
}

/** The subset of `oids` present on `remote` under `hashName`'s layout. */
export async function oidsExist(
  remote: Remote,
  oids: Iterable<string>,
  hashName: HashName,
  opts: ExistsOptions,
): Promise<Set<string>> {
  const wanted = new Set(oids);
  if (wanted.size === 0) return new Set();
  if (wanted.size === 1) return checkEach(remote, wanted, hashName, opts);
  const { remoteSize, seen } = await estimateRemoteSize(remote, wanted.size, hashName, opts);
  if (shouldTraverse(wanted.size, remoteSize)) return listAll(remote, wanted, hashName, opts);
  const found = new Set([...seen].filter((oid) => wanted.has(oid)));
  opts.onChecked?.(found.size);
  const rest = new Set([...wanted].filter((oid) => !found.has(oid)));
  for (const oid of await checkEach(remote, rest, hashName, opts)) found.add(oid);
  return found;
}

/**
 * Lists the `0…0` prefix and scales the hits up. Stops early once the estimate is big enough to
 * settle the choice (per-object checks), so a huge remote is never listed in full here.
 */
async function estimateRemoteSize(
  remote: Remote,
  count: number,
  hashName: HashName,
  opts: ExistsOptions,
): Promise<{ remoteSize: number; seen: Set<string> }> {
  const prefixes = 16 ** remote.traversePrefixLen;
  const seen = new Set<string>();
  const prefix = oidPrefixKey('0'.repeat(remote.traversePrefixLen), hashName);
  for await (const key of remote.list(prefix, opts)) {
    const oid = oidOfKey(key, hashName);
    if (oid === undefined) continue;
    seen.add(oid);
    if (!shouldTraverse(count, prefixes * seen.size)) break;
  }
  return { remoteSize: prefixes * Math.max(1, seen.size), seen };
}

async function checkEach(
  remote: Remote,
  oids: Set<string>,
  hashName: HashName,
  opts: ExistsOptions,
): Promise<Set<string>> {
  const limit = pLimit(opts.jobs);
  const found = new Set<string>();
  await Promise.all(
    [...oids].map((oid) =>
      limit(async () => {
        throwIfAborted(opts.signal);
        if (await remote.exists(objectKey(oid, hashName), opts)) found.add(oid);
        opts.onChecked?.(1);
      }),
    ),
  );
  return found;
}

async function listAll(
  remote: Remote,
  wanted: Set<string>,
  hashName: HashName,
  opts: ExistsOptions,
): Promise<Set<string>> {
  const found = new Set<string>();
  const collect = async (prefix: string): Promise<void> => {
    for await (const key of remote.list(prefix, opts)) {
      const oid = oidOfKey(key, hashName);
      if (oid !== undefined && wanted.has(oid)) found.add(oid);
    }
  };
  if (remote.traversePrefixLen <= 2) await collect(layoutPrefix(hashName));
  else {
    // Object stores list one page (1,000 keys) per request: list disjoint prefixes in parallel.
    const limit = pLimit(opts.jobs);
    await Promise.all(listingPrefixes(hashName).map((prefix) => limit(() => collect(prefix))));
  }
  throwIfAborted(opts.signal);
  opts.onChecked?.(wanted.size);
  return found;
}

const HEX = [...'0123456789abcdef'];

/**
 * Disjoint key prefixes covering every object of the layout: `files/md5/0` … `files/md5/f`. The
 * legacy layout sits at the root beside `files/`, so its `f` share is split into `f0/` … `ff/` to
 * keep the DVC 3 objects out of the listing.
 */
export function listingPrefixes(hashName: HashName): string[] {
  const base = layoutPrefix(hashName);
  if (base !== '') return HEX.map((h) => base + h);
  return HEX.flatMap((h) => (h === 'f' ? HEX.map((g) => `f${g}/`) : [h]));
}
