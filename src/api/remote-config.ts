/**
 * `cpv remote add|modify|remove|rename|list|default`: the remote sections of the config files,
 * with DVC's rules (`dvc: dvc/commands/remote.py`): names are lower-cased; `add` refuses an existing
 * name in the level unless forced; `modify` needs the remote to exist at this level or a lower one;
 * `remove` and `rename` also fix `core.remote` in the levels that shadow the edited one.
 */
import type { ConfigDocument } from '../dvcfile/config.js';
import { CpvError } from '../errors.js';
import {
  availableLevels,
  CONFIG_LEVELS,
  type ConfigEditResult,
  type ConfigLevel,
  type ConfigOptions,
  type ConfigScope,
  configScope,
  editLevel,
  levelsBefore,
  readLevel,
  secretWarnings,
  shownValue,
  sourcedConfig,
  storedValue,
} from './config-edit.js';

export interface RemoteAddOptions extends ConfigOptions {
  /** Also make it the default remote (`core.remote`) in the same level. */
  default?: boolean;
  /** Replace a remote of that name in this level (its other options are dropped, as in DVC). */
  force?: boolean;
}

export interface RemoteInfo {
  name: string;
  /** The url as DVC lists it (a relative local path made absolute); undefined if none is set. */
  url: string | undefined;
  isDefault: boolean;
}

const section = (name: string) => `remote "${name}"`;

function remoteName(name: string): string {
  if (name.trim() === '')
    throw new CpvError('E_USAGE', 'a remote name cannot be empty', { hint: 'Name it, e.g. `storage`.' });
  return name.toLowerCase();
}

function missing(name: string, where?: string): CpvError {
  return new CpvError('E_REMOTE_MISSING', `remote '${name}' doesn't exist${where ? ` in ${where}` : ''}`, {
    hint: 'List remotes with `cpv remote list`; add one with `cpv remote add <name> <url>`.',
  });
}

export function remoteAdd(name: string, url: string, opts: RemoteAddOptions = {}): ConfigEditResult {
  const remote = remoteName(name);
  const scope = configScope(opts.cwd);
  const level = opts.level ?? 'repo';
  const result = editLevel(scope, level, (doc, target) => {
    if (doc.hasSection(section(remote))) {
      if (!opts.force) {
        throw new CpvError('E_REMOTE_EXISTS', `remote '${remote}' already exists`, {
          hint: `Use -f/--force to overwrite it, or \`cpv remote modify ${remote} url <url>\` to change its url.`,
        });
      }
      doc.clearSection(section(remote));
    }
    doc.set(section(remote), 'url', storedValue(section(remote), 'url', url, scope.cwd, target.file));
    if (opts.default) doc.set('core', 'remote', remote);
  });
  result.warnings.push(...secretWarnings(scope, level, 'url', url));
  return result;
}

export interface RemoteModifyOptions extends ConfigOptions {
  /** Remove the option instead of setting it. */
  unset?: boolean;
}

/** Sets (or with `unset` removes) one option of a remote that exists at this level or below. */
export function remoteModify(
  name: string,
  option: string,
  value: string | undefined,
  opts: RemoteModifyOptions = {},
): ConfigEditResult {
  const remote = remoteName(name);
  const key = option.toLowerCase();
  if (!opts.unset && value === undefined) {
    throw new CpvError('E_USAGE', `no value given for '${key}'`, {
      hint: 'Give a value, or --unset to remove the option.',
    });
  }
  const scope = configScope(opts.cwd);
  const level = opts.level ?? 'repo';
  const result = editLevel(scope, level, (doc, target) => {
    const known =
      doc.hasSection(section(remote)) ||
      sourcedConfig(scope, levelsBefore(scope, level)).has(section(remote));
    if (!known) throw missing(remote);
    if (opts.unset) doc.unset(section(remote), key);
    else doc.set(section(remote), key, storedValue(section(remote), key, value!, scope.cwd, target.file));
  });
  if (!opts.unset) result.warnings.push(...secretWarnings(scope, level, key, value));
  return result;
}

/** Removes a remote from one level, and `core.remote` naming it from that level and those above. */
export function remoteRemove(name: string, opts: ConfigOptions = {}): ConfigEditResult[] {
  const remote = remoteName(name);
  const scope = configScope(opts.cwd);
  const level = opts.level ?? 'repo';
  const dropDefault = (doc: ConfigDocument) => {
    if (doc.get('core', 'remote') === remote) doc.unset('core', 'remote');
  };
  const results = [
    editLevel(scope, level, (doc, target) => {
      if (!doc.removeSection(section(remote))) throw missing(remote, target.file);
      dropDefault(doc);
    }),
  ];
  for (const shadowing of levelsAbove(scope, level)) results.push(editLevel(scope, shadowing, dropDefault));
  return results;
}

/** Renames a remote in one level (the new name must be free in every level). */
export function remoteRename(name: string, newName: string, opts: ConfigOptions = {}): ConfigEditResult[] {
  const remote = remoteName(name);
  const renamed = remoteName(newName);
  const scope = configScope(opts.cwd);
  const level = opts.level ?? 'repo';
  const all = availableLevels(scope).map((l) => readLevel(scope, l));
  if (sourcedConfig(scope, all).has(section(renamed))) {
    throw new CpvError('E_REMOTE_EXISTS', `cannot rename: remote '${renamed}' already exists`, {
      hint: 'Pick another name, or remove that remote first.',
    });
  }
  const renameDefault = (doc: ConfigDocument) => {
    if (doc.get('core', 'remote') === remote) doc.set('core', 'remote', renamed);
  };
  const results = [
    editLevel(scope, level, (doc, target) => {
      if (!doc.hasSection(section(remote))) throw missing(remote, target.file);
      doc.renameSection(section(remote), section(renamed));
      renameDefault(doc);
    }),
  ];
  for (const shadowing of levelsAbove(scope, level)) results.push(editLevel(scope, shadowing, renameDefault));
  return results;
}

/** The levels that shadow `level`, most specific first (as DVC walks them). */
function levelsAbove(scope: ConfigScope, level: ConfigLevel): ConfigLevel[] {
  const after = CONFIG_LEVELS.slice(CONFIG_LEVELS.indexOf(level) + 1);
  return after.filter((l) => availableLevels(scope).includes(l)).reverse();
}

/** The remotes of one level, or of all levels merged (urls as DVC lists them). */
export function remoteList(opts: ConfigOptions = {}): RemoteInfo[] {
  const scope = configScope(opts.cwd);
  const levels = (opts.level ? [opts.level] : availableLevels(scope)).map((l) => readLevel(scope, l));
  const remotes = new Map<string, string | undefined>();
  let defaultName: string | undefined;
  for (const { file, doc } of levels) {
    const data = doc.data();
    const core = data.get('core')?.get('remote');
    if (typeof core === 'string') defaultName = core.toLowerCase();
    for (const [name, values] of data) {
      const remote = /^remote "(.*)"$/s.exec(name)?.[1];
      if (remote === undefined) continue;
      const url = values.get('url');
      const shown = url === undefined ? undefined : shownValue(name, 'url', url, file);
      remotes.set(remote, shown ?? remotes.get(remote));
    }
  }
  return [...remotes].map(([name, url]) => ({ name, url, isDefault: name === defaultName }));
}

/** The default remote's name (from `level`, or the merged config). */
export function remoteDefault(opts: ConfigOptions = {}): string {
  const scope = configScope(opts.cwd);
  const levels = opts.level ? [opts.level] : availableLevels(scope);
  let name: string | undefined;
  for (const level of levels) {
    const value = readLevel(scope, level).doc.get('core', 'remote');
    if (typeof value === 'string') name = value.toLowerCase();
  }
  if (name === undefined) {
    throw new CpvError('E_CONFIG_MISSING', 'no default remote set', {
      hint: 'Set one with `cpv remote default <name>`.',
    });
  }
  return name;
}

/** Makes `name` the default remote in `level` (default `repo`); it must exist there or below. */
export function setRemoteDefault(name: string, opts: ConfigOptions = {}): ConfigEditResult {
  const remote = remoteName(name);
  const scope = configScope(opts.cwd);
  const level = opts.level ?? 'repo';
  return editLevel(scope, level, (doc) => {
    const known =
      doc.hasSection(section(remote)) ||
      sourcedConfig(scope, levelsBefore(scope, level)).has(section(remote));
    if (!known) {
      throw new CpvError(
        'E_REMOTE_MISSING',
        `remote '${remote}' doesn't exist: a default remote must be in the remote list`,
        {
          hint: 'Add it first with `cpv remote add <name> <url>`.',
        },
      );
    }
    doc.set('core', 'remote', remote);
  });
}

/** Removes `core.remote` from `level` (default `repo`). */
export function unsetRemoteDefault(opts: ConfigOptions = {}): ConfigEditResult {
  return editLevel(configScope(opts.cwd), opts.level ?? 'repo', (doc) => {
    doc.unset('core', 'remote');
  });
}
