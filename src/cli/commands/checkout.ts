/** `cpv checkout [targets...] [--relink] [-f] [--allow-missing]` */
import type { Command } from 'commander';
import type { CheckoutChange } from '../../api/checkout.js';
import { EXIT } from '../exit-codes.js';
import { barPerTarget } from '../progress.js';
import { LOCK_WAIT_MS } from '../render.js';
import type { CommandContext } from './context.js';

export function registerCheckout(program: Command, ctx: CommandContext): void {
  program
    .command('checkout')
    .description('Restore tracked data in the workspace from the cache')
    .argument('[targets...]', '.dvc files, outputs, or paths inside tracked directories')
    .option('-f, --force', 'overwrite workspace changes that are not in the cache')
    .option('--relink', 're-link every file (e.g. after changing cache.type)')
    .option('--allow-missing', 'skip outputs whose data is not in the cache')
    .option('-q, --quiet', 'print nothing on success')
    .action(ctx.run(async () => checkoutAction(ctx)));
}

/** DVC prints a letter and a tab, which its console expands to column 8. */
export function renderCheckoutChanges(changes: CheckoutChange[]): string {
  return changes.map((c) => `${c.kind[0]!.toUpperCase()}       ${c.path}\n`).join('');
}

interface CheckoutFlags {
  force?: boolean;
  relink?: boolean;
  allowMissing?: boolean;
  quiet?: boolean;
}

function checkoutAction(ctx: CommandContext) {
  return async (targets: string[], flags: CheckoutFlags): Promise<number> => {
    const { checkout } = await import('../../api/checkout.js');
    const progress = await ctx.progress(flags);
    const result = await checkout(targets, {
      cwd: ctx.cwd,
      force: flags.force,
      relink: flags.relink,
      allowMissing: flags.allowMissing,
      signal: ctx.signal,
      waitMs: LOCK_WAIT_MS,
      onWait: (holder) => ctx.output.err(`Waiting for the repository lock held by process ${holder}…\n`),
      onProgress: barPerTarget(progress, 'files'),
    }).finally(() => progress.stop());
    if (!flags.quiet) ctx.output.out(renderCheckoutChanges(result.changes));
    for (const p of result.missing) ctx.output.err(`WARNING: '${p}' is not in the cache; skipped.\n`);
    return EXIT.OK;
  };
}
