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
  const env = process.env;
  switch (level) {
    case 'system':
      return path.join(env.DVC_SYSTEM_CONFIG_DIR ?? '/etc/xdg/dvc', 'config');
    case 'global': {
      const base = env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config');
      return path.join(env.DVC_GLOBAL_CONFIG_DIR ?? path.join(base, 'dvc'), 'config');
    }
    case 'repo':
      return path.join(dvcDir, 'config');
    case 'local':
      return path.join(dvcDir, 'config.local');
  }
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
