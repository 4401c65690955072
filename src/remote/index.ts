/**
 * Finding and opening a configured remote (dvc-compat §5.4, §6).
 *
 * A remote is the section `['remote "<name>"']` of the merged config; `core.remote` names the
 * default one. Relative paths (`url`, `credentialpath`, `configpath`) are relative to the config
 * file that set them, so each is resolved against the level that wins for that key.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Repo } from '../api/repo.js';
import { type ConfigLevel, configPathFor } from '../api/repo-config.js';
import { type ConfigData, configString, readConfigFile } from '../dvcfile/config.js';
import { CpvError } from '../errors.js';
import { LocalRemote } from './local.js';
import type { Remote } from './remote.js';

export type { Remote, TransferCallOptions } from './remote.js';

/** A remote's settings: its name, resolved url, and every option as written (keys lower-case). */
export interface RemoteConfig {
  name: string;
  url: string;
  options: Map<string, string>;
}

const LEVELS: ConfigLevel[] = ['system', 'global', 'repo', 'local'];
const PATH_OPTIONS = ['url', 'credentialpath', 'configpath'];
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The name of the remote to use: the one asked for, else `core.remote`. */
export function remoteNameFor(data: ConfigData, requested?: string): string {
  const name = requested ?? configString(data, 'core', 'remote');
  if (name === undefined || name === '') {
    throw new CpvError('E_NO_REMOTE', 'no remote specified and no default remote set', {
      hint: 'Add one with `cpv remote add -d <name> <url>`, or pass -r <name>.',
    });
  }
  return name.toLowerCase();
}

/** Reads remote `name`'s settings from the repo's merged config. */
export function remoteConfig(repo: Repo, requested?: string): RemoteConfig {
  const data = repo.config.data;
  const name = remoteNameFor(data, requested);
  const section = data.get(`remote "${name}"`);
  if (section === undefined) {
    const known = [...data.keys()].flatMap((s) => /^remote "(.*)"$/.exec(s)?.[1] ?? []);
    throw new CpvError('E_NO_REMOTE', `remote '${name}' is not configured`, {
      hint:
        known.length > 0
          ? `Known remotes: ${known.join(', ')}. Add it with \`cpv remote add ${name} <url>\`.`
          : `Add it with \`cpv remote add ${name} <url>\`.`,
    });
  }
  const options = new Map<string, string>();
  for (const key of section.keys()) options.set(key, configString(data, `remote "${name}"`, key) ?? '');
  for (const key of PATH_OPTIONS) {
    const resolved = resolvedPathOption(repo.dvcDir, name, key);
    if (resolved !== undefined) options.set(key, resolved);
  }
  const url = options.get('url');
  if (url === undefined || url === '') {
    throw new CpvError('E_REMOTE_CONFIG', `remote '${name}' has no url`, {
      hint: `Set one with \`cpv remote modify ${name} url <url>\`.`,
    });
  }
  return { name, url, options };
}

/** A path-valued option made absolute against the config file of the level that set it. */
function resolvedPathOption(dvcDir: string, name: string, key: string): string | undefined {
  let resolved: string | undefined;
  for (const level of LEVELS) {
    const file = configPathFor(level, dvcDir);
    const value = configString(readConfigFile(file), `remote "${name}"`, key);
    if (value === undefined) continue;
    if (URL_SCHEME.test(value)) resolved = value;
    else {
      const expanded = value.startsWith('~') ? path.join(os.homedir(), value.slice(1)) : value;
      resolved = path.resolve(path.dirname(file), expanded);
    }
  }
  return resolved;
}

/** Parses `jobs` if set (a positive integer). */
function jobsOption(config: RemoteConfig): number | undefined {
  const raw = config.options.get('jobs');
  if (raw === undefined) return undefined;
  const jobs = Number(raw);
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new CpvError(
      'E_REMOTE_CONFIG',
      `remote '${config.name}': jobs must be a positive integer, not '${raw}'`,
      {
        hint: `Fix it with \`cpv remote modify ${config.name} jobs 8\`.`,
      },
    );
  }
  return jobs;
}

/** Opens the backend for a remote config. The S3 SDK is loaded only when an S3 remote is used. */
export async function openRemote(config: RemoteConfig): Promise<Remote> {
  const jobs = jobsOption(config);
  const { url } = config;
  if (url.startsWith('s3://')) {
    const { S3Remote } = await import('./s3.js');
    return S3Remote.fromConfig(config, jobs);
  }
  if (url.startsWith('file://')) return new LocalRemote(config.name, fileURLToPath(url), jobs);
  if (URL_SCHEME.test(url)) {
    throw new CpvError('E_REMOTE_CONFIG', `remote '${config.name}': unsupported url '${url}'`, {
      hint: 'cpv supports local directories (a path or file://) and S3 (s3://bucket/prefix) remotes.',
    });
  }
  return new LocalRemote(config.name, path.resolve(url), jobs);
}

/** Resolves and opens remote `requested` (default: `core.remote`) of `repo`. */
export function getRemote(repo: Repo, requested?: string): Promise<Remote> {
  return openRemote(remoteConfig(repo, requested));
}
