/**
 * `cpv config`: read, set, unset and list options in one config level (system, global, repo =
 * `.dvc/config`, local = `.dvc/config.local`) the way `dvc config` does (`dvc: dvc/commands/config.py`,
 * `dvc: dvc/config.py` `edit`), plus the machinery `cpv remote` shares: opening a level, editing
 * it, validating the merged result against DVC's schema before anything is written.
 *
 * Differences from DVC, on purpose: comments, order and untouched lines survive an edit (DVC
 * rewrites the whole file); reading an option that is not set is an error (E_CONFIG_MISSING) at
 * every level, where DVC prints nothing and exits 0 when no level was named; a new
 * `.dvc/config.local` is created with mode 0600 since it holds credentials.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type ConfigDocument,
  type ConfigValue,
  readConfigDocument,
  splitNamedSection,
  writeConfigDocument,
} from '../dvcfile/config.js';
import {
  PATH_OPTIONS,
  SECRET_OPTIONS,
  type SourcedConfig,
  validateConfig,
} from '../dvcfile/config-schema.js';
import { CpvError } from '../errors.js';
import { toPosix } from '../fsutil.js';
import { type ConfigLevel, configPathFor } from './repo-config.js';

export type { ConfigLevel } from './repo-config.js';

/** The levels in the order they shadow each other (later wins). */
export const CONFIG_LEVELS: readonly ConfigLevel[] = ['system', 'global', 'repo', 'local'];

export interface ConfigOptions {
  /** Directory the command runs in (finds the repository; resolves relative paths). */
  cwd?: string;
  /** One level to read or write; writes default to `repo`, reads to all levels. */
  level?: ConfigLevel;
}

/** One option as found in one level. */
export interface ConfigEntry {
  /** `section.option` or `remote.<name>.option`. */
  name: string;
  /** The value as DVC shows it: lists joined with `,`, relative paths made absolute. */
  value: string;
  level: ConfigLevel;
  /** The file, relative to the repository root for `repo`/`local`, absolute otherwise. */
  origin: string;
}

export interface ConfigEditResult {
  level: ConfigLevel;
  file: string;
  /** Whether the file's text changed (and so was written). */
  changed: boolean;
  /** Things a person should know (a secret written to the committed file, …). */
  warnings: string[];
}

/** Where the config files of a command are: the repository (if any) and the cwd. */
export interface ConfigScope {
  cwd: string;
  root: string | undefined;
  dvcDir: string | undefined;
}

/**
 * The nearest directory at or above `start` holding `.dvc/` (as `Repo.open` finds it). Kept here
 * rather than imported from repo.ts so config commands do not load the cache and git modules.
 */
function findDvcRoot(start: string): string | undefined {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (isDirectory(path.join(dir, '.dvc'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false; // missing or unreadable: not a repository here, keep climbing
  }
}

export function configScope(cwd: string = process.cwd()): ConfigScope {
  const abs = path.resolve(cwd);
  const root = findDvcRoot(abs);
  return { cwd: abs, root, dvcDir: root === undefined ? undefined : path.join(root, '.dvc') };
}

/** The levels a read looks at: all four in a repository, else system and global. */
export function availableLevels(scope: ConfigScope): ConfigLevel[] {
  return scope.root === undefined ? ['system', 'global'] : [...CONFIG_LEVELS];
}

export function configFileFor(scope: ConfigScope, level: ConfigLevel): string {
  if ((level === 'repo' || level === 'local') && scope.dvcDir === undefined) {
    throw new CpvError('E_NOT_A_REPO', `not inside a DVC repository (checked up from ${scope.cwd})`, {
      hint: 'Run `cpv init` first, or use --global / --system.',
    });
  }
  return configPathFor(level, scope.dvcDir ?? '');
}

/** How a level's file is shown: relative to the repository root for repo/local (as DVC does). */
export function originOf(scope: ConfigScope, level: ConfigLevel): string {
  const file = configFileFor(scope, level);
  return scope.root !== undefined && (level === 'repo' || level === 'local')
    ? toPosix(path.relative(scope.root, file))
    : file;
}

export interface LevelDoc {
  level: ConfigLevel;
  file: string;
  doc: ConfigDocument;
}

export function readLevel(scope: ConfigScope, level: ConfigLevel): LevelDoc {
  const file = configFileFor(scope, level);
  return { level, file, doc: readConfigDocument(file) };
}

/** The merged values of some levels, each remembering which file set it. */
export function sourcedConfig(scope: ConfigScope, levels: readonly LevelDoc[]): SourcedConfig {
  const merged: SourcedConfig = new Map();
  for (const { level, doc } of levels) {
    const origin = originOf(scope, level);
    for (const [section, values] of doc.data()) {
      const target = merged.get(section) ?? new Map();
      for (const [key, value] of values) target.set(key, { value, origin });
      merged.set(section, target);
    }
  }
  return merged;
}

/** The levels that come before `level` and exist here (what DVC merges before validating an edit). */
export function levelsBefore(scope: ConfigScope, level: ConfigLevel): LevelDoc[] {
  const before = CONFIG_LEVELS.slice(0, CONFIG_LEVELS.indexOf(level));
  return before.filter((l) => availableLevels(scope).includes(l)).map((l) => readLevel(scope, l));
}

/**
 * Edits one level: `edit` changes the document; the merged config of the levels up to this one
 * must still be valid, or nothing is written. The file is written only if its text changed.
 */
export function editLevel(
  scope: ConfigScope,
  level: ConfigLevel,
  edit: (doc: ConfigDocument, target: LevelDoc) => void,
): ConfigEditResult {
  const target = readLevel(scope, level);
  const before = target.doc.toString();
  edit(target.doc, target);
  validateConfig(sourcedConfig(scope, [...levelsBefore(scope, level), target]));
  const changed = target.doc.toString() !== before;
  if (changed) writeConfigDocument(target.file, target.doc, level === 'local' ? 0o600 : undefined);
  return { level, file: target.file, changed, warnings: [] };
}

/** The path options of a section (`cache.dir`, a remote's `url`, …). */
function pathOptionsOf(section: string): readonly string[] {
  return PATH_OPTIONS[splitNamedSection(section)?.kind ?? section] ?? [];
}

const URL_LIKE = /^\w+:\/\//;

/**
 * A path value as DVC stores it: a relative path given on the command line is relative to the cwd,
 * and is rewritten relative to the config file's directory (`dvc: dvc/config.py` `_to_relpath`).
 */
export function storedValue(section: string, key: string, value: string, cwd: string, file: string): string {
  if (!pathOptionsOf(section).includes(key)) return value;
  if (value === '' || URL_LIKE.test(value) || value.startsWith('~') || path.isAbsolute(value)) return value;
  return toPosix(path.relative(path.dirname(file), path.resolve(cwd, value))) || '.';
}

/** A value as DVC shows it: relative paths resolved against the file's directory, lists joined. */
export function shownValue(section: string, key: string, value: ConfigValue, file: string): string {
  const text = Array.isArray(value) ? value.join(',') : value;
  if (!pathOptionsOf(section).includes(key) || URL_LIKE.test(text) || text === '') return text;
  if (text.startsWith('~')) return path.join(os.homedir(), text.slice(1));
  return path.isAbsolute(text) ? text : path.resolve(path.dirname(file), text);
}

/** Names `section.option` or `remote.<name>.option`; DVC's `NAME_REGEX` (`db.<name>.option` too). */
export interface OptionName {
  /** Canonical section: `core`, `remote "storage"`. */
  section: string;
  key: string;
  /** `remote` or `db` for a named section. */
  kind: string | undefined;
  /** The section as a person reads it: `section 'core'`, `remote 'storage'`. */
  label: string;
}

export function parseOptionName(name: string): OptionName {
  const m = /^(?:(remote|db)\.)?([^.]*)\.([^.]*)$/s.exec(name);
  if (m === null) {
    throw new CpvError('E_USAGE', `'${name}' is not an option name`, {
      hint: 'Write section.option (core.remote) or remote.<name>.option (remote.storage.url); names with dots cannot be used here, use `cpv remote modify`.',
    });
  }
  const [, kind, section = '', key = ''] = m;
  const lower = section.toLowerCase();
  return {
    section: kind === undefined ? lower : `${kind} "${lower}"`,
    key: key.toLowerCase(),
    kind,
    label: kind === undefined ? `section '${lower}'` : `${kind} '${lower}'`,
  };
}

function flatName(section: string, key: string): string {
  const named = splitNamedSection(section);
  return named ? `${named.kind}.${named.name}.${key}` : `${section}.${key}`;
}

function missingSection(option: OptionName): CpvError {
  if (option.kind === 'remote') {
    const name = option.label.slice('remote '.length);
    return new CpvError('E_REMOTE_MISSING', `remote ${name} doesn't exist`, {
      hint: 'List remotes with `cpv remote list`; add one with `cpv remote add <name> <url>`.',
    });
  }
  return new CpvError('E_CONFIG_MISSING', `${option.label} doesn't exist`, {
    hint: 'List what is set with `cpv config --list`.',
  });
}

function missingOption(option: OptionName): CpvError {
  return new CpvError('E_CONFIG_MISSING', `option '${option.key}' doesn't exist in ${option.label}`, {
    hint: 'List what is set with `cpv config --list`.',
  });
}

/** Reads one option: from `level`, or from the most specific level that sets it. */
export function getConfig(name: string, opts: ConfigOptions = {}): ConfigEntry {
  const option = parseOptionName(name);
  const scope = configScope(opts.cwd);
  const levels = opts.level ? [opts.level] : availableLevels(scope).reverse();
  let sectionSeen = false;
  for (const level of levels) {
    const { file, doc } = readLevel(scope, level);
    if (!doc.hasSection(option.section)) continue;
    sectionSeen = true;
    const value = doc.get(option.section, option.key);
    if (value === undefined) continue;
    return {
      name: flatName(option.section, option.key),
      value: shownValue(option.section, option.key, value, file),
      level,
      origin: originOf(scope, level),
    };
  }
  throw sectionSeen ? missingOption(option) : missingSection(option);
}

/** Sets one option in `level` (default `repo`). */
export function setConfig(name: string, value: string, opts: ConfigOptions = {}): ConfigEditResult {
  const option = parseOptionName(name);
  const scope = configScope(opts.cwd);
  const level = opts.level ?? 'repo';
  const result = editLevel(scope, level, (doc, target) => {
    doc.set(
      option.section,
      option.key,
      storedValue(option.section, option.key, value, scope.cwd, target.file),
    );
  });
  result.warnings.push(...secretWarnings(scope, level, option.key, value));
  if (option.section === 'cache' && option.key === 'type') {
    result.warnings.push(
      "You have changed the 'cache.type' option. This doesn't update any existing workspace file links.",
    );
  }
  return result;
}

/** Removes one option from `level` (default `repo`); it must be set there. */
export function unsetConfig(name: string, opts: ConfigOptions = {}): ConfigEditResult {
  const option = parseOptionName(name);
  const scope = configScope(opts.cwd);
  return editLevel(scope, opts.level ?? 'repo', (doc) => {
    if (!doc.hasSection(option.section)) throw missingSection(option);
    if (!doc.unset(option.section, option.key)) throw missingOption(option);
  });
}

/** Every option of `level` (or of each level in turn), in DVC's `config --list` order. */
export function listConfig(opts: ConfigOptions = {}): ConfigEntry[] {
  const scope = configScope(opts.cwd);
  const levels = opts.level ? [opts.level] : availableLevels(scope);
  const entries: ConfigEntry[] = [];
  for (const level of levels) {
    const { file, doc } = readLevel(scope, level);
    const origin = originOf(scope, level);
    const data = doc.data();
    // DVC lists named sections (remote, machine, db) before the plain ones.
    const order = [...data.keys()].sort((a, b) => namedRank(a) - namedRank(b));
    for (const section of order) {
      for (const [key, value] of data.get(section)!) {
        entries.push({
          name: flatName(section, key),
          value: shownValue(section, key, value, file),
          level,
          origin,
        });
      }
    }
  }
  return entries;
}

function namedRank(section: string): number {
  return ['remote', 'machine', 'db'].indexOf(splitNamedSection(section)?.kind ?? '') + 1 || 4;
}

/** A url with a password in it (`https://user:secret@host/…`). */
const URL_WITH_PASSWORD = /^\w+:\/\/[^/@]*:[^/@]*@/;

/** The warning for a credential written to the committed `.dvc/config`. */
export function secretWarnings(
  scope: ConfigScope,
  level: ConfigLevel,
  key: string,
  value?: string,
): string[] {
  if (level !== 'repo') return [];
  const committed = originOf(scope, level);
  if (SECRET_OPTIONS.has(key)) {
    return [
      `'${key}' is a credential and ${committed} is committed to git: ` +
        `keep it in ${originOf(scope, 'local')} instead (add --local) and remove it from ${committed}.`,
    ];
  }
  if (key === 'url' && value !== undefined && URL_WITH_PASSWORD.test(value)) {
    return [
      `the url holds a password and ${committed} is committed to git: ` +
        `put the url without it here and the password in ${originOf(scope, 'local')} (add --local).`,
    ];
  }
  return [];
}
