import { fetch } from '../../api/fetch.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { listingFailures, summaryLine, type TransferFlags, transferOptions } from './push.js';

export function fetchCommand(ctx: { output: Output; cwd: string }) {
  return async (targets: string[], flags: TransferFlags): Promise<number> => {
    const result = await listingFailures(ctx.output, (signal) =>
      fetch(targets, { ...transferOptions(ctx, flags, 'Fetching'), signal }),
    );
    if (flags.json) ctx.output.out(`${JSON.stringify({ fetched: result.fetched })}\n`);
    else if (!flags.quiet) ctx.output.out(summaryLine([['fetched', result.fetched]]));
    return EXIT.OK;
  };
}
