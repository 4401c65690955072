/**
 * `.dvcignore` filtering (dvc-compat §7, `dvc: dvc/ignore.py`). Paths it ignores are invisible to
 * `add`, `status` and every workspace walk.
 *
 * How DVC combines the files, and so how this module does: every directory may hold a
 * `.dvcignore` whose patterns are relative to that directory. When a walk enters a directory with
 * one, its patterns are rewritten relative to the repo root (`dir/pattern`, or `dir/**\/pattern`
 * for patterns that match at any depth) and appended to the patterns in effect for the parent
 * directory. The last matching pattern wins, so deeper files extend and override shallower ones.
 * Such a list of root-relative patterns is an `IgnoreScope`; matching uses the `ignore` package
 * (gitignore semantics: negation, `dir/` only matching directories, leading `/` anchoring, `**`,
 * and nothing inside an ignored directory can be re-included).
 *
 * Besides the files, DVC always excludes `.git`, `.hg` and `.dvc` directories and anything
 * named `.git` (its default patterns `.hg/`, `.git/`, `.git`, `.dvc/`).
 *
 * Known difference from DVC: DVC matches with pathspec, where a negated directory pattern such as
 * `!keep/` also re-includes files inside `keep/` that an earlier pattern (`*.log`) ignored; git
 * and this module keep them ignored. DVC also lets a `.dvcignore` negate its default patterns;
 * here `.git`, `.hg` and `.dvc` stay excluded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { CpvError, errnoCode } from '../errors.js';

export const DVCIGNORE_FILE = '.dvcignore';

/** DVC's default patterns: `.git` of any kind, and the directories `.hg` and `.dvc`. */
export function isExcludedByDefault(name: string, isDir: boolean): boolean {
  return name === '.git' || (isDir && (name === '.hg' || name === '.dvc'));
}

/** Python's `str.strip()` whitespace (differs from JS `trim()`: no U+FEFF, but U+001C–U+001F and U+0085). */
const PY_STRIP =
  /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

/** The patterns of a `.dvcignore` text as DVC reads them: lines stripped, blank and `#` lines dropped. */
export function parseDvcignore(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(PY_STRIP, ''))
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * A pattern from the `.dvcignore` in directory `rel` (posix, relative to the repo root), rewritten
 * to mean the same thing relative to the repo root. Mirrors `dvc: dvc/pathspec_math.py`
 * `change_rule`, including its quirk of dropping a leading backslash escape.
 */
export function rebasePattern(pattern: string, rel: string): string {
  let rule = pattern.replace(PY_STRIP, '');
  const negated = rule.startsWith('!');
  if (negated) rule = rule.slice(1);
  // A slash before the last character anchors the pattern to its directory; otherwise (or with a
  // leading `**/`) it matches at any depth below it.
  const anchored = rule.slice(0, -1).includes('/') && !rule.startsWith('**/');
  if (anchored) rule = rule.startsWith('/') ? rule.slice(1) : rule;
  else if (rule.startsWith('**/')) rule = rule.slice(3);
  if (rule.startsWith('\\')) rule = rule.slice(1);
  const body = anchored ? `/${rel}/${rule}` : `/${rel}/**/${rule}`;
  return negated ? `!${body}` : body;
}

/** The `.dvcignore` patterns in effect for the entries of one directory, all relative to the repo root. */
export class IgnoreScope {
  static readonly EMPTY = new IgnoreScope([]);
  private matcher: Ignore | undefined;

  constructor(readonly patterns: readonly string[]) {}

  /** Whether any pattern applies at all; walks skip matching when not. */
  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  /** This scope plus the patterns of the `.dvcignore` in directory `rel` (relative to the repo root). */
  extend(filePatterns: readonly string[], rel: string): IgnoreScope {
    if (filePatterns.length === 0) return this;
    const rebased = rel === '' ? filePatterns : filePatterns.map((p) => rebasePattern(p, rel));
    return new IgnoreScope([...this.patterns, ...rebased]);
  }

  /**
   * Whether `rel` (posix, relative to the repo root, non-empty) is ignored, the path itself or
   * through one of its parent directories.
   */
  ignores(rel: string, isDir: boolean): boolean {
    if (this.isEmpty) return false;
    // DVC's patterns are case-sensitive (Python `re`); `ignore` folds case unless told not to.
    this.matcher ??= ignore({ ignoreCase: false }).add(this.patterns);
    return this.matcher.ignores(isDir ? `${rel}/` : rel);
  }
}

/**
 * The `.dvcignore` filter of one repository. Files are read lazily, as directories are asked
 * about; the results are cached for the life of the object (one command).
 */
export class DvcIgnore {
  /** Directory path relative to the root ('' for the root) → its scope. */
  private readonly scopes = new Map<string, IgnoreScope>();

  private constructor(
    /** The repo root (absolute, resolved); patterns outside it never apply. */
    readonly root: string,
    rootScope: IgnoreScope,
  ) {
    this.scopes.set('', rootScope);
  }

  /** Reads the root `.dvcignore` of the repo at `repoRoot`; deeper ones are read when needed. */
  static async load(repoRoot: string): Promise<DvcIgnore> {
    const root = path.resolve(repoRoot);
    const file = path.join(root, DVCIGNORE_FILE);
    let text: string | undefined;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      if (!isAbsent(err)) throw unreadable(file, err);
    }
    return new DvcIgnore(root, IgnoreScope.EMPTY.extend(parseDvcignore(text ?? ''), ''));
  }

  /** `abs` relative to the root with `/` separators ('' for the root), or undefined if outside. */
  relative(abs: string): string | undefined {
    const rel = path.relative(this.root, path.resolve(abs));
    if (rel === '') return '';
    if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
    return path.sep === '/' ? rel : rel.split(path.sep).join('/');
  }

  /**
   * Whether `absPath` is ignored: by DVC's default patterns, by a `.dvcignore` pattern, or because
   * a directory above it is. Paths outside the repo and the root itself are never ignored.
   */
  isIgnored(absPath: string, isDir: boolean): boolean {
    const rel = this.relative(absPath);
    if (rel === undefined || rel === '') return false;
    const parts = rel.split('/');
    const last = parts.length - 1;
    if (parts.some((part, i) => isExcludedByDefault(part, i < last || isDir))) return true;
    return this.scopeOf(parts.slice(0, -1).join('/')).ignores(rel, isDir);
  }

  /** The scope for the entries of directory `dirAbs` (EMPTY outside the repo). */
  scopeFor(dirAbs: string): IgnoreScope {
    const rel = this.relative(dirAbs);
    return rel === undefined ? IgnoreScope.EMPTY : this.scopeOf(rel);
  }

  /**
   * The scope for the entries of `dirAbs`, given the scope of its parent directory: the parent's,
   * extended by `dirAbs/.dvcignore` unless the parent's patterns ignore that file (then DVC does
   * not read it). Walks call this for directories whose listing shows a `.dvcignore`.
   */
  scopeBelow(parent: IgnoreScope, dirAbs: string): IgnoreScope {
    const rel = this.relative(dirAbs);
    if (rel === undefined) return parent;
    const fileRel = rel === '' ? DVCIGNORE_FILE : `${rel}/${DVCIGNORE_FILE}`;
    if (parent.ignores(fileRel, false)) return parent;
    return parent.extend(readPatterns(path.join(dirAbs, DVCIGNORE_FILE)), rel);
  }

  /** Scope of a directory given by its root-relative path, reading `.dvcignore`s down from the root. */
  private scopeOf(rel: string): IgnoreScope {
    const cached = this.scopes.get(rel);
    if (cached !== undefined) return cached;
    const cut = rel.lastIndexOf('/');
    const parent = this.scopeOf(cut < 0 ? '' : rel.slice(0, cut));
    const scope = this.scopeBelow(parent, path.join(this.root, rel));
    this.scopes.set(rel, scope);
    return scope;
  }
}

/** Patterns of one `.dvcignore`, or none if there is no such file. */
function readPatterns(file: string): string[] {
  try {
    return parseDvcignore(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if (isAbsent(err)) return [];
    throw unreadable(file, err);
  }
}

/** Errors meaning "no such file here" rather than "could not read it". */
function isAbsent(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

function unreadable(file: string, err: unknown): CpvError {
  return new CpvError('E_UNREADABLE', `cannot read '${file}': ${errnoCode(err) ?? String(err)}`, {
    hint: 'Fix the permissions of the .dvcignore file (chmod u+r) and retry.',
    cause: err,
  });
}
