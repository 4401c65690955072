/**
 * `CombinedCheckpointsManage`: a model version and the data version it goes with, as one release.
 *
 * `tagModelAndData` is all or nothing: both tags are made locally, then pushed one after the other;
 * if the second push fails, the first tag is deleted from the git host again and both local tags
 * are removed (a replaced tag is moved back instead), so no machine ever sees half a release.
 */
import { CpvError } from '../../errors.js';
import { withCheckpointLock } from './checkpoint-lock.js';
import { DATA_SERIES } from './data.js';
import { DATA_POINTER } from './layout.js';
import { type CallOptions, type ManageOptions, ModelRepo } from './model-repo.js';
import { MODEL_SERIES } from './models.js';
import { type CheckpointPlan, PlanBuilder } from './plan.js';
import {
  ensureLocalRepo,
  hooks,
  metadataSeries,
  planTag,
  pushCommitted,
  pushRef,
  type SeriesMetadata,
  syncWithHost,
  undoTag,
} from './series.js';
import { tryParseVersion } from './versions.js';
import { refuseIfDirty, restoreFromCommit } from './worktree.js';

export interface CombinedTagOptions extends CallOptions {
  /** `v1.2` tags the model `v1.2` and the data `data-v1.2`; default: each series' next version. */
  versionTag?: string;
  modelMessage?: string;
  dataMessage?: string;
}

export interface CombinedRevertOptions extends CallOptions {
  /** A model version `vX.Y`: the model comes back from it, the data from `data-vX.Y`. */
  tag: string;
  message?: string;
}

export interface CombinedRevertResult {
  modelTag: string;
  dataTag: string;
  commit: string;
  changed: string[];
  pushed: boolean;
}

export interface Release {
  version: string;
  modelTag: string | undefined;
  dataTag: string | undefined;
}

export interface CombinedMetadata {
  model: SeriesMetadata;
  data: SeriesMetadata;
  /** Versions by number, with whichever of the two tags exist. */
  releases: Release[];
}

type DryRun = { dryRun: true };

interface Previous {
  commit: string;
  message: string;
}

export class CombinedCheckpointsManage {
  readonly repo: ModelRepo;

  constructor(team: string, model: string, opts: ManageOptions = {}) {
    this.repo = new ModelRepo(team, model, opts);
  }

  get path(): string {
    return this.repo.dir;
  }

  /** Tags the latest model and data uploads together; returns `[modelTag, dataTag]`. */
  tagModelAndData(opts: CombinedTagOptions & DryRun): Promise<CheckpointPlan>;
  tagModelAndData(opts?: CombinedTagOptions): Promise<[string, string]>;
  async tagModelAndData(opts: CombinedTagOptions = {}): Promise<[string, string] | CheckpointPlan> {
    const repo = this.repo;
    await ensureLocalRepo(repo, opts.dryRun);
    return withCheckpointLock(repo.dir, async () => {
      const base = {
        force: opts.force,
        dryRun: opts.dryRun,
        ...(opts.versionTag ? { versionTag: opts.versionTag } : {}),
      };
      const model = await planTag(
        repo,
        MODEL_SERIES,
        { ...base, message: opts.modelMessage },
        'tagModelAndData',
      );
      const data = await planTag(
        repo,
        DATA_SERIES,
        { ...base, message: opts.dataMessage },
        'tagModelAndData',
      );
      if (opts.dryRun) {
        return new PlanBuilder('tagModelAndData', repo.dir)
          .add(model.plan.steps[0]!)
          .add(data.plan.steps[0]!)
          .build();
      }
      const me = repo.identity();
      await pushRef(repo, 'refs/heads/main'); // an earlier commit whose push failed goes first
      const prevModel = model.replaces ? await repo.git.tagInfo(model.tag) : undefined;
      const prevData = data.replaces ? await repo.git.tagInfo(data.tag) : undefined;
      const messageOf = (p: CheckpointPlan): string => {
        const step = p.steps[0];
        return step?.kind === 'tag' ? step.message : '';
      };
      await repo.git.tag(model.tag, messageOf(model.plan), me, { force: model.replaces });
      await repo.git.tag(data.tag, messageOf(data.plan), me, { force: data.replaces });
      const undoLocal = async (): Promise<void> => {
        await undoTag(repo, data.tag, prevData);
        await undoTag(repo, model.tag, prevModel);
      };
      try {
        await pushRef(repo, `refs/tags/${model.tag}`, { force: model.replaces });
      } catch (err) {
        await undoLocal();
        throw err;
      }
      try {
        await pushRef(repo, `refs/tags/${data.tag}`, { force: data.replaces });
      } catch (err) {
        await undoTag(repo, data.tag, prevData);
        await this.undoPushedTag(model.tag, prevModel, err);
        throw err;
      }
      return [model.tag, data.tag];
    });
  }

  /**
   * Takes a pushed tag back, on the git host and here: a new one is deleted (remotely first: the
   * push of a deletion needs the local ref), a replaced one is moved back and force-pushed.
   */
  private async undoPushedTag(tag: string, previous: Previous | undefined, cause: unknown): Promise<void> {
    const ref = `refs/tags/${tag}`;
    const remotely = async (fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        throw new CpvError(
          'E_PUSH_REJECTED',
          `tagging failed (${(cause as Error).message}) and ${tag} could not be taken back from the git host: ${(err as Error).message}`,
          { hint: `Delete the tag ${tag} on the git host by hand, then tag again.`, cause: err },
        );
      }
    };
    if (previous) {
      await undoTag(this.repo, tag, previous);
      await remotely(() => pushRef(this.repo, ref, { force: true }));
      return;
    }
    try {
      await remotely(() => pushRef(this.repo, ref, { delete: true }));
    } finally {
      await undoTag(this.repo, tag, undefined);
    }
  }

  /** Puts the model back from `vX.Y` and the data from `data-vX.Y`, as one new commit. */
  revertModelAndData(opts: CombinedRevertOptions & DryRun): Promise<CheckpointPlan>;
  revertModelAndData(opts: CombinedRevertOptions): Promise<CombinedRevertResult>;
  async revertModelAndData(opts: CombinedRevertOptions): Promise<CombinedRevertResult | CheckpointPlan> {
    const repo = this.repo;
    const version =
      tryParseVersion(opts.tag, 'model') ?? tryParseVersion(`v${opts.tag.replace(/^v/, '')}`, 'model');
    if (version === undefined) {
      throw new CpvError('E_BAD_VERSION', `'${opts.tag}' is not a version`, {
        hint: 'Use v<major>.<minor>, e.g. v1.0.',
      });
    }
    const modelTag = version.tag;
    const dataTag = `data-${modelTag}`;
    await ensureLocalRepo(repo, opts.dryRun);
    return withCheckpointLock(repo.dir, async () => {
      await refuseIfDirty(repo, opts.force, `revert to ${modelTag}`);
      await syncWithHost(repo, 'pull', opts.dryRun);
      const model = await repo.git.tagInfo(modelTag);
      const data = await repo.git.tagInfo(dataTag);
      const message = opts.message ?? `Revert ${repo.team}/${repo.model} to ${modelTag} with ${dataTag}`;
      if (opts.dryRun) {
        return new PlanBuilder('revertModelAndData', repo.dir)
          .add({ kind: 'checkout', path: repo.dir, rev: modelTag })
          .add({ kind: 'checkout', path: DATA_POINTER, rev: dataTag })
          .add({ kind: 'commit', message, files: [] })
          .build();
      }
      const changed = new Set(
        await restoreFromCommit(repo, model.commit, (f) => f !== DATA_POINTER, hooks(opts)),
      );
      for (const f of await restoreFromCommit(repo, data.commit, (f) => f === DATA_POINTER, hooks(opts)))
        changed.add(f);
      const commit = await repo.git.commitAll(message, repo.identity(), [...changed]);
      const pushed = await pushCommitted(repo, commit);
      return {
        modelTag,
        dataTag,
        commit: commit ?? (await repo.git.headCommit()) ?? model.commit,
        changed: [...changed].sort(),
        pushed,
      };
    });
  }

  async getCombinedMetadata(): Promise<CombinedMetadata> {
    const model = await metadataSeries(this.repo, MODEL_SERIES);
    const data = await metadataSeries(this.repo, DATA_SERIES);
    const byVersion = new Map<string, Release>();
    const key = (tag: string): string => tag.replace(/^data-/, '');
    for (const v of model.versions)
      byVersion.set(key(v.tag), { version: key(v.tag), modelTag: v.tag, dataTag: undefined });
    for (const v of data.versions) {
      const r = byVersion.get(key(v.tag)) ?? { version: key(v.tag), modelTag: undefined, dataTag: undefined };
      r.dataTag = v.tag;
      byVersion.set(key(v.tag), r);
    }
    const order = (t: string): [number, number] => {
      const m = /^v(\d+)\.(\d+)$/.exec(t);
      return [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)];
    };
    const releases = [...byVersion.values()].sort((a, b) => {
      const [x, y] = [order(a.version), order(b.version)];
      return x[0] - y[0] || x[1] - y[1];
    });
    return { model, data, releases };
  }
}
