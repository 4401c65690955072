/** The actions behind `cpv model …` (and `cpv data …`): parse, call the checkpoint API, render. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CheckpointComparison } from '../../api/checkpoint/compare.js';
import { DataCheckpointsManage } from '../../api/checkpoint/data.js';
import type { InitModelResult } from '../../api/checkpoint/init.js';
import type { Metrics } from '../../api/checkpoint/metrics.js';
import { ModelsCheckpointsManage } from '../../api/checkpoint/models.js';
import type { CheckpointPlan } from '../../api/checkpoint/plan.js';
import type {
  CheckpointArtifacts,
  RevertResult,
  SeriesMetadata,
  UploadResult,
} from '../../api/checkpoint/series.js';
import { CpvError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import {
  megabytes,
  renderComparison,
  renderMetadata,
  renderPlan,
  renderVersions,
} from '../render-checkpoint.js';
import type { CommandContext } from './context.js';

interface CommonFlags {
  workdir?: string;
  json?: boolean;
  dryRun?: boolean;
}

/** The calls a series offers, whatever its class names them. */
interface SeriesApi {
  init(o: {
    dataPath?: string;
    message?: string;
    dryRun?: boolean;
  }): Promise<InitModelResult | CheckpointPlan>;
  upload(o: {
    from?: string;
    metrics?: Metrics;
    message?: string;
    dryRun?: boolean;
    verbose?: boolean;
  }): Promise<UploadResult>;
  tag(o: {
    versionTag?: string;
    message?: string;
    force?: boolean;
    dryRun?: boolean;
  }): Promise<string | CheckpointPlan>;
  info(): Promise<SeriesMetadata>;
  download(o: {
    tag: string;
    dest?: string;
    subpath?: string;
    withData?: boolean;
    force?: boolean;
    dryRun?: boolean;
  }): Promise<CheckpointArtifacts | CheckpointPlan>;
  revert(o: {
    tag: string;
    message?: string;
    force?: boolean;
    dryRun?: boolean;
  }): Promise<RevertResult | CheckpointPlan>;
  compare(a: string, b: string): Promise<CheckpointComparison>;
}

function modelApi(team: string, model: string, workdir: string | undefined): SeriesApi {
  const m = new ModelsCheckpointsManage(team, model, { workdir });
  return {
    init: (o) => m.importModelInit(o),
    upload: ({ from, ...o }) => m.uploadModelCheckpoint({ ...o, ...(from ? { modelPath: from } : {}) }),
    tag: (o) => m.tagModelCheckpoint(o),
    info: () => m.getModelMetadata(),
    download: ({ withData, subpath, ...o }) => {
      if (subpath !== undefined) {
        throw new CpvError('E_USAGE', '--path selects inside a data version', {
          hint: 'Use cpv data download … --path, or --with-data for the whole data/ of a model version.',
        });
      }
      return m.downloadModelCheckpoint({ ...o, includeData: withData });
    },
    revert: (o) => m.revertModelCheckpoint(o),
    compare: (a, b) => m.compareCheckpoints(a, b),
  };
}

function dataApi(team: string, model: string, workdir: string | undefined): SeriesApi {
  const d = new DataCheckpointsManage(team, model, { workdir });
  return {
    init: (o) => d.importDataInit(o),
    upload: ({ from, metrics, ...o }) => {
      if (metrics !== undefined) {
        throw new CpvError('E_USAGE', 'data versions carry no metrics', {
          hint: 'Record metrics with cpv model upload; data versions are tagged data-vX.Y.',
        });
      }
      return d.uploadDataCheckpoint({ ...o, ...(from ? { dataPath: from } : {}) });
    },
    tag: (o) => d.tagDataCheckpoint(o),
    info: () => d.getDataMetadata(),
    download: ({ withData: _ignored, ...o }) => d.downloadDataCheckpoint(o),
    revert: (o) => d.revertDataCheckpoint(o),
    compare: () => {
      throw new CpvError('E_USAGE', 'compare works on model versions', {
        hint: 'Use cpv model compare <team/model> <a> <b>; it lists the data files that changed too.',
      });
    },
  };
}

const FACTORIES: Record<string, (team: string, model: string, workdir: string | undefined) => SeriesApi> = {
  model: modelApi,
  data: dataApi,
};

/** `vision/resnet50` → team and model; the names themselves are checked by the API. */
export function parseRef(ref: string): { team: string; model: string } {
  const parts = ref.split('/');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new CpvError('E_USAGE', `'${ref}' is not <team>/<model>`, {
      hint: 'Name the series as team/model, e.g. vision/resnet50.',
    });
  }
  return { team: parts[0]!, model: parts[1]! };
}

function api(group: string, ref: string, flags: CommonFlags): SeriesApi {
  const { team, model } = parseRef(ref);
  const make = FACTORIES[group];
  if (make === undefined) throw new CpvError('E_USAGE', `unknown series '${group}'`);
  return make(team, model, flags.workdir);
}

const isPlan = (x: unknown): x is CheckpointPlan =>
  typeof x === 'object' && x !== null && 'steps' in x && 'action' in x && !('commit' in x);

/** JSON when asked; otherwise the plan of a dry run, or the command's own text. */
function print(ctx: CommandContext, flags: CommonFlags, result: unknown, text: () => string): number {
  if (flags.json) ctx.output.out(`${JSON.stringify(result, null, 2)}\n`);
  else if (isPlan(result)) ctx.output.out(renderPlan(result));
  else ctx.output.out(text());
  return EXIT.OK;
}

function readMetrics(flags: { metrics?: string; metricsFile?: string }): Metrics | undefined {
  const text = flags.metricsFile !== undefined ? readText(flags.metricsFile) : flags.metrics;
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CpvError(
      'E_BAD_METRICS',
      `metrics are not valid JSON: ${(err as Error).message.split('\n')[0]}`,
      {
        hint: `Pass a JSON object, e.g. --metrics '{"loss": 0.12, "epoch": 10}'.`,
      },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CpvError('E_BAD_METRICS', 'metrics must be a JSON object', {
      hint: `For example --metrics '{"loss": 0.12}'.`,
    });
  }
  return value as Metrics;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CpvError('E_TARGET_MISSING', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`, {
      hint: 'Check the path of the metrics file.',
    });
  }
}

const short = (sha: string) => sha.slice(0, 7);

export const actions = {
  init:
    (ctx: CommandContext, group: string) =>
    async (ref: string, flags: CommonFlags & { data?: string; message?: string }) => {
      const result = await api(group, ref, flags).init({
        dataPath: flags.data,
        message: flags.message,
        dryRun: flags.dryRun,
      });
      return print(ctx, flags, result, () => {
        const r = result as InitModelResult;
        return (
          `Initialized ${r.team}/${r.model} in ${r.path} (commit ${short(r.commit)})\n` +
          `  data:        ${r.data.nfiles ?? 1} file(s), ${megabytes(r.data.size)}\n` +
          `  data remote: ${r.dataRemote}\n` +
          `  git remote:  ${r.gitUrl ?? '(local only)'}\n`
        );
      });
    },

  upload:
    (ctx: CommandContext, group: string) =>
    async (
      ref: string,
      flags: CommonFlags & {
        from?: string;
        metrics?: string;
        metricsFile?: string;
        message?: string;
        verbose?: boolean;
      },
    ) => {
      const metrics = readMetrics(flags);
      const result = await api(group, ref, flags).upload({
        from: flags.from,
        metrics,
        message: flags.message,
        dryRun: flags.dryRun,
        verbose: flags.verbose,
      });
      if (flags.dryRun && !flags.json) {
        ctx.output.out(renderPlan(result.plan));
        return EXIT.OK;
      }
      return print(ctx, flags, result, () => {
        const log = flags.verbose ? result.log.map((l) => `  ${l}\n`).join('') : '';
        if (!result.changed)
          return `${log}Nothing changed since the last upload (commit ${short(result.commit)}).\n`;
        const pushed = result.pushed.git ? ', git pushed' : '';
        return (
          log +
          `Uploaded ${result.output.path} (${megabytes(result.output.size)}) as commit ${short(result.commit)}; ` +
          `${result.pushed.objects} object(s) pushed${pushed}\n`
        );
      });
    },

  tag:
    (ctx: CommandContext, group: string) =>
    async (
      ref: string,
      version: string | undefined,
      flags: CommonFlags & { message?: string; force?: boolean },
    ) => {
      const result = await api(group, ref, flags).tag({
        versionTag: version,
        message: flags.message,
        force: flags.force,
        dryRun: flags.dryRun,
      });
      return print(
        ctx,
        flags,
        flags.json && typeof result === 'string' ? { tag: result } : result,
        () => `${result}\n`,
      );
    },

  versions: (ctx: CommandContext, group: string) => async (ref: string, flags: CommonFlags) => {
    const meta = await api(group, ref, flags).info();
    return print(ctx, flags, meta.versions, () => renderVersions(meta.versions));
  },

  download:
    (ctx: CommandContext, group: string) =>
    async (
      ref: string,
      tag: string,
      flags: CommonFlags & { out?: string; path?: string; withData?: boolean; force?: boolean },
    ) => {
      const { model } = parseRef(ref);
      const dest = path.resolve(flags.out ?? `${model}-${tag}`);
      const result = await api(group, ref, flags).download({
        tag,
        dest,
        subpath: flags.path,
        withData: flags.withData,
        force: flags.force,
        dryRun: flags.dryRun,
      });
      return print(ctx, flags, result, () => {
        const r = result as CheckpointArtifacts;
        return `Downloaded ${r.tag} (commit ${short(r.commit)}) to ${r.path}: ${r.files.length} file(s), ${r.sizeMb.toFixed(2)} MiB\n`;
      });
    },

  revert:
    (ctx: CommandContext, group: string) =>
    async (ref: string, tag: string, flags: CommonFlags & { message?: string; force?: boolean }) => {
      const result = await api(group, ref, flags).revert({
        tag,
        message: flags.message,
        force: flags.force,
        dryRun: flags.dryRun,
      });
      return print(ctx, flags, result, () => {
        const r = result as RevertResult;
        const pushed = r.pushed ? '; pushed' : '';
        return `Reverted to ${r.tag} as commit ${short(r.commit)} (${r.changed.length} file(s) restored${pushed})\n`;
      });
    },

  info: (ctx: CommandContext, group: string) => async (ref: string, flags: CommonFlags) => {
    const meta = await api(group, ref, flags).info();
    return print(ctx, flags, meta, () => renderMetadata(meta));
  },

  compare:
    (ctx: CommandContext, group: string) => async (ref: string, a: string, b: string, flags: CommonFlags) => {
      const result = await api(group, ref, flags).compare(a, b);
      return print(ctx, flags, result, () => renderComparison(result));
    },
};
