/** Process exit codes of the `cpv` CLI (documented in README.md). */
export const EXIT = {
  OK: 0,
  /** The operation failed: a CpvError (bad input, missing data, I/O). */
  FAILED: 1,
  /** The command line itself was wrong (unknown command or option, missing argument). */
  USAGE: 2,
  /** Interrupted by SIGINT (128 + 2, as shells report it). */
  INTERRUPTED: 130,
} as const;
