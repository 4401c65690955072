/**
 * Creating a model repo: `<workdir>/<model>` with the layout templates, git and DVC initialised,
 * the data remote configured, the initial data tracked, committed, pushed. A failure at any step
 * removes the directory again (when this call created it), so a retry starts from nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../../errors.js';
import { writeFileAtomic } from '../../fsutil.js';
import { addTargets } from '../add.js';
import { initRepo } from '../init.js';
import { bitbucketTarget, ensureBitbucketRepo } from './bitbucket.js';
import { pushData } from './data-sync.js';
import { writeDataRemote } from './dvc-remote.js';
import { DATA_DIR, DATA_POINTER, modelRepoTemplates } from './layout.js';
import type { CallOptions, ModelRepo } from './model-repo.js';
import { type CheckpointPlan, PlanBuilder } from './plan.js';

export interface InitModelOptions extends CallOptions {
  /** A directory (or file) whose contents become `data/`; default: an empty `data/`. */
  dataPath?: string;
  message?: string;
}

export interface InitModelResult {
  path: string;
  team: string;
  model: string;
  commit: string;
  gitUrl: string | undefined;
  dataRemote: string;
  data: { md5: string; size: number; nfiles: number | undefined };
  pushed: { objects: number; git: boolean };
  plan: CheckpointPlan;
}

function planInit(repo: ModelRepo, opts: InitModelOptions): CheckpointPlan {
  const builder = new PlanBuilder('importModelInit', repo.dir).add({ kind: 'create', path: repo.dir });
  for (const t of modelRepoTemplates(repo.team, repo.model)) builder.add({ kind: 'write', path: t.path });
  builder
    .add({ kind: 'write', path: '.dvc/config', detail: `data remote ${repo.dataRemote().url}` })
    .add({ kind: 'write', path: DATA_DIR, detail: opts.dataPath ? `copy of ${opts.dataPath}` : 'empty' })
    .add({ kind: 'hash', path: DATA_DIR })
    .add({ kind: 'upload', paths: [DATA_DIR], remote: repo.dataRemote().url })
    .add({ kind: 'commit', message: commitMessage(repo, opts), files: ['.dvc/config', DATA_POINTER] });
  const url = repo.gitUrl();
  if (url && bitbucketTarget(url, repo.settings().git.bitbucketApi)) {
    builder.add({ kind: 'create', path: url, detail: 'Bitbucket repository, if missing' });
  }
  if (url) builder.add({ kind: 'push', url, refs: ['refs/heads/main'] });
  return builder.build();
}

function commitMessage(repo: ModelRepo, opts: InitModelOptions): string {
  return opts.message ?? `Initialise model repository ${repo.team}/${repo.model}`;
}

function checkCanCreate(repo: ModelRepo, opts: InitModelOptions): void {
  if (repo.exists()) {
    throw new CpvError('E_ALREADY_INIT', `the model repository ${repo.dir} exists already`, {
      hint: 'Upload to it with uploadModelCheckpoint(), or choose another model name or workdir.',
    });
  }
  if (fs.existsSync(repo.dir) && fs.readdirSync(repo.dir).length > 0) {
    throw new CpvError('E_USAGE', `${repo.dir} exists and is not empty`, {
      hint: 'Move it away, or choose another model name or workdir.',
    });
  }
  if (opts.dataPath !== undefined && !fs.existsSync(opts.dataPath)) {
    throw new CpvError('E_TARGET_MISSING', `the data path ${opts.dataPath} does not exist`, {
      hint: 'Give the directory holding the training data.',
    });
  }
}

function copyData(dataPath: string | undefined, dest: string): void {
  if (dataPath === undefined) {
    fs.mkdirSync(dest, { recursive: true });
    return;
  }
  if (fs.statSync(dataPath).isDirectory()) fs.cpSync(dataPath, dest, { recursive: true });
  else {
    fs.mkdirSync(dest, { recursive: true });
    fs.copyFileSync(dataPath, path.join(dest, path.basename(dataPath)));
  }
}

export async function initModelRepo(
  repo: ModelRepo,
  opts: InitModelOptions,
): Promise<InitModelResult | CheckpointPlan> {
  checkCanCreate(repo, opts);
  const plan = planInit(repo, opts);
  if (opts.dryRun) return plan;
  const created = !fs.existsSync(repo.dir);
  const remote = repo.dataRemote();
  const url = repo.gitUrl();
  try {
    fs.mkdirSync(repo.dir, { recursive: true });
    await repo.git.init();
    for (const t of modelRepoTemplates(repo.team, repo.model))
      writeFileAtomic(repo.resolve(t.path), t.content);
    await initRepo(repo.dir);
    writeDataRemote(repo.dir, remote);
    copyData(opts.dataPath, repo.resolve(DATA_DIR));
    const added = await addTargets([DATA_DIR], {
      cwd: repo.dir,
      onProgress: (e) => opts.onProgress?.({ phase: 'hash', ...e }),
    });
    const objects = await pushData(repo.dir, [DATA_POINTER], {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    const commit = await repo.git.commitAll(commitMessage(repo, opts), repo.identity(), 'all');
    let git = false;
    if (url) {
      const settings = repo.settings().git;
      const target = bitbucketTarget(url, settings.bitbucketApi);
      if (target) {
        await ensureBitbucketRepo(
          target,
          repo.gitCredentials(),
          settings.bitbucketProject,
          repo.remoteAccess().env,
        );
      }
      await repo.git.setOrigin(url);
      await repo.git.push('refs/heads/main', repo.remoteAccess());
      git = true;
    }
    const out = added.outputs[0]!;
    return {
      path: repo.dir,
      team: repo.team,
      model: repo.model,
      commit: commit ?? '',
      gitUrl: url,
      dataRemote: remote.url,
      data: { md5: out.oid, size: out.size, nfiles: out.nfiles },
      pushed: { objects, git },
      plan,
    };
  } catch (err) {
    // The directory was absent or empty before: put it back that way.
    if (created) fs.rmSync(repo.dir, { recursive: true, force: true });
    else
      for (const e of fs.readdirSync(repo.dir))
        fs.rmSync(path.join(repo.dir, e), { recursive: true, force: true });
    throw err;
  }
}
