import { pull } from '../../api/pull.js';
import { EXIT } from '../exit-codes.js';
import { renderCheckoutChanges } from './checkout.js';
import type { CommandContext } from './context.js';
import { listingFailures, summaryLine, type TransferFlags, transferOptions, withProgress } from './push.js';

export function pullCommand(ctx: CommandContext) {
  return async (targets: string[], flags: TransferFlags & { force?: boolean }): Promise<number> => {
    const result = await withProgress(ctx, flags, (progress) =>
      listingFailures(ctx, (signal) =>
        pull(targets, {
          ...transferOptions(ctx, flags, 'Fetching', progress),
          signal,
          ...(flags.force ? { force: true } : {}),
        }),
      ),
    );
    if (flags.json) {
      ctx.output.out(`${JSON.stringify(result)}\n`);
      return EXIT.OK;
    }
    if (flags.quiet) return EXIT.OK;
    ctx.output.out(renderCheckoutChanges(result.changes));
    ctx.output.out(
      summaryLine([
        ['fetched', result.fetched],
        ['added', result.added],
        ['deleted', result.deleted],
        ['modified', result.modified],
      ]),
    );
    return EXIT.OK;
  };
}
