/**
 * Turns a thrown error into what a person reads: `cpv: error: <one line>` and a `hint:` line on
 * stderr, the stack only with `-v`, and the exit code.
 */
import pc from 'picocolors';
import { type CpvError, isCpvError } from '../errors.js';
import { CACHE_SPACE_HINT, noSpaceCode, noSpaceError, noSpaceHint, REMOTE_SPACE_HINT } from '../fsutil.js';
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
    const hint = err.code === 'E_NO_SPACE' ? err.hint : (spaceHint(err) ?? err.hint);
    if (hint) output.err(dim(`hint: ${hint}\n`, color));
    if (verbose && err.stack) output.err(`${err.stack}\n`);
    return err.code === 'E_USAGE' ? EXIT.USAGE : EXIT.FAILED;
  }
  // A full disk where no layer expected it (a lock file, git's index) is not a bug in cpv.
  const full = noSpaceError(err, describeTarget(err));
  if (full !== undefined) {
    output.err(errorLine(full.message, color));
    output.err(dim(`hint: ${full.hint}\n`, color));
    if (verbose && err instanceof Error) output.err(`${err.stack}\n`);
    return EXIT.FAILED;
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

const SPACE_ERRNO = /\b(ENOSPC|EDQUOT|EFBIG)\b/;

/**
 * The no-space hint for an error that came from a full disk but was wrapped by a layer that does
 * not know about space (a .dvc or config write: its cause; a push/fetch: the reasons of its
 * failed objects, which are kept as text). Undefined when space is not the problem.
 */
function spaceHint(err: CpvError): string | undefined {
  for (let cause: unknown = err.cause; cause !== undefined; cause = (cause as Error).cause) {
    const code = noSpaceCode(cause);
    if (code !== undefined) return noSpaceHint(code);
    if (!(cause instanceof Error)) break;
  }
  const failed = (err as { failed?: Array<{ reason?: unknown }> }).failed;
  const reasons = Array.isArray(failed) ? failed.map((f) => String(f.reason)) : [err.message];
  const reason = reasons.find((r) => SPACE_ERRNO.test(r));
  if (reason === undefined) return undefined;
  // The reasons are the messages of fsutil's noSpaceError: they say which disk was full.
  const extra = reason.includes('while writing to the cache')
    ? CACHE_SPACE_HINT
    : reason.includes('while writing to remote')
      ? REMOTE_SPACE_HINT
      : '';
  return noSpaceHint(SPACE_ERRNO.exec(reason)![1]!, extra);
}

/** What a raw Node error was writing, as far as it says (a write(2) on an fd names no path). */
function describeTarget(err: unknown): string {
  const p = (err as { path?: unknown }).path;
  return typeof p === 'string' ? `'${p}'` : 'to disk';
}
