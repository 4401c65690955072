/**
 * Everything a checkpoint class knows about one model: its names, where its repo lives
 * (`<workdir>/<model>`), where its data goes, where its git history goes, and who commits. Built
 * from `CPVConfig` once per call, so a `cpv setup` between calls takes effect.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../../errors.js';
import type { GitCredentials } from '../../git/auth.js';
import { CPVConfig } from './cpv-config.js';
import type { DataRemote } from './dvc-remote.js';
import type { EffectiveConfig } from './effective-config.js';
import { type Identity, ModelGit, type RemoteAccess, resolveIdentity } from './git-adapter.js';
import { checkName } from './names.js';
import { DEFAULT_HTTPS_URL_TEMPLATE, expandUrlTemplate, localDataDir, s3DataUrl } from './urls.js';

export interface ManageOptions {
  /** Where model repos live, as `<workdir>/<model>` (default: the current directory). */
  workdir?: string;
  /** Settings to use (default: `new CPVConfig()`, i.e. `~/.cpv/config.json` and the environment). */
  config?: CPVConfig;
  /** Clock for metrics timestamps (tests pin it). */
  now?: () => Date;
}

/** Options every checkpoint call accepts where they make sense. */
export interface CallOptions {
  /** Fill `log` in results with what was done, step by step. */
  verbose?: boolean;
  /** Return the plan of what would happen; change nothing. */
  dryRun?: boolean;
  /** Override a safety refusal (existing tag, uncommitted changes, non-empty destination). */
  force?: boolean;
  /** Progress of hashing and of data transfers (for progress bars). */
  onProgress?: (event: CheckpointProgress) => void;
  /** Cancels data transfers; an upload cancelled before its commit leaves the repo as it was. */
  signal?: AbortSignal;
}

/** One progress report: files hashed, or objects and bytes moved to or from the data remote. */
export type CheckpointProgress =
  | { phase: 'hash'; target: string; done: number; total: number }
  | {
      phase: 'upload' | 'download';
      objectsDone: number;
      objectsTotal: number;
      bytesDone: number;
      bytesTotal: number;
    };

export class ModelRepo {
  readonly team: string;
  readonly model: string;
  readonly workdir: string;
  readonly dir: string;
  readonly git: ModelGit;
  private readonly cpvConfig: CPVConfig;
  private readonly clock: () => Date;

  constructor(team: string, model: string, opts: ManageOptions = {}) {
    this.team = checkName('team', team);
    this.model = checkName('model', model);
    this.workdir = path.resolve(opts.workdir ?? process.cwd());
    this.dir = path.join(this.workdir, this.model);
    this.git = new ModelGit(this.dir);
    this.cpvConfig = opts.config ?? new CPVConfig();
    this.clock = opts.now ?? (() => new Date());
  }

  now(): Date {
    return this.clock();
  }

  settings(): EffectiveConfig {
    return this.cpvConfig.effective();
  }

  /** Whether the model repo exists here (git and DVC both initialised). */
  exists(): boolean {
    return this.git.exists() && fs.existsSync(path.join(this.dir, '.dvc'));
  }

  /** Throws E_NOT_A_REPO (with what to do) unless the repo exists. */
  requireRepo(): void {
    if (this.exists()) return;
    throw new CpvError('E_NOT_A_REPO', `no model repository for ${this.team}/${this.model} at ${this.dir}`, {
      hint: this.gitUrl()
        ? 'Run importModelInit() to create it, or downloadModelCheckpoint() to fetch it from the git host.'
        : 'Run importModelInit() (cpv model init) first, or pass the workdir that holds it; ' +
          'to fetch it from a git host, configure one with `cpv setup`.',
    });
  }

  /** Where the data goes: the S3 bucket if one is configured, else a local storage directory. */
  dataRemote(): DataRemote {
    const s = this.settings();
    if (s.aws.bucket) {
      return { kind: 's3', url: s3DataUrl(s.aws.bucket, this.team, this.model), aws: s.aws };
    }
    const storage = s.storageDir ?? path.join(this.cpvConfig.home, 'storage');
    return { kind: 'local', url: localDataDir(storage, this.team, this.model) };
  }

  /** The git host URL, or undefined on the local-only path (no token, key or template configured). */
  gitUrl(): string | undefined {
    const git = this.settings().git;
    if (!git.urlTemplate && !git.token && !git.sshKeyPath) return undefined;
    return expandUrlTemplate(git.urlTemplate ?? DEFAULT_HTTPS_URL_TEMPLATE, this.team, this.model);
  }

  gitCredentials(): GitCredentials | undefined {
    const git = this.settings().git;
    if (!git.token && !git.username) return undefined;
    return {
      ...(git.username ? { username: git.username } : {}),
      ...(git.token ? { password: git.token } : {}),
    };
  }

  /** How to reach the git host: HTTPS credentials, or the SSH key, plus the environment. */
  remoteAccess(): RemoteAccess {
    const git = this.settings().git;
    const env = this.cpvConfig.env;
    const credentials = this.gitCredentials();
    return {
      env,
      ...(credentials ? { credentials } : {}),
      ssh: { env, ...(git.sshKeyPath ? { privateKeyPath: git.sshKeyPath } : {}) },
    };
  }

  identity(): Identity {
    return resolveIdentity(this.settings().identity);
  }

  /** An absolute path inside the repo. */
  resolve(rel: string): string {
    return path.join(this.dir, rel);
  }
}
