/**
 * The settings in force: the file's, with environment variables winning, and where each came from.
 *
 * | variable                 | overrides            |
 * | ------------------------ | -------------------- |
 * | CPV_AWS_PROFILE          | aws.profile          |
 * | CPV_AWS_CREDENTIALS_FILE | aws.credentialPath   |
 * | CPV_S3_BUCKET            | aws.bucket           |
 * | CPV_S3_REGION            | aws.region           |
 * | CPV_S3_ENDPOINT          | aws.endpoint         |
 * | CPV_GIT_USERNAME         | git.username         |
 * | CPV_GIT_TOKEN            | git.token            |
 * | CPV_GIT_URL_TEMPLATE     | git.urlTemplate      |
 * | CPV_GIT_SSH_KEY          | git.sshKeyPath       |
 * | CPV_BITBUCKET_API        | git.bitbucketApi     |
 * | CPV_BITBUCKET_PROJECT    | git.bitbucketProject |
 * | CPV_STORAGE_DIR          | storageDir           |
 *
 * (`CPV_HOME` moves the file itself.) The git variables are the ones `src/git/auth.ts` reads, so
 * one token in the environment serves both layers.
 */
import type { AwsSettings, CpvConfigData, GitSettings } from './config-file.js';

export type SettingSource = 'file' | 'env';

type EnvTarget = ['aws', keyof AwsSettings] | ['git', keyof GitSettings] | ['storageDir'];

export const ENV_OVERRIDES: ReadonlyArray<[string, EnvTarget]> = [
  ['CPV_AWS_PROFILE', ['aws', 'profile']],
  ['CPV_AWS_CREDENTIALS_FILE', ['aws', 'credentialPath']],
  ['CPV_S3_BUCKET', ['aws', 'bucket']],
  ['CPV_S3_REGION', ['aws', 'region']],
  ['CPV_S3_ENDPOINT', ['aws', 'endpoint']],
  ['CPV_GIT_USERNAME', ['git', 'username']],
  ['CPV_GIT_TOKEN', ['git', 'token']],
  ['CPV_GIT_URL_TEMPLATE', ['git', 'urlTemplate']],
  ['CPV_GIT_SSH_KEY', ['git', 'sshKeyPath']],
  ['CPV_BITBUCKET_API', ['git', 'bitbucketApi']],
  ['CPV_BITBUCKET_PROJECT', ['git', 'bitbucketProject']],
  ['CPV_STORAGE_DIR', ['storageDir']],
];

export interface EffectiveConfig {
  aws: AwsSettings;
  git: GitSettings;
  storageDir?: string;
  identity?: { name?: string; email?: string };
  /** `aws.bucket` → 'env' etc., for every setting that has a value. */
  sources: Record<string, SettingSource>;
}

function recordSources(prefix: string, values: object, sources: Record<string, SettingSource>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) sources[`${prefix}${key}`] = 'file';
  }
}

/** Merges the stored settings with the environment. */
export function effectiveConfig(data: CpvConfigData | undefined, env: NodeJS.ProcessEnv): EffectiveConfig {
  const out: EffectiveConfig = {
    aws: { ...data?.aws },
    git: { ...data?.git },
    sources: {},
  };
  if (data?.storageDir !== undefined) out.storageDir = data.storageDir;
  if (data?.identity !== undefined) out.identity = { ...data.identity };
  recordSources('aws.', out.aws, out.sources);
  recordSources('git.', out.git, out.sources);
  if (out.storageDir !== undefined) out.sources.storageDir = 'file';
  for (const [name, target] of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (target[0] === 'storageDir') out.storageDir = value;
    else if (target[0] === 'aws') out.aws[target[1]] = value;
    else if (target[1] === 'transport') out.git.transport = value === 'ssh' ? 'ssh' : 'https';
    else out.git[target[1]] = value;
    out.sources[target.join('.')] = 'env';
  }
  return out;
}

export const REDACTED = '***';

/** A copy safe to print or log: the git token is replaced by `***`. */
export function redactConfig(config: EffectiveConfig): EffectiveConfig {
  const git = { ...config.git };
  if (git.token !== undefined) git.token = REDACTED;
  return { ...config, git, sources: { ...config.sources } };
}
