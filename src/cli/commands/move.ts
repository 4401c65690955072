/** `cpv move <src> <dst>` */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { gitAddHint, LOCK_WAIT_MS } from '../render.js';
import type { CommandContext } from './context.js';

export function registerMove(program: Command, ctx: CommandContext): void {
  program
    .command('move')
    .description('Rename a tracked output, updating its .dvc file and .gitignore entries')
    .argument('<src>', 'tracked output to move')
    .argument('<dst>', 'new path (or an existing directory to move it into)')
    .option('-q, --quiet', 'print nothing on success')
    .action(ctx.run(async () => moveAction(ctx)));
}

function moveAction(ctx: { output: Output; cwd: string }) {
  return async (src: string, dst: string, flags: { quiet?: boolean }): Promise<number> => {
    const { moveOutput } = await import('../../api/move.js');
    const result = await moveOutput(src, dst, {
      cwd: ctx.cwd,
      waitMs: LOCK_WAIT_MS,
      onWait: (holder) => ctx.output.err(`Waiting for the repository lock held by process ${holder}…\n`),
    });
    if (!flags.quiet && result.gitFiles.length > 0 && !result.staged)
      ctx.output.out(gitAddHint(result.gitFiles));
    return EXIT.OK;
  };
}
