/**
 * Directory manifests: the `.dir` objects DVC stores for a tracked directory (dvc-compat §3.1).
 * A manifest lists one `{md5, relpath}` per file; its bytes are hashed to give the directory's oid,
 * so they must match DVC's exactly: entries sorted by relpath in code-point order, written with
 * Python's `json.dumps(..., sort_keys=True)`, no trailing newline.
 */
import { createHash } from 'node:crypto';
import { CpvError } from '../errors.js';
import { compareCodePoints, pyJsonString } from './pyjson.js';

export type ManifestEntry = { md5: string; relpath: string };

/** Entries in manifest order: by the whole relpath string, by code point (not by path parts). */
export function sortManifestEntries(entries: readonly ManifestEntry[]): ManifestEntry[] {
  return [...entries].sort((x, y) => compareCodePoints(x.relpath, y.relpath));
}

/**
 * The exact manifest text DVC writes for these entries (any order in, sorted out), e.g.
 * `[{"md5": "…", "relpath": "a"}, {"md5": "…", "relpath": "b/c"}]`; no entries gives `[]`.
 * Only `md5` and `relpath` are written, whatever else the objects carry.
 */
export function serializeManifest(entries: readonly ManifestEntry[]): string {
  // Equal to pyJsonDumps(sorted list), spelled out because directories can hold 100,000 files.
  const items = sortManifestEntries(entries).map(
    (e) => `{"md5": ${pyJsonString(e.md5)}, "relpath": ${pyJsonString(e.relpath)}}`,
  );
  return `[${items.join(', ')}]`;
}

/** The oid of a manifest: md5 of its UTF-8 bytes plus `.dir`. `[]` → `d751713988987e9331980363e24189ce.dir`. */
export function manifestOid(text: string): string {
  return `${createHash('md5').update(text, 'utf8').digest('hex')}.dir`;
}

const MD5_HEX = /^[0-9a-f]{32}$/;

/**
 * Reads a manifest written by any DVC version. Old versions wrote extra keys per entry (kept
 * out: only `md5` and `relpath` matter). Entries come back in file order. Throws E_MANIFEST,
 * naming `source` (a path or oid), when the text is not JSON or not a list of valid entries.
 */
export function parseManifest(text: string, source: string): ManifestEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw manifestError(source, `not valid JSON (${(err as Error).message})`, err);
  }
  if (!Array.isArray(data)) throw manifestError(source, 'expected a JSON list of entries');
  const seen = new Set<string>();
  return data.map((item: unknown, index) => {
    const entry = parseEntry(item, index, source);
    if (seen.has(entry.relpath))
      throw manifestError(source, `entry ${index}: duplicate relpath '${entry.relpath}'`);
    seen.add(entry.relpath);
    return entry;
  });
}

function parseEntry(item: unknown, index: number, source: string): ManifestEntry {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw manifestError(source, `entry ${index} is not an object`);
  }
  const { md5, relpath } = item as Record<string, unknown>;
  if (typeof md5 !== 'string' || !MD5_HEX.test(md5)) {
    throw manifestError(source, `entry ${index}: 'md5' must be 32 lowercase hex digits`);
  }
  if (typeof relpath !== 'string' || !isSafeRelpath(relpath)) {
    throw manifestError(source, `entry ${index}: bad relpath ${JSON.stringify(relpath)}`);
  }
  return { md5, relpath };
}

/**
 * A relpath must stay inside the directory: checkout writes to `<dir>/<relpath>`, so a manifest
 * from a remote must not be able to name `../x` or `/etc/x`. Backslashes are ordinary name
 * characters on POSIX (DVC joins with `/` on every OS), so they are allowed.
 */
function isSafeRelpath(relpath: string): boolean {
  // One test per entry, no split: a manifest can list 100k files.
  return !relpath.includes('\0') && !UNSAFE_PART.test(relpath);
}
/** An empty, `.` or `..` path component. */
const UNSAFE_PART = /(?:^|\/)\.{0,2}(?:\/|$)/;

function manifestError(source: string, detail: string, cause?: unknown): CpvError {
  // JSON.parse quotes the offending input, control characters and all: keep the message one line.
  const oneLine = detail.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return new CpvError('E_MANIFEST', `malformed directory manifest '${source}': ${oneLine}`, {
    hint: 'The .dir object is damaged; fetch it again from a remote, or re-add the directory.',
    cause,
  });
}
