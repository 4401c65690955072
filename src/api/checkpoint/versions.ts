/**
 * Checkpoint versions: annotated tags `v{major}.{minor}` for models and `data-v{major}.{minor}` for
 * data, so the two move independently. Ordering is numeric (`v1.9` < `v1.10`); the first version is
 * `v1.0` and the next is the latest minor + 1. Leading zeros are refused so one version has one tag.
 */
import { CpvError } from '../../errors.js';

export type VersionNamespace = 'model' | 'data';

export interface Version {
  namespace: VersionNamespace;
  major: number;
  minor: number;
  /** The tag as stored in git, e.g. `v1.10` or `data-v2.0`. */
  tag: string;
}

const PREFIX: Record<VersionNamespace, string> = { model: 'v', data: 'data-v' };
const NUMBER = '(0|[1-9][0-9]{0,8})';

function pattern(ns: VersionNamespace): RegExp {
  return new RegExp(`^${PREFIX[ns]}${NUMBER}\\.${NUMBER}$`);
}

export function formatVersion(ns: VersionNamespace, major: number, minor: number): string {
  return `${PREFIX[ns]}${major}.${minor}`;
}

/** The version a tag names in `ns`, or undefined for any other tag. */
export function tryParseVersion(tag: string, ns: VersionNamespace): Version | undefined {
  const m = pattern(ns).exec(tag);
  if (!m) return undefined;
  return { namespace: ns, major: Number(m[1]), minor: Number(m[2]), tag };
}

/**
 * Reads a version a person typed: `v1.2`, or just `1.2`, in the model namespace; `data-v1.2`,
 * `v1.2` or `1.2` in the data namespace. Throws E_BAD_VERSION for anything else.
 */
export function parseVersionTag(input: string, ns: VersionNamespace): Version {
  const text = typeof input === 'string' ? input.trim() : '';
  const bare = /^v?(\d+\.\d+)$/.exec(text)?.[1];
  const candidate = bare !== undefined ? `${PREFIX[ns]}${bare}` : text;
  const parsed = tryParseVersion(candidate, ns);
  if (parsed === undefined) {
    throw new CpvError('E_BAD_VERSION', `'${String(input)}' is not a ${ns} version`, {
      hint: `Use ${PREFIX[ns]}<major>.<minor> without leading zeros, e.g. ${formatVersion(ns, 1, 0)} or ${formatVersion(ns, 2, 13)}.`,
    });
  }
  return parsed;
}

export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor;
}

/** The version tags of `ns` among `tags`, oldest first; other tags are left out. */
export function sortVersionTags(tags: readonly string[], ns: VersionNamespace): Version[] {
  return tags
    .map((t) => tryParseVersion(t, ns))
    .filter((v): v is Version => v !== undefined)
    .sort(compareVersions);
}

/** The version after the latest in `tags`: `v1.0` when there is none, else latest minor + 1. */
export function nextVersion(tags: readonly string[], ns: VersionNamespace): Version {
  const latest = sortVersionTags(tags, ns).at(-1);
  const major = latest?.major ?? 1;
  const minor = latest === undefined ? 0 : latest.minor + 1;
  return { namespace: ns, major, minor, tag: formatVersion(ns, major, minor) };
}
