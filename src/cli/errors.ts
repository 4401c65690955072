/**
 * Turns a thrown error into what a person reads: `cpv: error: <one line>` and a `hint:` line on
 * stderr, the stack only with `-v`, and the exit code.
 */
import pc from 'picocolors';
import { isCpvError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import type { Output } from './output.js';

export interface ReportOptions {
  verbose?: boolean;
  color?: boolean;
}

const red = (s: string, on: boolean) => pc.createColors(on).red(s);
const dim = (s: string, on: boolean) => pc.createColors(on).dim(s);

/** The first line of a message: errors must stay one line whatever a library below said. */
const oneLine = (s: string) => s.split('\n')[0]!.trim();

export function errorLine(message: string, color = false): string {
  return `cpv: ${red('error', color)}: ${oneLine(message)}\n`;
}

export function reportError(err: unknown, output: Output, opts: ReportOptions = {}): number {
  const color = opts.color ?? false;
  const verbose = opts.verbose === true || Boolean(process.env.CPV_DEBUG);
  if (isAbort(err)) {
    output.err(`cpv: interrupted\n`);
    return EXIT.INTERRUPTED;
  }
  if (isCpvError(err)) {
    output.err(errorLine(err.message, color));
    if (err.hint) output.err(dim(`hint: ${err.hint}\n`, color));
    if (verbose && err.stack) output.err(`${err.stack}\n`);
    return err.code === 'E_USAGE' ? EXIT.USAGE : EXIT.FAILED;
  }
  const message = err instanceof Error ? err.message : String(err);
  output.err(errorLine(`unexpected error: ${message}`, color));
  output.err(
    dim('hint: this is a bug in cpv; rerun with -v and report the output (it contains no secrets).\n', color),
  );
  if (verbose && err instanceof Error) output.err(`${err.stack}\n`);
  return EXIT.FAILED;
}

/** An AbortSignal fired (Ctrl-C): fetch, the AWS SDK and our own code name it `AbortError`. */
function isAbort(err: unknown): boolean {
  if (isCpvError(err)) return err.code === 'E_ABORTED';
  return (
    err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR')
  );
}
