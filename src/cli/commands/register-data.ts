/** Registrations of the core data commands: init, add, status. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';
import { parseJobs } from './transfer.js';

export function registerData(program: Command, ctx: CommandContext): void {
  program
    .command('init')
    .description('Initialise a DVC repository in the current directory')
    .option('--no-scm', 'do not use git')
    .option('--subdir', 'initialise in a subdirectory of a git repository')
    .option('-f, --force', 're-create an existing .dvc/ (removes the local cache)')
    .option('-q, --quiet', 'print nothing on success')
    .action(ctx.run(async () => (await import('./init.js')).initCommand(ctx)));

  program
    .command('add')
    .description('Track files or directories: cache them and write <target>.dvc')
    .argument('<targets...>', 'files or directories to track')
    .option('-q, --quiet', 'print nothing on success')
    .action(ctx.run(async () => (await import('./add.js')).addCommand(ctx)));

  program
    .command('status')
    .description('Show changed, deleted and uncached outputs ({} / up to date when clean)')
    .argument('[targets...]', '.dvc files or output paths to limit the check to')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'print nothing; exit 1 when something changed')
    .option('-c, --cloud', 'compare the cache with a remote instead of the workspace')
    .option('-r, --remote <name>', 'remote to compare with (implies -c)')
    .option('-j, --jobs <n>', 'parallel remote checks (with -c)', parseJobs)
    .option('-a, --all-branches', 'with -c: also the data of the tip of every git branch')
    .option('-T, --all-tags', 'with -c: also the data of every git tag')
    .option('-A, --all-commits', 'with -c: also the data of every git commit')
    .action(ctx.run(async () => (await import('./status.js')).statusCommand(ctx)));
}
