/** `cpv commit [targets...] [-f]` */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { gitAddHint, LOCK_WAIT_MS } from '../render.js';
import type { CommandContext } from './context.js';
import { askYesNo, canAsk } from './prompt.js';

export function registerCommit(program: Command, ctx: CommandContext): void {
  program
    .command('commit')
    .description('Record changed tracked data in its .dvc files and store it in the cache')
    .argument('[targets...]', '.dvc files or output paths (default: all)')
    .option('-f, --force', 'commit changed outputs without asking')
    .option('-q, --quiet', 'print nothing on success')
    .action(ctx.run(async () => commitAction(ctx)));
}

function commitAction(ctx: { output: Output; cwd: string }) {
  return async (targets: string[], flags: { force?: boolean; quiet?: boolean }): Promise<number> => {
    const { commitTargets } = await import('../../api/commit.js');
    const result = await commitTargets(targets, {
      cwd: ctx.cwd,
      force: flags.force,
      confirm: canAsk() ? askYesNo : undefined,
      waitMs: LOCK_WAIT_MS,
      onWait: (holder) => ctx.output.err(`Waiting for the repository lock held by process ${holder}…\n`),
    });
    if (!flags.quiet && result.gitFiles.length > 0 && !result.staged)
      ctx.output.out(gitAddHint(result.gitFiles));
    return EXIT.OK;
  };
}
