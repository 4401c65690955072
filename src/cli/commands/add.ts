import { addTargets } from '../../api/add.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { gitAddHint, LOCK_WAIT_MS } from '../render.js';

export function addCommand(ctx: { output: Output; cwd: string }) {
  return async (targets: string[], flags: { quiet?: boolean }): Promise<number> => {
    const result = await addTargets(targets, {
      cwd: ctx.cwd,
      waitMs: LOCK_WAIT_MS,
      onWait: (holder) => ctx.output.err(`Waiting for the repository lock held by process ${holder}…\n`),
    });
    for (const warning of result.warnings) ctx.output.err(`WARNING: ${warning}\n`);
    if (!flags.quiet && result.gitFiles.length > 0 && !result.staged) {
      ctx.output.out(gitAddHint(result.gitFiles));
    }
    return EXIT.OK;
  };
}
