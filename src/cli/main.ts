/**
 * Command-line parsing. Each command is a thin adapter: parse flags, call one `src/api` function,
 * render its result. Heavy modules are imported inside the action so `cpv --version` stays fast.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { COMMANDS, type CommandContext } from './commands/index.js';
import { reportError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { type Output, processOutput } from './output.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function buildProgram(output: Output, setCode: (code: number) => void): Command {
  const program = new Command('cpv')
    .description('Checkpoints Versioning: DVC-compatible data and model versioning, natively in Node.')
    .version(packageVersion(), '-V, --version')
    .option('--cwd <dir>', 'run as if started in <dir>')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s), writeErr: (s) => output.err(s) });

  const ctx: CommandContext = {
    output,
    get cwd() {
      return (program.opts().cwd as string | undefined) ?? process.cwd();
    },
    run:
      (load) =>
      async (...args: unknown[]): Promise<void> => {
        const action = await load();
        setCode(await (action as (...a: unknown[]) => Promise<number>)(...args));
      },
  };
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

export async function main(argv: string[], output: Output = processOutput): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(output, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exitCode 0.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    return reportError(err, output);
  }
}
