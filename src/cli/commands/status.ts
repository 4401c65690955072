import { repoStatus } from '../../api/status.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { renderStatusJson, renderStatusText } from '../render.js';

export function statusCommand(ctx: { output: Output; cwd: string }) {
  return async (targets: string[], flags: { json?: boolean; quiet?: boolean }): Promise<number> => {
    const result = await repoStatus(targets, { cwd: ctx.cwd });
    const changed = Object.keys(result.stages).length > 0;
    if (flags.quiet) return changed ? EXIT.FAILED : EXIT.OK;
    if (flags.json) ctx.output.out(`${renderStatusJson(result.stages, ctx.output.isTTY)}\n`);
    else ctx.output.out(renderStatusText(result));
    return EXIT.OK;
  };
}
