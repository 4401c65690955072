/** Registrations of the commands that move data between the cache and a remote: push, fetch, pull. */
import { type Command, InvalidArgumentError } from 'commander';
import type { RevScopes } from '../../api/data-index.js';
import type { CommandContext } from './context.js';

/** `-j 8` → 8; anything else is a usage error caught by commander. */
export function parseJobs(value: string): number {
  const jobs = Number(value);
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new InvalidArgumentError(`jobs must be a positive integer, not '${value}'`);
  }
  return jobs;
}

/** The `-a`/`-T`/`-A` flags given, as library options. */
export function revScopes(flags: RevScopes): RevScopes {
  return {
    ...(flags.allBranches ? { allBranches: true } : {}),
    ...(flags.allTags ? { allTags: true } : {}),
    ...(flags.allCommits ? { allCommits: true } : {}),
  };
}

function transferOptions(cmd: Command): Command {
  return cmd
    .argument('[targets...]', '.dvc files, outputs, or paths inside a tracked directory (default: all)')
    .option('-r, --remote <name>', 'remote to use (default: each output’s remote, else core.remote)')
    .option(
      '-j, --jobs <n>',
      'parallel transfers (default: the remote’s jobs, else 4 × CPU cores)',
      parseJobs,
    )
    .option('-a, --all-branches', 'also the data of the tip of every git branch')
    .option('-T, --all-tags', 'also the data of every git tag')
    .option('-A, --all-commits', 'also the data of every git commit')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'print nothing on success');
}

export function registerTransfer(program: Command, ctx: CommandContext): void {
  transferOptions(
    program.command('push').description('Upload tracked data from the cache to a remote'),
  ).action(ctx.run(async () => (await import('./push.js')).pushCommand(ctx)));
  transferOptions(
    program.command('fetch').description('Download tracked data from a remote into the cache'),
  ).action(ctx.run(async () => (await import('./fetch.js')).fetchCommand(ctx)));
  transferOptions(program.command('pull').description('Fetch tracked data and put it into the workspace'))
    .option('-f, --force', 'overwrite workspace files that differ even if their contents are not cached')
    .action(ctx.run(async () => (await import('./pull.js')).pullCommand(ctx)));
}
