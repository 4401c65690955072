/**
 * Command-line parsing. Each command is a thin adapter: parse flags, call one `src/api` function,
 * render its result. Heavy modules are imported inside the action so `cpv --version` stays fast.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { reportError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { type Output, processOutput } from './output.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** A command action: receives parsed args and returns the exit code. */
type Action = (...args: never[]) => Promise<number>;

function buildProgram(output: Output, setCode: (code: number) => void): Command {
  const program = new Command('cpv')
    .description('Checkpoints Versioning: DVC-compatible data and model versioning, natively in Node.')
    .version(packageVersion(), '-V, --version')
    .option('--cwd <dir>', 'run as if started in <dir>')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s), writeErr: (s) => output.err(s) });

  const run =
    (load: () => Promise<Action>) =>
    async (...args: unknown[]): Promise<void> => {
      const action = await load();
      setCode(await (action as (...a: unknown[]) => Promise<number>)(...args));
    };
  const ctx = () => ({ output, cwd: (program.opts().cwd as string | undefined) ?? process.cwd() });

  program
    .command('init')
    .description('Initialise a DVC repository in the current directory')
    .option('--no-scm', 'do not use git')
    .option('--subdir', 'initialise in a subdirectory of a git repository')
    .option('-f, --force', 're-create an existing .dvc/ (removes the local cache)')
    .action(run(async () => (await import('./commands/init.js')).initCommand(ctx())));

  program
    .command('add')
    .description('Track files or directories: cache them and write <target>.dvc')
    .argument('<targets...>', 'files or directories to track')
    .option('-q, --quiet', 'print nothing on success')
    .action(run(async () => (await import('./commands/add.js')).addCommand(ctx())));

  program
    .command('status')
    .description('Show changed, deleted and uncached outputs ({} / up to date when clean)')
    .argument('[targets...]', '.dvc files or output paths to limit the check to')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'print nothing; exit 1 when something changed')
    .action(run(async () => (await import('./commands/status.js')).statusCommand(ctx())));

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
