/**
 * The merged DVC configuration of a repository: system, global, repo (`.dvc/config`) and local
 * (`.dvc/config.local`) levels, later ones winning (dvc-compat §6.1). Relative paths are resolved
 * against the directory of the file that set them.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { type LinkType, parseLinkTypes } from '../cache/link.js';
import {
  type ConfigData,
  configBool,
  configList,
  configString,
  mergeConfigs,
  readConfigFile,
} from '../dvcfile/config.js';

export type ConfigLevel = 'system' | 'global' | 'repo' | 'local';

export function configPathFor(level: ConfigLevel, dvcDir: string): string {
  switch (level) {
    case 'system':
      return path.join(nonBlank(process.env.DVC_SYSTEM_CONFIG_DIR) ?? siteConfigDir(), 'config');
    case 'global':
      return path.join(nonBlank(process.env.DVC_GLOBAL_CONFIG_DIR) ?? userConfigDir(), 'config');
    case 'repo':
      return path.join(dvcDir, 'config');
    case 'local':
      return path.join(dvcDir, 'config.local');
  }
}

/** An environment value, unless unset or blank (Python's `os.getenv(x) or …`, platformdirs' strip). */
function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** platformdirs `user_config_dir("dvc", "iterative")`, as `dvc: dvc/dirs.py` asks for it. */
function userConfigDir(): string {
  const env = process.env;
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'dvc');
  if (process.platform === 'win32') {
    return path.join(env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), 'iterative', 'dvc');
  }
  return path.join(nonBlank(env.XDG_CONFIG_HOME) ?? path.join(os.homedir(), '.config'), 'dvc');
}

/** platformdirs `site_config_dir("dvc", "iterative")`: the first of `$XDG_CONFIG_DIRS` on Linux. */
function siteConfigDir(): string {
  const env = process.env;
  if (process.platform === 'darwin') return path.join('/Library', 'Application Support', 'dvc');
  if (process.platform === 'win32')
    return path.join(env.ALLUSERSPROFILE ?? 'C:\\ProgramData', 'iterative', 'dvc');
  const first = nonBlank(env.XDG_CONFIG_DIRS)?.split(path.delimiter)[0];
  return path.join(nonBlank(first) ?? '/etc/xdg', 'dvc');
}

const PATH_KEYS: ReadonlyArray<[string, string]> = [['cache', 'dir']];

/** Reads one level, making its relative path values absolute. */
function readLevel(file: string): ConfigData {
  const data = readConfigFile(file);
  for (const [section, key] of PATH_KEYS) {
    const value = configString(data, section, key);
    if (value !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      const expanded = value.startsWith('~') ? path.join(os.homedir(), value.slice(1)) : value;
      data.get(section)?.set(key, path.resolve(path.dirname(file), expanded));
    }
  }
  return data;
}

export interface RepoConfig {
  readonly data: ConfigData;
  readonly cacheDir: string;
  readonly linkTypes: LinkType[];
  readonly noScm: boolean;
  readonly autostage: boolean;
}

export function loadRepoConfig(dvcDir: string): RepoConfig {
  const levels: ConfigLevel[] = ['system', 'global', 'repo', 'local'];
  const data = mergeConfigs(levels.map((level) => readLevel(configPathFor(level, dvcDir))));
  return {
    data,
    cacheDir: configString(data, 'cache', 'dir') ?? path.join(dvcDir, 'cache'),
    linkTypes: parseLinkTypes(configList(data, 'cache', 'type')),
    noScm: configBool(data, 'core', 'no_scm') ?? false,
    autostage: configBool(data, 'core', 'autostage') ?? false,
  };
}
