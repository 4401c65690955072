import { CombinedCheckpointsManage, type CombinedRevertResult } from '../../api/checkpoint/combined.js';
import type { CheckpointPlan } from '../../api/checkpoint/plan.js';
import { EXIT } from '../exit-codes.js';
import { renderPlan } from '../render-checkpoint.js';
import type { CommandContext } from './context.js';
import { parseRef } from './series-action.js';

interface Flags {
  workdir?: string;
  json?: boolean;
  dryRun?: boolean;
}

function manager(ref: string, flags: Flags): CombinedCheckpointsManage {
  const { team, model } = parseRef(ref);
  return new CombinedCheckpointsManage(team, model, { workdir: flags.workdir });
}

const isPlan = (x: unknown): x is CheckpointPlan => typeof x === 'object' && x !== null && 'steps' in x;

function print(ctx: CommandContext, flags: Flags, result: unknown, text: () => string): number {
  if (flags.json) ctx.output.out(`${JSON.stringify(result, null, 2)}\n`);
  else if (isPlan(result)) ctx.output.out(renderPlan(result));
  else ctx.output.out(text());
  return EXIT.OK;
}

export const releaseActions = {
  tag:
    (ctx: CommandContext) =>
    async (
      ref: string,
      version: string | undefined,
      flags: Flags & { modelMessage?: string; dataMessage?: string },
    ) => {
      const result = await manager(ref, flags).tagModelAndData({
        versionTag: version,
        modelMessage: flags.modelMessage,
        dataMessage: flags.dataMessage,
        dryRun: flags.dryRun,
      });
      const shown = Array.isArray(result) ? { modelTag: result[0], dataTag: result[1] } : result;
      return print(ctx, flags, shown, () => `${(result as string[]).join(' ')}\n`);
    },
  revert:
    (ctx: CommandContext) =>
    async (ref: string, tag: string, flags: Flags & { message?: string; force?: boolean }) => {
      const result = await manager(ref, flags).revertModelAndData({
        tag,
        message: flags.message,
        force: flags.force,
        dryRun: flags.dryRun,
      });
      return print(ctx, flags, result, () => {
        const r = result as CombinedRevertResult;
        return `Reverted to ${r.modelTag} + ${r.dataTag} as commit ${r.commit.slice(0, 7)} (${r.changed.length} file(s) restored)\n`;
      });
    },
  info: (ctx: CommandContext) => async (ref: string, flags: Flags) => {
    const meta = await manager(ref, flags).getCombinedMetadata();
    return print(ctx, flags, meta, () => {
      if (meta.releases.length === 0) return 'No releases yet (cpv release tag).\n';
      return meta.releases
        .map((r) => `${r.version}  model ${r.modelTag ?? '-'}  data ${r.dataTag ?? '-'}\n`)
        .join('');
    });
  },
};
