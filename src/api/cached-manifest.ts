/** Reading a directory's `.dir` manifest out of the local cache. */
import * as fs from 'node:fs';
import type { HashName } from '../cache/hash.js';
import { type ManifestEntry, parseManifest } from '../dvcfile/manifest.js';
import type { Repo } from './repo.js';

/** A manifest's entries, or undefined when the `.dir` object is not in the cache (E_MANIFEST if damaged). */
export function readManifest(repo: Repo, oid: string, hashName: HashName): ManifestEntry[] | undefined {
  const p = repo.odb.pathFor(oid, hashName);
  let text: string;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
  return parseManifest(text, p);
}
