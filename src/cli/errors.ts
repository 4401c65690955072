/** Turns a thrown error into one clear line (plus hint) on stderr and an exit code. */
import { isCpvError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import type { Output } from './output.js';

export function reportError(err: unknown, output: Output): number {
  if (isCpvError(err)) {
    output.err(`ERROR: ${err.message}\n`);
    if (err.hint) output.err(`hint: ${err.hint}\n`);
    return err.code === 'E_USAGE' ? EXIT.USAGE : EXIT.FAILED;
  }
  const message = err instanceof Error ? err.message : String(err);
  output.err(`ERROR: unexpected error: ${message}\n`);
  if (process.env.CPV_DEBUG && err instanceof Error) output.err(`${err.stack}\n`);
  return EXIT.FAILED;
}
