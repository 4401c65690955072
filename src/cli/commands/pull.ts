import { pull } from '../../api/pull.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { renderCheckoutChanges } from './checkout.js';
import { listingFailures, summaryLine, type TransferFlags, transferOptions } from './push.js';

export function pullCommand(ctx: { output: Output; cwd: string }) {
  return async (targets: string[], flags: TransferFlags & { force?: boolean }): Promise<number> => {
    const result = await listingFailures(ctx.output, (signal) =>
      pull(targets, {
        ...transferOptions(ctx, flags, 'Fetching'),
        signal,
        ...(flags.force ? { force: true } : {}),
      }),
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
