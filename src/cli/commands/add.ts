import { addTargets } from '../../api/add.js';
import { EXIT } from '../exit-codes.js';
import { barPerTarget } from '../progress.js';
import { gitAddHint, LOCK_WAIT_MS } from '../render.js';
import type { CommandContext } from './context.js';

export function addCommand(ctx: CommandContext) {
  return async (targets: string[], flags: { quiet?: boolean }): Promise<number> => {
    const progress = await ctx.progress(flags);
    try {
      const result = await addTargets(targets, {
        cwd: ctx.cwd,
        signal: ctx.signal,
        waitMs: LOCK_WAIT_MS,
        onWait: (holder) => ctx.output.err(`Waiting for the repository lock held by process ${holder}…\n`),
        onProgress: barPerTarget(progress, 'files'),
      });
      progress.stop();
      for (const warning of result.warnings) ctx.output.err(`WARNING: ${warning}\n`);
      if (!flags.quiet && result.gitFiles.length > 0 && !result.staged) {
        ctx.output.out(gitAddHint(result.gitFiles));
      }
      return EXIT.OK;
    } finally {
      progress.stop();
    }
  };
}
