/**
 * The operations model and data checkpoints share — upload, tag, list, download, revert,
 * metadata — written once and parameterised by a `SeriesSpec` (which output, which tag namespace,
 * which files a revert restores). `ModelsCheckpointsManage` and `DataCheckpointsManage` are thin
 * shells over these.
 *
 * Order of effects, so that nothing is ever half-done where someone else can see it:
 *   upload: metrics line → hash into the cache → push data → commit → push git
 *           (git never points at data the remote lacks; a failure before the commit puts the
 *           pointer, metrics.log and .gitignore back as they were)
 *   tag:    tag locally → push the tag; a refused push removes the local tag again
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DvcFile } from '../../dvcfile/dvcfile.js';
import { CpvError } from '../../errors.js';
import { writeFileAtomic } from '../../fsutil.js';
import { addTargets } from '../add.js';
import { withCheckpointLock } from './checkpoint-lock.js';
import { pushData, type TransferHooks } from './data-sync.js';
import { writeLocalDataRemote } from './dvc-remote.js';
import { checkDestination, type ExportedFile, exportCommit } from './export.js';
import { METRICS_FILE } from './layout.js';
import { type Metrics, type MetricsEntry, metricsLine, parseMetricsLog } from './metrics.js';
import type { CallOptions, ModelRepo } from './model-repo.js';
import { type CheckpointPlan, PlanBuilder } from './plan.js';
import { nextVersion, parseVersionTag, sortVersionTags, type VersionNamespace } from './versions.js';
import { refuseIfDirty, restoreFromCommit } from './worktree.js';

export interface SeriesSpec {
  namespace: VersionNamespace;
  /** The DVC output this series versions (`model.bin`, `data`). */
  output: string;
  /** Its pointer file (`model.bin.dvc`, `data.dvc`). */
  pointer: string;
  /** Whether uploads append a metrics line. */
  metrics: boolean;
  /** Files a revert puts back (relative, `/`-separated). */
  restores: (file: string) => boolean;
  /** Files and pointers a download writes. */
  downloads: { gitFile: (file: string) => boolean; pointer: (file: string) => boolean };
}

export interface UploadOptions extends CallOptions {
  metrics?: Metrics;
  message?: string;
  /** A file or directory to copy into the output first (else the output as it is in the repo). */
  sourcePath?: string;
}

export interface UploadResult {
  /** The commit holding this checkpoint (HEAD when nothing changed). */
  commit: string;
  /** False when the output and metrics were unchanged, so no commit was made. */
  changed: boolean;
  output: { path: string; md5: string; size: number; nfiles?: number };
  /** The metrics line written, for model uploads. */
  entry?: MetricsEntry;
  /** The data version the model was trained with, when the current data is a tagged version. */
  dataVersion?: string;
  /** Objects sent to the data remote, and whether git was pushed to the host. */
  pushed: { objects: number; git: boolean };
  plan: CheckpointPlan;
  log: string[];
}

export interface TagOptions extends CallOptions {
  /** `v1.2` (or `1.2`); default: the latest minor + 1, or `v1.0` for the first. */
  versionTag?: string;
  message?: string;
}

export interface DownloadOptions extends CallOptions {
  tag: string;
  /** Where to write the files (default `<workdir>/<model>-<tag>`). */
  dest?: string;
  /** Only this part of the data directory (e.g. `train/`), for data downloads. */
  subpath?: string;
}

export interface CheckpointArtifacts {
  tag: string;
  commit: string;
  /** The destination directory. */
  path: string;
  /** Files written, relative to `path`, `/`-separated. */
  files: string[];
  sizeMb: number;
  /** The last metrics line at that version, if any. */
  metrics: MetricsEntry | undefined;
  /** When the version was tagged. */
  createdAt: string;
}

export interface RevertOptions extends CallOptions {
  tag: string;
  message?: string;
}

export interface RevertResult {
  tag: string;
  /** The new commit (HEAD when the work tree already matched the tag). */
  commit: string;
  /** The commit the tag points at. */
  restoredFrom: string;
  /** Files that changed. */
  changed: string[];
  pushed: boolean;
  plan: CheckpointPlan;
}

export interface VersionInfo {
  tag: string;
  commit: string;
  createdAt: string;
  message: string;
  /** Size in bytes of the versioned output at that version. */
  size: number | undefined;
  md5: string | undefined;
  /** Files in it, for a directory output. */
  nfiles: number | undefined;
  /** Last metrics line at that version (model series). */
  metrics?: MetricsEntry;
  /** Lineage: the data version the model was trained with. */
  dataVersion?: string;
}

export interface SeriesMetadata {
  team: string;
  model: string;
  path: string;
  namespace: VersionNamespace;
  head: string | undefined;
  gitUrl: string | undefined;
  dataRemote: string;
  versions: VersionInfo[];
  latest: VersionInfo | undefined;
  /** The output as committed now. */
  current: { md5: string | undefined; size: number | undefined; nfiles: number | undefined };
}

/** The transfer hooks of a call's options. */
export function hooks(opts: CallOptions): TransferHooks {
  return {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Reads the first output of a pointer text. */
export function pointerOut(
  text: string | undefined,
  name: string,
): { md5?: string; size?: number; nfiles?: number } {
  if (text === undefined) return {};
  const out = DvcFile.parse(text, name).outs[0];
  return { md5: out?.md5, size: out?.size, nfiles: out?.nfiles };
}

export async function textAt(repo: ModelRepo, commit: string, file: string): Promise<string | undefined> {
  const bytes = await repo.git.readAt(commit, file);
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

/**
 * Brings the local repo up to date with its git host, when it has one: `fetch` (branches and tags)
 * before reads, `pull` (fast-forward main, then tags) before writes, so a tag or revert made here
 * builds on what other machines pushed.
 */
export async function syncWithHost(repo: ModelRepo, mode: 'fetch' | 'pull', dryRun = false): Promise<void> {
  if (dryRun) return; // a dry run changes nothing, refs included: it plans from what is here
  if (repo.gitUrl() === undefined || (await repo.git.originUrl()) === undefined) return;
  if (mode === 'fetch') await repo.git.fetch(repo.remoteAccess());
  else await repo.git.pull(repo.remoteAccess());
}

/** Pushes `ref` when the repo has a git host; returns whether it did. */
export async function pushRef(
  repo: ModelRepo,
  ref: string,
  opts: { force?: boolean; delete?: boolean } = {},
): Promise<boolean> {
  if ((await repo.git.originUrl()) === undefined) return false;
  await repo.git.push(ref, repo.remoteAccess(), opts);
  return true;
}

/**
 * Pushes main after a commit. A failure does not undo the commit (its data is on the remote
 * already); the error says so, and the next call that pushes main sends it along.
 */
export async function pushCommitted(repo: ModelRepo, commit: string | undefined): Promise<boolean> {
  if (commit === undefined) return false;
  try {
    return await pushRef(repo, 'refs/heads/main');
  } catch (err) {
    if (!(err instanceof CpvError)) throw err;
    throw new CpvError(
      err.code,
      `committed ${commit.slice(0, 8)} locally, but pushing it failed: ${err.message}`,
      {
        hint: `${err.hint ?? 'Check the git host.'} The checkpoint is safe here; the next upload, tag or revert pushes it.`,
        cause: err,
      },
    );
  }
}

/** The newest data tag whose `data.dvc` equals the current one: lineage for a model upload. */
export async function currentDataVersion(repo: ModelRepo, dataPointer: string): Promise<string | undefined> {
  const file = repo.resolve(dataPointer);
  if (!fs.existsSync(file)) return undefined;
  const now = pointerOut(fs.readFileSync(file, 'utf8'), dataPointer).md5;
  const tags = sortVersionTags(await repo.git.listTags(), 'data').reverse();
  for (const v of tags) {
    const info = await repo.git.tagInfo(v.tag);
    const then = pointerOut(await textAt(repo, info.commit, dataPointer), dataPointer).md5;
    if (then !== undefined && then === now) return v.tag;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------ upload

/** Files an upload may change before its commit, with their contents to put back on failure. */
function backup(repo: ModelRepo, files: string[]): () => void {
  const saved = files.map((f) => {
    const abs = repo.resolve(f);
    return { abs, bytes: fs.existsSync(abs) ? fs.readFileSync(abs) : undefined };
  });
  return () => {
    for (const { abs, bytes } of saved) {
      if (bytes === undefined) fs.rmSync(abs, { force: true });
      else writeFileAtomic(abs, bytes);
    }
  };
}

function copySource(src: string, dest: string): void {
  const st = fs.statSync(src, { throwIfNoEntry: false });
  if (st === undefined) {
    throw new CpvError('E_TARGET_MISSING', `${src} does not exist`, { hint: 'Check the path to upload.' });
  }
  if (path.resolve(src) === path.resolve(dest)) return;
  if (st.isDirectory()) {
    // A directory replaces the output as a whole: files deleted at the source go away here too.
    const tmp = `${dest}.cpv-incoming`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.cpSync(src, tmp, { recursive: true });
    fs.rmSync(dest, { recursive: true, force: true });
    fs.renameSync(tmp, dest);
  } else {
    const tmp = `${dest}.cpv-incoming`;
    fs.copyFileSync(src, tmp);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.renameSync(tmp, dest);
  }
}

export async function uploadSeries(
  repo: ModelRepo,
  spec: SeriesSpec,
  opts: UploadOptions,
  action: string,
  lineagePointer?: string,
): Promise<UploadResult> {
  const metrics = spec.metrics ? (opts.metrics ?? {}) : undefined;
  const now = repo.now();
  // Validate before anything else: bad metrics must leave no trace.
  const line = metrics === undefined ? undefined : metricsLine(metrics, now, { message: opts.message });
  await ensureLocalRepo(repo, opts.dryRun);
  return withCheckpointLock(repo.dir, async () => {
    await syncWithHost(repo, 'pull', opts.dryRun);
    const remote = repo.dataRemote();
    const gitUrl = repo.gitUrl();
    const dataVersion = lineagePointer ? await currentDataVersion(repo, lineagePointer) : undefined;
    const message = opts.message ?? `Upload ${spec.output} of ${repo.team}/${repo.model}`;
    const builder = new PlanBuilder(action, repo.dir);
    if (opts.sourcePath)
      builder.add({ kind: 'write', path: spec.output, detail: `copy of ${opts.sourcePath}` });
    if (line !== undefined)
      builder.add({ kind: 'write', path: METRICS_FILE, detail: 'append one metrics line' });
    builder
      .add({ kind: 'hash', path: spec.output })
      .add({ kind: 'upload', paths: [spec.output], remote: remote.url })
      .add({ kind: 'commit', message, files: [spec.pointer, ...(line ? [METRICS_FILE] : []), '.gitignore'] });
    if (gitUrl) builder.add({ kind: 'push', url: gitUrl, refs: ['refs/heads/main'] });
    const plan = builder.build();
    const log: string[] = [];
    const empty = { path: spec.output, md5: '', size: 0 };
    if (opts.dryRun) {
      return {
        commit: (await repo.git.headCommit()) ?? '',
        changed: false,
        output: empty,
        pushed: { objects: 0, git: false },
        plan,
        log,
        ...(dataVersion ? { dataVersion } : {}),
      };
    }

    const restore = backup(repo, [spec.pointer, METRICS_FILE, '.gitignore']);
    let entryLine: string | undefined = line;
    let added: Awaited<ReturnType<typeof addTargets>>;
    let objects: number;
    let commit: string | undefined;
    try {
      if (opts.sourcePath) copySource(opts.sourcePath, repo.resolve(spec.output));
      if (!fs.existsSync(repo.resolve(spec.output))) {
        throw new CpvError('E_TARGET_MISSING', `${repo.resolve(spec.output)} does not exist`, {
          hint: `Write ${spec.output} first (e.g. by training), or pass its path as sourcePath.`,
        });
      }
      if (line !== undefined) {
        entryLine = metricsLine(metrics, now, {
          message: opts.message,
          ...(dataVersion ? { dataVersion } : {}),
        });
        fs.appendFileSync(repo.resolve(METRICS_FILE), entryLine);
        log.push(`appended a metrics line to ${METRICS_FILE}`);
      }
      added = await addTargets([spec.output], {
        cwd: repo.dir,
        waitMs: 30_000,
        onProgress: (e) => opts.onProgress?.({ phase: 'hash', ...e }),
      });
      log.push(`hashed ${spec.output} (${added.outputs[0]?.oid})`);
      objects = await pushData(repo.dir, [spec.pointer], hooks(opts));
      log.push(`pushed ${plural(objects, 'object')} to ${remote.url}`);
      commit = await repo.git.commitAll(message, repo.identity(), [spec.pointer, METRICS_FILE, '.gitignore']);
    } catch (err) {
      restore();
      throw err;
    }
    log.push(commit ? `committed ${commit.slice(0, 8)}` : 'nothing changed, no commit');
    const git = await pushCommitted(repo, commit);
    if (git) log.push(`pushed main to ${gitUrl}`);
    const out = added.outputs[0]!;
    const result: UploadResult = {
      commit: commit ?? (await repo.git.headCommit()) ?? '',
      changed: commit !== undefined,
      output: {
        path: spec.output,
        md5: out.oid,
        size: out.size,
        ...(out.nfiles !== undefined ? { nfiles: out.nfiles } : {}),
      },
      pushed: { objects, git },
      plan,
      log: opts.verbose ? log : [],
    };
    if (entryLine !== undefined) result.entry = JSON.parse(entryLine) as MetricsEntry;
    if (dataVersion) result.dataVersion = dataVersion;
    return result;
  });
}

// --------------------------------------------------------------------------------------------- tag

export async function planTag(
  repo: ModelRepo,
  spec: SeriesSpec,
  opts: TagOptions,
  action: string,
): Promise<{ tag: string; plan: CheckpointPlan; replaces: boolean }> {
  await syncWithHost(repo, 'pull', opts.dryRun);
  const head = await repo.git.headCommit();
  if (head === undefined || (await repo.git.readAt(head, spec.pointer)) === undefined) {
    throw new CpvError('E_USAGE', `nothing to tag: no ${spec.output} has been uploaded for ${repo.model}`, {
      hint: `Upload a checkpoint first (${spec.namespace === 'model' ? 'uploadModelCheckpoint' : 'uploadDataCheckpoint'}).`,
    });
  }
  const tags = await repo.git.listTags();
  const tag =
    opts.versionTag !== undefined
      ? parseVersionTag(opts.versionTag, spec.namespace).tag
      : nextVersion(tags, spec.namespace).tag;
  const replaces = tags.includes(tag);
  if (replaces && !opts.force) {
    throw new CpvError('E_TAG_EXISTS', `${repo.model} already has a version ${tag}`, {
      hint: `Pick another version (the next free one is ${nextVersion(tags, spec.namespace).tag}), or pass force to move it.`,
    });
  }
  const message =
    opts.message ?? `${spec.namespace === 'model' ? 'Model' : 'Data'} ${repo.team}/${repo.model} ${tag}`;
  const builder = new PlanBuilder(action, repo.dir).add({ kind: 'tag', name: tag, message, replaces });
  const url = repo.gitUrl();
  if (url) builder.add({ kind: 'push', url, refs: [`refs/tags/${tag}`] });
  return { tag, plan: builder.build(), replaces };
}

/** Creates the tag and pushes it; a refused push puts the local tags back as they were. */
export async function createTag(
  repo: ModelRepo,
  tag: string,
  message: string,
  replaces: boolean,
): Promise<void> {
  const previous = replaces ? await repo.git.tagInfo(tag) : undefined;
  const me = repo.identity();
  // A commit whose push failed earlier goes first, so the host's main has what its tags point at.
  await pushRef(repo, 'refs/heads/main');
  await repo.git.tag(tag, message, me, { force: replaces });
  try {
    await pushRef(repo, `refs/tags/${tag}`, { force: replaces });
  } catch (err) {
    await undoTag(repo, tag, previous);
    throw err;
  }
}

/** Removes a tag we just made (or moves a replaced one back). */
export async function undoTag(
  repo: ModelRepo,
  tag: string,
  previous: { commit: string; message: string } | undefined,
): Promise<void> {
  if (previous)
    await repo.git.tag(tag, previous.message, repo.identity(), { force: true, commit: previous.commit });
  else await repo.git.deleteTag(tag);
}

export async function tagSeries(
  repo: ModelRepo,
  spec: SeriesSpec,
  opts: TagOptions,
  action: string,
): Promise<string | CheckpointPlan> {
  await ensureLocalRepo(repo, opts.dryRun);
  return withCheckpointLock(repo.dir, async () => {
    const { tag, plan, replaces } = await planTag(repo, spec, opts, action);
    if (opts.dryRun) return plan;
    const step = plan.steps[0];
    await createTag(repo, tag, step?.kind === 'tag' ? step.message : tag, replaces);
    return tag;
  });
}

// ------------------------------------------------------------------------------------------- list

export async function listSeries(repo: ModelRepo, spec: SeriesSpec): Promise<string[]> {
  await ensureLocalRepo(repo);
  await syncWithHost(repo, 'fetch');
  return sortVersionTags(await repo.git.listTags(), spec.namespace).map((v) => v.tag);
}

// --------------------------------------------------------------------------------------- download

/** Makes sure the model repo exists here, cloning it from the git host on a fresh machine. */
export async function ensureLocalRepo(repo: ModelRepo, dryRun = false): Promise<void> {
  if (repo.exists()) {
    writeLocalDataRemote(repo.dir, repo.dataRemote());
    return;
  }
  const url = repo.gitUrl();
  if (url === undefined || dryRun) repo.requireRepo();
  if (fs.existsSync(repo.dir) && fs.readdirSync(repo.dir).length > 0) {
    throw new CpvError('E_USAGE', `${repo.dir} exists but is not the model repository`, {
      hint: 'Move it away, or pass another workdir.',
    });
  }
  await repo.git.clone(url!, repo.remoteAccess());
  writeLocalDataRemote(repo.dir, repo.dataRemote());
}

export async function downloadSeries(
  repo: ModelRepo,
  spec: SeriesSpec,
  opts: DownloadOptions,
  action: string,
): Promise<CheckpointArtifacts | CheckpointPlan> {
  const tag = parseVersionTag(opts.tag, spec.namespace).tag;
  const dest = path.resolve(opts.dest ?? path.join(repo.workdir, `${repo.model}-${tag}`));
  const url = repo.gitUrl();
  if (opts.dryRun && !repo.exists() && url !== undefined) {
    // A fresh machine: the plan is clone, then download; nothing is fetched to find out more.
    checkDestination(dest, opts.force);
    return new PlanBuilder(action, dest)
      .add({ kind: 'create', path: repo.dir, detail: `clone of ${url}` })
      .add({ kind: 'download', paths: [spec.output], remote: repo.dataRemote().url })
      .add({ kind: 'checkout', path: dest, rev: tag })
      .build();
  }
  await ensureLocalRepo(repo, opts.dryRun);
  return withCheckpointLock(repo.dir, async () => {
    await syncWithHost(repo, 'fetch', opts.dryRun);
    const info = await repo.git.tagInfo(tag);
    checkDestination(dest, opts.force);
    if (opts.dryRun) {
      return new PlanBuilder(action, dest)
        .add({ kind: 'download', paths: [spec.output], remote: repo.dataRemote().url })
        .add({ kind: 'checkout', path: dest, rev: tag })
        .build();
    }
    const select = { ...spec.downloads, ...(opts.subpath ? { subpath: opts.subpath } : {}) };
    const files: ExportedFile[] = await exportCommit(repo, info.commit, dest, select, hooks(opts));
    const bytes = files.reduce((n, f) => n + f.size, 0);
    const metrics = parseMetricsLog((await textAt(repo, info.commit, METRICS_FILE)) ?? '').at(-1);
    return {
      tag,
      commit: info.commit,
      path: dest,
      files: files.map((f) => f.path),
      sizeMb: Math.round((bytes / (1024 * 1024)) * 1000) / 1000,
      metrics,
      createdAt: info.createdAt,
    };
  });
}

// ----------------------------------------------------------------------------------------- revert

export async function revertSeries(
  repo: ModelRepo,
  spec: SeriesSpec,
  opts: RevertOptions,
  action: string,
): Promise<RevertResult | CheckpointPlan> {
  const tag = parseVersionTag(opts.tag, spec.namespace).tag;
  await ensureLocalRepo(repo, opts.dryRun);
  return withCheckpointLock(repo.dir, async () => {
    // Judge local changes against this machine's HEAD, before a pull moves the pointers.
    await refuseIfDirty(repo, opts.force, `revert to ${tag}`);
    await syncWithHost(repo, 'pull', opts.dryRun);
    const info = await repo.git.tagInfo(tag);
    const message = opts.message ?? `Revert ${spec.namespace} of ${repo.team}/${repo.model} to ${tag}`;
    const builder = new PlanBuilder(action, repo.dir)
      .add({ kind: 'checkout', path: repo.dir, rev: tag })
      .add({ kind: 'commit', message, files: [spec.pointer] });
    const url = repo.gitUrl();
    if (url) builder.add({ kind: 'push', url, refs: ['refs/heads/main'] });
    const plan = builder.build();
    if (opts.dryRun) return plan;
    const changed = await restoreFromCommit(repo, info.commit, spec.restores, hooks(opts));
    const commit = await repo.git.commitAll(message, repo.identity(), changed);
    const pushed = await pushCommitted(repo, commit);
    return {
      tag,
      commit: commit ?? (await repo.git.headCommit()) ?? info.commit,
      restoredFrom: info.commit,
      changed,
      pushed,
      plan,
    };
  });
}

// --------------------------------------------------------------------------------------- metadata

export async function versionInfo(repo: ModelRepo, spec: SeriesSpec, tag: string): Promise<VersionInfo> {
  const info = await repo.git.tagInfo(tag);
  const out = pointerOut(await textAt(repo, info.commit, spec.pointer), spec.pointer);
  const v: VersionInfo = {
    tag,
    commit: info.commit,
    createdAt: info.createdAt,
    message: info.message,
    size: out.size,
    md5: out.md5,
    nfiles: out.nfiles,
  };
  if (spec.metrics) {
    const entry = parseMetricsLog((await textAt(repo, info.commit, METRICS_FILE)) ?? '').at(-1);
    if (entry) {
      v.metrics = entry;
      if (entry.dataVersion) v.dataVersion = entry.dataVersion;
    }
  }
  return v;
}

export async function metadataSeries(repo: ModelRepo, spec: SeriesSpec): Promise<SeriesMetadata> {
  const tags = await listSeries(repo, spec);
  const versions: VersionInfo[] = [];
  for (const tag of tags) versions.push(await versionInfo(repo, spec, tag));
  const head = await repo.git.headCommit();
  const current = pointerOut(head ? await textAt(repo, head, spec.pointer) : undefined, spec.pointer);
  return {
    team: repo.team,
    model: repo.model,
    path: repo.dir,
    namespace: spec.namespace,
    head,
    gitUrl: repo.gitUrl(),
    dataRemote: repo.dataRemote().url,
    versions,
    latest: versions.at(-1),
    current: { md5: current.md5, size: current.size, nfiles: current.nfiles },
  };
}
