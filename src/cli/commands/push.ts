import type { RevScopes } from '../../api/data-index.js';
import { push } from '../../api/push.js';
import { TransferIncompleteError, type TransferProgress } from '../../api/transfer.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import type { Progress, ProgressBar } from '../progress.js';
import { LOCK_WAIT_MS } from '../render.js';
import type { CommandContext } from './context.js';
import { revScopes } from './transfer.js';

export interface TransferFlags extends RevScopes {
  remote?: string;
  jobs?: number;
  json?: boolean;
  quiet?: boolean;
}

/** Options every transfer command passes to the library; `progress` draws the bar (or nothing). */
export function transferOptions(
  ctx: { output: Output; cwd: string },
  flags: TransferFlags,
  verb: string,
  progress: Progress,
) {
  return {
    cwd: ctx.cwd,
    ...(flags.remote === undefined ? {} : { remote: flags.remote }),
    ...(flags.jobs === undefined ? {} : { jobs: flags.jobs }),
    ...revScopes(flags),
    waitMs: LOCK_WAIT_MS,
    onWait: (holder: string) =>
      ctx.output.err(`Waiting for the repository lock held by process ${holder}…\n`),
    onProgress: transferBar(progress, verb),
  };
}

/** Feeds the library's transfer progress to one bar of bytes moved. */
function transferBar(progress: Progress, verb: string): (p: TransferProgress) => void {
  let bar: ProgressBar | undefined;
  return (p) => {
    if (p.phase !== 'transfer') return;
    bar ??= progress.bar(verb, p.bytesTotal, 'bytes');
    bar.update(p.bytesDone, p.bytesTotal);
  };
}

/** Runs `work` with progress bars on (when wanted), always taking them down before results print. */
export async function withProgress<T>(
  ctx: CommandContext,
  flags: TransferFlags,
  work: (progress: Progress) => Promise<T>,
): Promise<T> {
  const progress = await ctx.progress(flags);
  try {
    return await work(progress);
  } finally {
    progress.stop();
  }
}

/**
 * Runs a transfer with the command's AbortSignal: Ctrl-C (cli.ts) cancels it, so transfers in
 * flight clean up their temp files and multipart uploads before the command ends. When not
 * everything could be moved, every failed object is listed on stderr (the error itself is one
 * line) before the error is reported.
 */
export async function listingFailures<T>(
  ctx: CommandContext,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  try {
    return await run(ctx.signal);
  } catch (err) {
    if (err instanceof TransferIncompleteError) {
      for (const f of err.failed) ctx.output.err(`  ${f.name} (${f.oid}): ${f.reason}\n`);
    }
    throw err;
  }
}

export function pushCommand(ctx: CommandContext) {
  return async (targets: string[], flags: TransferFlags): Promise<number> => {
    const result = await withProgress(ctx, flags, (progress) =>
      listingFailures(ctx, (signal) =>
        push(targets, { ...transferOptions(ctx, flags, 'Pushing', progress), signal }),
      ),
    );
    if (flags.json) ctx.output.out(`${JSON.stringify(result)}\n`);
    else if (!flags.quiet) ctx.output.out(summaryLine([['pushed', result.pushed]]));
    return EXIT.OK;
  };
}

/** DVC's `get_summary`: `1 file pushed`, `10 files fetched and 9 files added`; '' for nothing. */
export function summary(stats: Array<[string, number]>): string {
  const words = stats
    .filter(([, n]) => n > 0)
    .map(([verb, n]) => `${n} ${n === 1 ? 'file' : 'files'} ${verb}`);
  if (words.length <= 1) return words[0] ?? '';
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** The summary line, or DVC's `Everything is up to date.` */
export function summaryLine(stats: Array<[string, number]>): string {
  return `${summary(stats) || 'Everything is up to date.'}\n`;
}
