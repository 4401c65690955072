import { fetch } from '../../api/fetch.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from './context.js';
import { listingFailures, summaryLine, type TransferFlags, transferOptions, withProgress } from './push.js';

export function fetchCommand(ctx: CommandContext) {
  return async (targets: string[], flags: TransferFlags): Promise<number> => {
    const result = await withProgress(ctx, flags, (progress) =>
      listingFailures(ctx, (signal) =>
        fetch(targets, { ...transferOptions(ctx, flags, 'Fetching', progress), signal }),
      ),
    );
    if (flags.json) ctx.output.out(`${JSON.stringify({ fetched: result.fetched })}\n`);
    else if (!flags.quiet) ctx.output.out(summaryLine([['fetched', result.fetched]]));
    return EXIT.OK;
  };
}
