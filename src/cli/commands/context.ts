import type { Command } from 'commander';
import type { Output } from '../output.js';
import type { Progress } from '../progress.js';
import type { UiFlags, UiSettings } from '../ui.js';

/** A command's action: receives commander's parsed arguments, returns the exit code. */
export type Action = (...args: never[]) => Promise<number>;

/** What every command registration gets from `main`. */
export interface CommandContext {
  output: Output;
  /** The directory the command runs in (`--cwd` or the process cwd). */
  readonly cwd: string;
  /** Fires on the first Ctrl-C: pass it to every long operation so it stops cleanly. */
  readonly signal: AbortSignal;
  /** Colour, progress and verbosity for this run, from the command's flags and the environment. */
  ui(flags?: UiFlags): UiSettings;
  /** Progress bars on stderr (no-ops when they are off); stop it before printing results. */
  progress(flags?: UiFlags): Promise<Progress>;
  /**
   * Wraps a lazily loaded action for commander: the module holding the action (and the library
   * code behind it) is imported only when the command runs, which keeps start-up fast.
   */
  run(load: () => Promise<(...args: never[]) => Promise<number>>): (...args: unknown[]) => Promise<void>;
}

/** Adds one command (or a command group) to the program. */
export type RegisterCommand = (program: Command, ctx: CommandContext) => void;
