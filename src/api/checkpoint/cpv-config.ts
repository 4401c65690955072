/**
 * `CPVConfig`: what `cpv setup` writes and every checkpoint call reads — where the data goes (an S3
 * bucket, or a local directory), how to reach the git host, and who commits.
 *
 * Secrets: AWS keys stay in the AWS credentials file (only its path and profile are stored); a git
 * token is stored in the 0600 file, never in a model repo, and `getConfig()` shows it as `***`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CpvError } from '../../errors.js';
import { writeFileAtomic } from '../../fsutil.js';
import { proxyFor } from '../../proxy.js';
import {
  type AwsSettings,
  type CpvConfigData,
  configFilePath,
  cpvHome,
  type GitSettings,
  readConfigData,
  writeConfigData,
} from './config-file.js';
import { type EffectiveConfig, effectiveConfig, redactConfig } from './effective-config.js';
import { probeGitHttps, probeSshKey } from './git-probe.js';
import { DEFAULT_REGION, probeBucket } from './s3-probe.js';
import { generateEd25519KeyPair } from './ssh-key.js';
import {
  checkUrlTemplate,
  DEFAULT_HTTPS_URL_TEMPLATE,
  DEFAULT_SSH_URL_TEMPLATE,
  expandUrlTemplate,
} from './urls.js';

export interface CPVConfigOptions {
  /** Environment to read `CPV_HOME` and overrides from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

export interface AwsProfileSetup {
  /** AWS shared credentials file (default: the SDK's, `~/.aws/credentials`). */
  credentialPath?: string;
  /** Profile in that file (default `default`). */
  profile?: string;
  bucket: string;
  region?: string;
  /** S3-compatible endpoint (MinIO, Ceph), e.g. `http://127.0.0.1:7480`; path-style addressing is used. */
  endpoint?: string;
}

export interface SshSetup {
  /** Private key file; a bare name is placed in the cpv folder. The public key goes beside it as `.pub`. */
  keygenFilename: string;
  /** Replace an existing key file (default: refuse). */
  force?: boolean;
  /** Comment in the public key line (default `cpv@<host>`). */
  comment?: string;
  urlTemplate?: string;
}

export interface SshSetupResult {
  privateKeyPath: string;
  publicKeyPath: string;
  /** The line to register with the git host (Bitbucket: Personal settings → SSH keys). */
  publicKey: string;
}

export interface GitHttpsSetup {
  username?: string;
  token: string;
  urlTemplate?: string;
  /** Bitbucket project key that missing model repos are created in (importModelInit). */
  bitbucketProject?: string;
  /** Bitbucket REST API base (default for bitbucket.org: https://api.bitbucket.org/2.0). */
  bitbucketApi?: string;
}

/** The outcome of one service check: failures are reported, not thrown, so all checks run. */
export interface ServiceCheck {
  ok: boolean;
  /** Nothing configured for this service, so nothing was checked. */
  skipped?: boolean;
  detail: string;
  code?: string;
  hint?: string;
}

export interface CredentialReport {
  s3: ServiceCheck;
  git: ServiceCheck;
}

export interface ValidateOptions {
  /** Team and model to fill the git URL template with (needed when it has placeholders). */
  team?: string;
  model?: string;
}

export interface PublicConfig extends EffectiveConfig {
  /** The settings file, and whether it exists. */
  path: string;
  exists: boolean;
}

export class CPVConfig {
  /** The environment settings and overrides are read from (also handed to the git layer). */
  readonly env: NodeJS.ProcessEnv;

  constructor(opts: CPVConfigOptions = {}) {
    this.env = opts.env ?? process.env;
  }

  /** The settings folder (`$CPV_HOME` or `~/.cpv`). */
  get home(): string {
    return cpvHome(this.env);
  }

  get path(): string {
    return configFilePath(this.env);
  }

  private load(): CpvConfigData {
    return readConfigData(this.path) ?? { version: 1 };
  }

  private update(change: (data: CpvConfigData) => void): void {
    const data = this.load();
    change(data);
    writeConfigData(this.path, data);
  }

  /** The settings in force, secrets included: for the checkpoint classes, never for display. */
  effective(): EffectiveConfig {
    return effectiveConfig(readConfigData(this.path), this.env);
  }

  /** The settings in force with the token shown as `***`, plus the file's path. */
  getConfig(): PublicConfig {
    return { ...redactConfig(this.effective()), path: this.path, exists: fs.existsSync(this.path) };
  }

  setupAwsProfile(setup: AwsProfileSetup): AwsSettings {
    const aws = checkAwsSetup(setup);
    this.update((data) => {
      data.aws = aws;
    });
    return aws;
  }

  /** Makes an ed25519 key pair (private 0600) and records it as the git transport. */
  setupBitbucketSsh(setup: SshSetup): SshSetupResult {
    const privateKeyPath = this.resolveKeyPath(setup.keygenFilename);
    const publicKeyPath = `${privateKeyPath}.pub`;
    if (!setup.force && (fs.existsSync(privateKeyPath) || fs.existsSync(publicKeyPath))) {
      throw new CpvError('E_USAGE', `the key file ${privateKeyPath} exists already`, {
        hint: 'Choose another file name, or pass force to replace the key (the old one stops working).',
      });
    }
    const template = checkUrlTemplate(setup.urlTemplate ?? DEFAULT_SSH_URL_TEMPLATE);
    const pair = generateEd25519KeyPair(setup.comment ?? `cpv@${os.hostname()}`);
    fs.mkdirSync(path.dirname(privateKeyPath), { recursive: true, mode: 0o700 });
    writeFileAtomic(privateKeyPath, pair.privateKey, 0o600);
    writeFileAtomic(publicKeyPath, `${pair.publicKey}\n`, 0o644);
    this.update((data) => {
      data.git = { transport: 'ssh', sshKeyPath: privateKeyPath, urlTemplate: template };
    });
    return { privateKeyPath, publicKeyPath, publicKey: pair.publicKey };
  }

  setupGitHttps(setup: GitHttpsSetup): GitSettings {
    if (typeof setup.token !== 'string' || setup.token.trim() === '') {
      throw new CpvError('E_USAGE', 'a git token is required for HTTPS', {
        hint: 'Create an access token on the git host (repository read/write) and pass it as token.',
      });
    }
    const git: GitSettings = {
      transport: 'https',
      token: setup.token,
      urlTemplate: checkUrlTemplate(setup.urlTemplate ?? DEFAULT_HTTPS_URL_TEMPLATE),
    };
    if (setup.username) git.username = setup.username;
    if (setup.bitbucketProject) git.bitbucketProject = setup.bitbucketProject;
    if (setup.bitbucketApi) git.bitbucketApi = setup.bitbucketApi;
    this.update((data) => {
      data.git = git;
    });
    return { ...git, token: '***' };
  }

  /** Uses a local directory as the data remote (the zero-configuration path made explicit). */
  setupLocalStorage(dir: string): string {
    const abs = path.resolve(dir);
    this.update((data) => {
      data.storageDir = abs;
    });
    return abs;
  }

  /** Who commits and tags in model repos. */
  setupIdentity(identity: { name: string; email: string }): void {
    if (!identity.name || !identity.email) {
      throw new CpvError('E_USAGE', 'both a name and an email are needed for the commit identity', {
        hint: 'For example { name: "Ada Lovelace", email: "ada@example.com" }.',
      });
    }
    this.update((data) => {
      data.identity = { name: identity.name, email: identity.email };
    });
  }

  /** Checks each configured service for real (S3 probe object, git host authentication). */
  async validateCredentials(opts: ValidateOptions = {}): Promise<CredentialReport> {
    const config = this.effective();
    return { s3: await checkS3(config, this.env), git: await checkGit(config, opts, this.env) };
  }

  private resolveKeyPath(name: string): string {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new CpvError('E_USAGE', 'keygenFilename is empty', { hint: 'For example id_ed25519_cpv.' });
    }
    return path.isAbsolute(name) || name.includes(path.sep) ? path.resolve(name) : path.join(this.home, name);
  }
}

function checkAwsSetup(setup: AwsProfileSetup): AwsSettings {
  if (typeof setup.bucket !== 'string' || setup.bucket === '' || /[/\s]/.test(setup.bucket)) {
    throw new CpvError('E_USAGE', `invalid bucket name '${setup.bucket ?? ''}'`, {
      hint: 'Give the bare bucket name, without s3:// or a path.',
    });
  }
  const aws: AwsSettings = { bucket: setup.bucket, profile: setup.profile ?? 'default' };
  if (setup.credentialPath !== undefined) {
    aws.credentialPath = path.resolve(setup.credentialPath);
    checkProfileIn(aws.credentialPath, aws.profile!);
  }
  if (setup.region) aws.region = setup.region;
  if (setup.endpoint) {
    if (!/^https?:\/\/[^/\s]+/.test(setup.endpoint)) {
      throw new CpvError('E_USAGE', `invalid S3 endpoint '${setup.endpoint}'`, {
        hint: 'Give a URL such as http://127.0.0.1:7480 or https://s3.example.com.',
      });
    }
    aws.endpoint = setup.endpoint;
  }
  return aws;
}

/** The credentials file must exist and hold the profile, or every later call would fail. */
function checkProfileIn(file: string, profile: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CpvError('E_CONFIG_MISSING', `cannot read the AWS credentials file ${file}`, {
      hint: 'Create it (aws configure) or give the right path as credentialPath.',
      cause: err,
    });
  }
  const sections = [...text.matchAll(/^\s*\[\s*(?:profile\s+)?([^\]]+?)\s*\]/gm)].map((m) => m[1]);
  if (!sections.includes(profile)) {
    throw new CpvError('E_CONFIG_MISSING', `profile '${profile}' is not in ${file}`, {
      hint: `Profiles there: ${sections.join(', ') || 'none'}. Pass one of them as profile.`,
    });
  }
}

function failed(err: unknown): ServiceCheck {
  const e = err as { code?: string; message?: string; hint?: string };
  const check: ServiceCheck = { ok: false, detail: e?.message ?? String(err) };
  if (e?.code) check.code = e.code;
  if (e?.hint) check.hint = e.hint;
  return check;
}

/** ` (through proxy host:port)` when the environment sends requests to `url` through a proxy. */
function throughProxy(url: string, env: NodeJS.ProcessEnv): string {
  const proxy = proxyFor(new URL(url), env);
  return proxy === undefined ? '' : ` (through proxy ${proxy.host})`; // the host only: never its credentials
}

async function checkS3(config: EffectiveConfig, env: NodeJS.ProcessEnv): Promise<ServiceCheck> {
  if (!config.aws.bucket) {
    const where = config.storageDir ? `local storage ${config.storageDir}` : 'local storage';
    return { ok: true, skipped: true, detail: `no S3 bucket configured; data goes to ${where}` };
  }
  try {
    await probeBucket(config.aws, '', env);
    const endpoint = config.aws.endpoint ?? `https://s3.${config.aws.region ?? DEFAULT_REGION}.amazonaws.com`;
    return {
      ok: true,
      detail: `s3://${config.aws.bucket}: wrote and deleted a probe object${throughProxy(endpoint, env)}`,
    };
  } catch (err) {
    return failed(err);
  }
}

async function checkGit(
  config: EffectiveConfig,
  opts: ValidateOptions,
  env: NodeJS.ProcessEnv,
): Promise<ServiceCheck> {
  const git = config.git;
  if (git.transport === 'ssh' || (git.transport === undefined && git.sshKeyPath)) {
    try {
      const key = await probeSshKey(git.sshKeyPath ?? '');
      return { ok: true, detail: `SSH key ${key.keyPath} (${key.type}) is readable; host not contacted` };
    } catch (err) {
      return failed(err);
    }
  }
  if (!git.token && !git.urlTemplate)
    return { ok: true, skipped: true, detail: 'no git host configured; local git only' };
  const template = git.urlTemplate ?? DEFAULT_HTTPS_URL_TEMPLATE;
  const hasPlaceholders = /\{[^}]*\}/.test(template);
  if (hasPlaceholders && (!opts.team || !opts.model)) {
    return { ok: true, skipped: true, detail: `give a team and model to check ${template}` };
  }
  try {
    const url = hasPlaceholders ? expandUrlTemplate(template, opts.team ?? '', opts.model ?? '') : template;
    const info = await probeGitHttps(url, git, env);
    return { ok: true, detail: `${info.url}: authenticated, ${info.refs} refs${throughProxy(url, env)}` };
  } catch (err) {
    return failed(err);
  }
}
