/**
 * `ModelsCheckpointsManage`: versioned checkpoints of one model of one team.
 *
 *   const m = new ModelsCheckpointsManage('vision', 'resnet', { workdir: '/srv/models' });
 *   await m.importModelInit({ dataPath: './train-data' });
 *   await m.uploadModelCheckpoint({ metrics: { loss: 0.12 }, message: 'epoch 10' });
 *   await m.tagModelCheckpoint({});                       // → 'v1.0'
 *   await m.downloadModelCheckpoint({ tag: 'v1.0', dest: './resnet-v1.0' });
 *
 * Every method with `dryRun: true` returns the plan (`CheckpointPlan`) instead and changes nothing.
 */
import { type CheckpointComparison, compareTagged } from './compare.js';
import { type InitModelOptions, type InitModelResult, initModelRepo } from './init.js';
import { DATA_POINTER, MODEL_FILE, MODEL_POINTER } from './layout.js';
import { type ManageOptions, ModelRepo } from './model-repo.js';
import type { CheckpointPlan } from './plan.js';
import {
  type CheckpointArtifacts,
  type DownloadOptions,
  downloadSeries,
  ensureLocalRepo,
  listSeries,
  metadataSeries,
  type RevertOptions,
  type RevertResult,
  revertSeries,
  type SeriesMetadata,
  type SeriesSpec,
  syncWithHost,
  type TagOptions,
  tagSeries,
  type UploadOptions,
  type UploadResult,
  uploadSeries,
} from './series.js';
import { parseVersionTag } from './versions.js';

/** Model series: `model.bin`, metrics lines, tags `v<major>.<minor>`. */
export const MODEL_SERIES: SeriesSpec = {
  namespace: 'model',
  output: MODEL_FILE,
  pointer: MODEL_POINTER,
  metrics: true,
  // A model version is the whole repo as it was (weights, metrics, code, and the data pointer it
  // was trained with), so a revert puts all of it back.
  restores: () => true,
  downloads: { gitFile: () => true, pointer: (f) => f === MODEL_POINTER },
};

export interface ModelUploadOptions extends Omit<UploadOptions, 'sourcePath'> {
  /** A weights file to copy to `model.bin` first (else the repo's `model.bin` as it is). */
  modelPath?: string;
}

export interface ModelDownloadOptions extends Omit<DownloadOptions, 'subpath'> {
  /** Also write `data/` as it was at that version (default: weights, metrics and code only). */
  includeData?: boolean;
}

type DryRun = { dryRun: true };

export class ModelsCheckpointsManage {
  readonly repo: ModelRepo;

  constructor(team: string, model: string, opts: ManageOptions = {}) {
    this.repo = new ModelRepo(team, model, opts);
  }

  /** The model repo's directory (`<workdir>/<model>`). */
  get path(): string {
    return this.repo.dir;
  }

  importModelInit(opts: InitModelOptions & DryRun): Promise<CheckpointPlan>;
  importModelInit(opts?: InitModelOptions): Promise<InitModelResult>;
  importModelInit(opts: InitModelOptions = {}): Promise<InitModelResult | CheckpointPlan> {
    return initModelRepo(this.repo, opts);
  }

  /**
   * Appends a metrics line, tracks `model.bin`, pushes its data, commits, pushes git. With `dryRun`
   * the result's `plan` says what would happen and nothing changes.
   */
  uploadModelCheckpoint(opts: ModelUploadOptions = {}): Promise<UploadResult> {
    const { modelPath, ...rest } = opts;
    return uploadSeries(
      this.repo,
      MODEL_SERIES,
      { ...rest, ...(modelPath ? { sourcePath: modelPath } : {}) },
      'uploadModelCheckpoint',
      DATA_POINTER,
    );
  }

  /** Tags the latest upload; returns the tag (`v1.0` first, then latest minor + 1). */
  tagModelCheckpoint(opts: TagOptions & DryRun): Promise<CheckpointPlan>;
  tagModelCheckpoint(opts?: TagOptions): Promise<string>;
  tagModelCheckpoint(opts: TagOptions = {}): Promise<string | CheckpointPlan> {
    return tagSeries(this.repo, MODEL_SERIES, opts, 'tagModelCheckpoint');
  }

  /** Model version tags, oldest first, ordered by version (`v1.9` before `v1.10`). */
  readCheckpointTag(): Promise<string[]> {
    return listSeries(this.repo, MODEL_SERIES);
  }

  /** Writes the weights, metrics and code of a version into `dest`; clones the repo first on a fresh machine. */
  downloadModelCheckpoint(opts: ModelDownloadOptions & DryRun): Promise<CheckpointPlan>;
  downloadModelCheckpoint(opts: ModelDownloadOptions): Promise<CheckpointArtifacts>;
  downloadModelCheckpoint(opts: ModelDownloadOptions): Promise<CheckpointArtifacts | CheckpointPlan> {
    const { includeData, ...rest } = opts;
    const spec: SeriesSpec = includeData
      ? { ...MODEL_SERIES, downloads: { gitFile: () => true, pointer: () => true } }
      : MODEL_SERIES;
    return downloadSeries(this.repo, spec, rest, 'downloadModelCheckpoint');
  }

  /** Puts a version's files back as a new commit (history kept); refuses over uncommitted changes unless `force`. */
  revertModelCheckpoint(opts: RevertOptions & DryRun): Promise<CheckpointPlan>;
  revertModelCheckpoint(opts: RevertOptions): Promise<RevertResult>;
  revertModelCheckpoint(opts: RevertOptions): Promise<RevertResult | CheckpointPlan> {
    return revertSeries(this.repo, MODEL_SERIES, opts, 'revertModelCheckpoint');
  }

  /** Two versions side by side: metrics with deltas, sizes, changed files (down to files inside `data/`). */
  async compareCheckpoints(a: string, b: string): Promise<CheckpointComparison> {
    const tagA = parseVersionTag(a, 'model').tag;
    const tagB = parseVersionTag(b, 'model').tag;
    await ensureLocalRepo(this.repo);
    await syncWithHost(this.repo, 'fetch');
    return compareTagged(this.repo, MODEL_SERIES, tagA, tagB);
  }

  /** Versions with their metrics, sizes and the data version each was trained with. */
  getModelMetadata(): Promise<SeriesMetadata> {
    return metadataSeries(this.repo, MODEL_SERIES);
  }
}
