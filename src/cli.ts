#!/usr/bin/env node
/**
 * The `cpv` executable. Kept tiny so start-up stays fast: commands load their modules on demand.
 */
import { main } from './cli/main.js';

// Ctrl-C: every write is temp + rename, so stopping here never leaves a half-written file.
process.once('SIGINT', () => {
  process.stderr.write('\nInterrupted.\n');
  process.exit(130);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cpv: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
