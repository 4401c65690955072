/**
 * The checkpoint API's own settings file, `~/.cpv/config.json` (`CPV_HOME` relocates the folder).
 *
 * It may hold a git token, so the folder is kept 0700 and the file 0600, and every write goes to a
 * temp file beside it that is renamed over the old one: a reader sees the old settings or the new
 * ones, never half of them. This module only stores and loads; meaning lives in `cpv-config.ts`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CpvError, errnoCode } from '../../errors.js';
import { writeFileAtomic } from '../../fsutil.js';

export const CONFIG_FILE_NAME = 'config.json';
export const CONFIG_DIR_MODE = 0o700;
export const CONFIG_FILE_MODE = 0o600;

/** S3 settings. Secrets stay in the AWS credentials file; only where to find them is kept here. */
export interface AwsSettings {
  profile?: string;
  credentialPath?: string;
  bucket?: string;
  region?: string;
  endpoint?: string;
}

/** How model repos reach their git host. */
export interface GitSettings {
  /** `https`: username + token; `ssh`: a key pair made by setupBitbucketSsh. */
  transport?: 'https' | 'ssh';
  username?: string;
  token?: string;
  /** Where a model repo lives, e.g. `https://bitbucket.org/AI-{Team}-model-checkpoints/{model}.git`. */
  urlTemplate?: string;
  sshKeyPath?: string;
  /** Bitbucket REST API base, to create missing repos (default for bitbucket.org URLs: the public API). */
  bitbucketApi?: string;
  /** Bitbucket project key new model repos go into. */
  bitbucketProject?: string;
}

export interface CpvConfigData {
  version: 1;
  aws?: AwsSettings;
  git?: GitSettings;
  /** A local directory used as the data remote when no bucket is configured. */
  storageDir?: string;
  /** Who commits and tags (falls back to git's env vars, then user@host). */
  identity?: { name?: string; email?: string };
}

/** The settings folder: `$CPV_HOME`, else `~/.cpv`. */
export function cpvHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.CPV_HOME;
  return fromEnv ? path.resolve(fromEnv) : path.join(os.homedir(), '.cpv');
}

export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cpvHome(env), CONFIG_FILE_NAME);
}

/** The stored settings, or undefined when no file exists yet. */
export function readConfigData(file: string): CpvConfigData | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new CpvError('E_IO', `cannot read ${file}: ${(err as Error).message}`, {
      hint: 'Check the permissions of the cpv settings folder (CPV_HOME).',
      cause: err,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CpvError('E_CONFIG_VALUE', `${file} is not valid JSON: ${(err as Error).message}`, {
      hint: 'Fix or delete the file, then run `cpv setup` again.',
      cause: err,
    });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new CpvError('E_CONFIG_VALUE', `${file} does not hold a JSON object`, {
      hint: 'Delete the file and run `cpv setup` again.',
    });
  }
  return { ...(data as Omit<CpvConfigData, 'version'>), version: 1 };
}

/** Writes the settings atomically with 0600, creating the folder with 0700 if needed. */
export function writeConfigData(file: string, data: CpvConfigData): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: CONFIG_DIR_MODE });
  // mkdir's mode is masked by the umask and ignored for an existing folder: set it explicitly.
  fs.chmodSync(dir, CONFIG_DIR_MODE);
  writeFileAtomic(file, `${JSON.stringify(data, null, 2)}\n`, CONFIG_FILE_MODE);
}
