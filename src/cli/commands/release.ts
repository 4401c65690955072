/** `cpv release tag|revert|info <team/model>`: model and data versions together. */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export function registerRelease(program: Command, ctx: CommandContext): void {
  const group = program
    .command('release')
    .description('Model and data together: tag both at once (or neither), revert both, list releases');
  const action = (name: 'tag' | 'revert' | 'info') =>
    ctx.run(async () => (await import('./release-action.js')).releaseActions[name](ctx));
  const common = (cmd: Command) =>
    cmd
      .argument('<team/model>', 'the team and model, e.g. vision/resnet50')
      .option('--workdir <dir>', 'where model repos live, as <dir>/<model> (default: the current directory)')
      .option('--json', 'print the result as JSON')
      .option('-n, --dry-run', 'print what would be done; change nothing');

  common(group.command('tag').description('Tag the model vX.Y and the data data-vX.Y, atomically'))
    .argument('[version]', 'e.g. v2.0 (default: each series’ next version)')
    .option('--model-message <text>', 'message of the model tag')
    .option('--data-message <text>', 'message of the data tag')
    .action(action('tag'));
  common(
    group.command('revert').description('Restore the model of vX.Y and the data of data-vX.Y as one commit'),
  )
    .argument('<tag>', 'the model version, e.g. v1.0')
    .option('-m, --message <text>', 'commit message')
    .option('-f, --force', 'discard uncommitted changes')
    .action(action('revert'));
  common(group.command('info').description('Releases: each version with its model and data tags')).action(
    action('info'),
  );
}
