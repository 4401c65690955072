import type { Command } from 'commander';
import type { Output } from '../output.js';

/** A command's action: receives commander's parsed arguments, returns the exit code. */
export type Action = (...args: never[]) => Promise<number>;

/** What every command registration gets from `main`. */
export interface CommandContext {
  output: Output;
  /** The directory the command runs in (`--cwd` or the process cwd). */
  readonly cwd: string;
  /**
   * Wraps a lazily loaded action for commander: the module holding the action (and the library
   * code behind it) is imported only when the command runs, which keeps start-up fast.
   */
  run(load: () => Promise<(...args: never[]) => Promise<number>>): (...args: unknown[]) => Promise<void>;
}

/** Adds one command (or a command group) to the program. */
export type RegisterCommand = (program: Command, ctx: CommandContext) => void;
