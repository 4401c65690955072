/**
 * Where an object lives on a remote (dvc-compat §5.1):
 *
 *   files/md5/<oid[0:2]>/<oid[2:]>   DVC 3 objects (`.dir` manifests keep their suffix)
 *   <oid[0:2]>/<oid[2:]>             DVC 2 legacy objects (outputs without `hash: md5`)
 */
import type { HashName } from '../cache/hash.js';
import { CpvError } from '../errors.js';

const OID = /^[0-9a-f]{32}(\.dir)?$/;

/** The key prefix objects of `hashName` live under (`files/md5/` or the root). */
export function layoutPrefix(hashName: HashName): string {
  return hashName === 'md5' ? 'files/md5/' : '';
}

export function objectKey(oid: string, hashName: HashName): string {
  if (!OID.test(oid)) {
    throw new CpvError('E_USAGE', `invalid object id '${oid}'`, {
      hint: 'An oid is 32 lowercase hex digits, optionally followed by .dir; check the .dvc file.',
    });
  }
  return `${layoutPrefix(hashName)}${oid.slice(0, 2)}/${oid.slice(2)}`;
}

/** The oid a listed key names under `hashName`'s layout, or undefined for anything else. */
export function oidOfKey(key: string, hashName: HashName): string | undefined {
  const prefix = layoutPrefix(hashName);
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  if (rest.length < 4 || rest[2] !== '/') return undefined;
  const oid = rest.slice(0, 2) + rest.slice(3);
  return OID.test(oid) ? oid : undefined;
}

/** The key prefix holding oids that start with `oidPrefix` (e.g. `000` → `files/md5/00/0`). */
export function oidPrefixKey(oidPrefix: string, hashName: HashName): string {
  const head = oidPrefix.slice(0, 2);
  return `${layoutPrefix(hashName)}${head}/${oidPrefix.slice(2)}`;
}
