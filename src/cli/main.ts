/**
 * Command-line parsing. Each command is a thin adapter: parse flags, call one `src/api` function,
 * render its result. Heavy modules are imported inside the action so `cpv --version` stays fast.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCompletion } from './commands/completion.js';
import { COMMANDS, type CommandContext } from './commands/index.js';
import { reportError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { addHelpExamples } from './help-examples.js';
import { type Output, processOutput } from './output.js';
import { createProgress } from './progress.js';
import { type UiFlags, uiSettings } from './ui.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    the operation failed (bad input, missing data, remote or git error)
  2    usage error (unknown command or option, missing argument)
  130  interrupted (Ctrl-C)

Environment:
  NO_COLOR / FORCE_COLOR   turn colour off / on
  CI                       no progress bars
  CPV_HOME                 where cpv keeps its config (default ~/.cpv)
`;

export interface MainOptions {
  /** Aborted on Ctrl-C; commands pass it down to every long operation. */
  signal?: AbortSignal;
}

function buildProgram(output: Output, signal: AbortSignal, setCode: (code: number) => void): Command {
  const program = new Command('cpv')
    .description('Checkpoints Versioning: DVC-compatible data and model versioning, natively in Node.')
    .version(packageVersion(), '-V, --version')
    .option('--cwd <dir>', 'run as if started in <dir>')
    .option('-v, --verbose', 'show details, and the stack trace of an error')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => output.out(s),
      writeErr: (s) => output.err(s),
      // commander's own messages start with `error:`; ours read `cpv: error: …` everywhere.
      outputError: (s, write) => write(s.startsWith('error: ') ? `cpv: ${s}` : s),
    });

  const verbose = () => program.opts().verbose === true;
  const flagsWithVerbose = (flags: UiFlags = {}): UiFlags => ({
    ...flags,
    verbose: flags.verbose ?? verbose(),
  });
  const ctx: CommandContext = {
    output,
    signal,
    get cwd() {
      return (program.opts().cwd as string | undefined) ?? process.cwd();
    },
    ui: (flags) => uiSettings(output, flagsWithVerbose(flags)),
    progress: (flags) => createProgress(output, uiSettings(output, flagsWithVerbose(flags))),
    run:
      (load) =>
      async (...args: unknown[]): Promise<void> => {
        const action = await load();
        setCode(await (action as (...a: unknown[]) => Promise<number>)(...args));
      },
  };
  for (const register of COMMANDS) register(program, ctx);
  registerCompletion(program, ctx);
  addHelpExamples(program);
  return program;
}

export async function main(
  argv: string[],
  output: Output = processOutput,
  opts: MainOptions = {},
): Promise<number> {
  let code: number = EXIT.OK;
  const signal = opts.signal ?? new AbortController().signal;
  const program = buildProgram(output, signal, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command that finished its current step after Ctrl-C still reports the interruption.
    return signal.aborted && code === EXIT.OK ? EXIT.INTERRUPTED : code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exitCode 0.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const ui = uiSettings(output, { verbose: program.opts().verbose === true });
    return reportError(err, output, { verbose: ui.verbose, color: ui.color });
  }
}
