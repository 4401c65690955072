/**
 * How the CLI talks to the person at the terminal: colour, progress bars, verbosity. Decided once
 * per run from the flags, the environment and whether stderr is a terminal.
 */
import type { Output } from './output.js';

export interface UiSettings {
  /** Print machine-readable JSON only (the command's `--json`). */
  readonly json: boolean;
  /** Print nothing on success (the command's `-q`). */
  readonly quiet: boolean;
  /** Details and stack traces (`-v`). */
  readonly verbose: boolean;
  /** ANSI colours on stderr. */
  readonly color: boolean;
  /** Live progress bars on stderr. */
  readonly progress: boolean;
}

export interface UiFlags {
  json?: boolean | undefined;
  quiet?: boolean | undefined;
  verbose?: boolean | undefined;
}

const isSet = (v: string | undefined): boolean => v !== undefined && v !== '';

/**
 * Colour follows the no-color.org and FORCE_COLOR conventions: `NO_COLOR` (any non-empty value)
 * turns it off, `FORCE_COLOR` (anything but `0`) on, otherwise a terminal on stderr decides.
 */
export function colorWanted(env: NodeJS.ProcessEnv, stderrIsTTY: boolean): boolean {
  if (isSet(env.NO_COLOR)) return false;
  if (isSet(env.FORCE_COLOR)) return env.FORCE_COLOR !== '0';
  return stderrIsTTY;
}

/**
 * Progress bars are for a person watching: never in CI logs, never mixed into `--json` or `-q`
 * output, never when stderr is a file or a pipe.
 */
export function progressWanted(env: NodeJS.ProcessEnv, stderrIsTTY: boolean, flags: UiFlags): boolean {
  if (!stderrIsTTY || flags.json || flags.quiet) return false;
  return !isSet(env.CI) || env.CI === 'false' || env.CI === '0';
}

export function uiSettings(output: Output, flags: UiFlags, env: NodeJS.ProcessEnv = process.env): UiSettings {
  const tty = output.errIsTTY ?? false;
  return {
    json: flags.json ?? false,
    quiet: flags.quiet ?? false,
    verbose: flags.verbose ?? false,
    color: colorWanted(env, tty),
    progress: progressWanted(env, tty, flags),
  };
}
