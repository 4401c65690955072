/**
 * `DataCheckpointsManage`: versions of a model's training data (`data/`, one DVC directory
 * output), with their own tags `data-v<major>.<minor>` so data and model move independently. It
 * works on the same repo as `ModelsCheckpointsManage`; a model upload records which data version
 * it was trained with.
 */
import { type InitModelOptions, type InitModelResult, initModelRepo } from './init.js';
import { DATA_DIR, DATA_POINTER } from './layout.js';
import { type ManageOptions, ModelRepo } from './model-repo.js';
import type { CheckpointPlan } from './plan.js';
import {
  type CheckpointArtifacts,
  type DownloadOptions,
  downloadSeries,
  listSeries,
  metadataSeries,
  type RevertOptions,
  type RevertResult,
  revertSeries,
  type SeriesMetadata,
  type SeriesSpec,
  type TagOptions,
  tagSeries,
  type UploadOptions,
  type UploadResult,
  uploadSeries,
} from './series.js';

/** Data series: `data/`, no metrics, tags `data-v<major>.<minor>`. */
export const DATA_SERIES: SeriesSpec = {
  namespace: 'data',
  output: DATA_DIR,
  pointer: DATA_POINTER,
  metrics: false,
  restores: (f) => f === DATA_POINTER,
  downloads: { gitFile: () => false, pointer: (f) => f === DATA_POINTER },
};

export interface DataUploadOptions extends Omit<UploadOptions, 'sourcePath' | 'metrics'> {
  /** A directory whose contents replace `data/` first (else `data/` as it is in the repo). */
  dataPath?: string;
}

export interface DataDownloadOptions extends DownloadOptions {
  /** Only this file or folder inside `data/` (e.g. `train/` or `train/a.csv`). */
  subpath?: string;
}

type DryRun = { dryRun: true };

export class DataCheckpointsManage {
  readonly repo: ModelRepo;

  constructor(team: string, model: string, opts: ManageOptions = {}) {
    this.repo = new ModelRepo(team, model, opts);
  }

  get path(): string {
    return this.repo.dir;
  }

  /** Creates the model repo with `dataPath` as its first `data/` (the same as importModelInit). */
  importDataInit(opts: InitModelOptions & DryRun): Promise<CheckpointPlan>;
  importDataInit(opts?: InitModelOptions): Promise<InitModelResult>;
  importDataInit(opts: InitModelOptions = {}): Promise<InitModelResult | CheckpointPlan> {
    return initModelRepo(this.repo, opts);
  }

  /** Tracks `data/` (after copying `dataPath` over it), pushes its objects, commits, pushes git. */
  uploadDataCheckpoint(opts: DataUploadOptions = {}): Promise<UploadResult> {
    const { dataPath, ...rest } = opts;
    return uploadSeries(
      this.repo,
      DATA_SERIES,
      { ...rest, ...(dataPath ? { sourcePath: dataPath } : {}) },
      'uploadDataCheckpoint',
    );
  }

  tagDataCheckpoint(opts: TagOptions & DryRun): Promise<CheckpointPlan>;
  tagDataCheckpoint(opts?: TagOptions): Promise<string>;
  tagDataCheckpoint(opts: TagOptions = {}): Promise<string | CheckpointPlan> {
    return tagSeries(this.repo, DATA_SERIES, opts, 'tagDataCheckpoint');
  }

  /** Data version tags, oldest first (`data-v1.9` before `data-v1.10`). */
  readDataTag(): Promise<string[]> {
    return listSeries(this.repo, DATA_SERIES);
  }

  /** Writes `data/` (or one file or folder of it) as it was at a data version into `dest`. */
  downloadDataCheckpoint(opts: DataDownloadOptions & DryRun): Promise<CheckpointPlan>;
  downloadDataCheckpoint(opts: DataDownloadOptions): Promise<CheckpointArtifacts>;
  downloadDataCheckpoint(opts: DataDownloadOptions): Promise<CheckpointArtifacts | CheckpointPlan> {
    return downloadSeries(this.repo, DATA_SERIES, opts, 'downloadDataCheckpoint');
  }

  /** Puts `data/` back as it was at a data version, as a new commit; the model is left alone. */
  revertDataCheckpoint(opts: RevertOptions & DryRun): Promise<CheckpointPlan>;
  revertDataCheckpoint(opts: RevertOptions): Promise<RevertResult>;
  revertDataCheckpoint(opts: RevertOptions): Promise<RevertResult | CheckpointPlan> {
    return revertSeries(this.repo, DATA_SERIES, opts, 'revertDataCheckpoint');
  }

  getDataMetadata(): Promise<SeriesMetadata> {
    return metadataSeries(this.repo, DATA_SERIES);
  }
}
