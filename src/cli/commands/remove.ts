/** `cpv remove <x.dvc...> [--outs]` */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { LOCK_WAIT_MS } from '../render.js';
import type { CommandContext } from './context.js';

export function registerRemove(program: Command, ctx: CommandContext): void {
  program
    .command('remove')
    .description('Stop tracking: delete .dvc files and their .gitignore entries (data is kept)')
    .argument('<targets...>', '.dvc files to remove')
    .option('--outs', 'delete the tracked data from the workspace too')
    .action(ctx.run(async () => removeAction(ctx)));
}

function removeAction(ctx: { output: Output; cwd: string }) {
  return async (targets: string[], flags: { outs?: boolean }): Promise<number> => {
    const { removeTargets } = await import('../../api/remove.js');
    // DVC prints nothing on success; neither do we.
    await removeTargets(targets, {
      cwd: ctx.cwd,
      outs: flags.outs,
      waitMs: LOCK_WAIT_MS,
      onWait: (holder) => ctx.output.err(`Waiting for the repository lock held by process ${holder}…\n`),
    });
    return EXIT.OK;
  };
}
