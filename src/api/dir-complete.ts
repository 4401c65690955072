/**
 * Whether a cache object is intact, and whether every file a `.dir` manifest lists is. The answer
 * for a directory is remembered in the state store under the cache's stamp (cache-stamp.ts): until
 * an object comes or goes, a tree found complete once is complete, and a no-op `status` of 100k
 * files checks no object at all.
 */
import { cacheStamp } from '../cache/cache-stamp.js';
import type { HashName } from '../cache/hash.js';
import type { Repo } from './repo.js';

/**
 * A read-only object is trusted with one synchronous stat (a directory of 100k files means 100k
 * of them, and a promise round trip through the thread pool each costs ~10× more); anything else
 * gets DVC's full check, which re-hashes it and deletes it if corrupt.
 */
export async function objectIntact(repo: Repo, oid: string, hashName: HashName): Promise<boolean> {
  if (repo.odb.isTrustedSync(oid, hashName)) return true;
  return (await repo.odb.check(oid, hashName)) === 'ok';
}

/** Objects checked between turns of the event loop (see dirFilesInCache). */
const YIELD_EVERY = 512;

/** `md5s` is called only when the answer is not remembered (reading a manifest costs). */
export async function dirFilesInCache(
  repo: Repo,
  dirOid: string,
  hashName: HashName,
  md5s: () => Iterable<string>,
): Promise<boolean> {
  const manifestPath = repo.odb.pathFor(dirOid, hashName);
  // Stamp first: a change after this moment shows in the next stamp, whatever we find now.
  const { stamp, racy } = cacheStamp(repo.odb.root(hashName));
  const state = repo.state();
  if (state.isVerified(hashName, manifestPath, stamp)) return true;
  let checked = 0;
  for (const md5 of new Set(md5s())) {
    // Now and then, let the event loop run: `status` hashes the workspace while this loop runs,
    // and that work's next step (handing files to the hashing threads) may be waiting there.
    if (++checked % YIELD_EVERY === 0) await new Promise(setImmediate);
    if (!(await objectIntact(repo, md5, hashName))) return false;
  }
  if (!racy) state.setVerified(hashName, manifestPath, stamp);
  return true;
}
