/**
 * `cpv model …` and `cpv data …`: the same verbs over a versioned series (model checkpoints, or
 * the training data), each a thin call into the checkpoint API. A series is named `<team>/<model>`.
 */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export interface SeriesCliSpec {
  /** The command group: `model` or `data`. */
  group: string;
  /** What a version holds, for help texts: `model checkpoint`, `data version`. */
  noun: string;
  /** The module with the actions, loaded when a command runs. */
  load: () => Promise<typeof import('./series-action.js')>;
}

const REF = '<team/model>';
const REF_HELP = 'the team and model, e.g. vision/resnet50';

function common(cmd: Command): Command {
  return cmd
    .option('--workdir <dir>', 'where model repos live, as <dir>/<model> (default: the current directory)')
    .option('--json', 'print the result as JSON')
    .option('-n, --dry-run', 'print what would be done; change nothing');
}

export function registerSeries(program: Command, ctx: CommandContext, spec: SeriesCliSpec): void {
  const group = program
    .command(spec.group)
    .description(
      `Versioned ${spec.noun}s: init, upload, tag, versions, download, revert, info${spec.group === 'model' ? ', compare' : ''}`,
    );
  const action = (name: keyof Awaited<ReturnType<SeriesCliSpec['load']>>['actions']) =>
    ctx.run(async () => (await spec.load()).actions[name](ctx, spec.group));

  common(
    group
      .command('init')
      .description(`Create the model repo (data/, model.bin, metrics.log, …) and its remotes`),
  )
    .argument(REF, REF_HELP)
    .option('--data <path>', 'a directory (or file) whose contents become data/')
    .option('-m, --message <text>', 'commit message')
    .action(action('init'));

  common(group.command('upload').description(`Record a new ${spec.noun}: track, push data, commit, push git`))
    .argument(REF, REF_HELP)
    .option(
      '--from <path>',
      spec.group === 'model' ? 'weights file to copy to model.bin first' : 'directory to copy to data/ first',
    )
    .option('--metrics <json>', 'metrics of this checkpoint as a JSON object, e.g. \'{"loss":0.12}\'')
    .option('--metrics-file <file>', 'read the metrics JSON object from a file')
    .option('-m, --message <text>', 'commit message')
    .option('-v, --verbose', 'list each step done')
    .action(action('upload'));

  common(group.command('tag').description(`Tag the latest upload as a version (next minor by default)`))
    .argument(REF, REF_HELP)
    .argument('[version]', 'version tag, e.g. v2.0 (default: the latest minor + 1, v1.0 first)')
    .option('-m, --message <text>', 'tag message')
    .option('-f, --force', 'replace an existing tag')
    .action(action('tag'));

  common(group.command('versions').description('List the versions, oldest first, with metrics and sizes'))
    .argument(REF, REF_HELP)
    .action(action('versions'));

  common(group.command('download').description('Write the files of a version to a directory'))
    .argument(REF, REF_HELP)
    .argument('<tag>', 'the version to download')
    .option('-o, --out <dir>', 'destination (default: <model>-<tag> in the current directory)')
    .option('--path <subpath>', 'only this file or folder (data versions)')
    .option('--with-data', 'also write data/ as it was (model versions)')
    .option('-f, --force', 'write into a non-empty destination')
    .action(action('download'));

  common(group.command('revert').description('Restore a version as a new commit (history kept)'))
    .argument(REF, REF_HELP)
    .argument('<tag>', 'the version to restore')
    .option('-m, --message <text>', 'commit message')
    .option('-f, --force', 'discard uncommitted changes')
    .action(action('revert'));

  common(
    group.command('info').description('Where the repo and remotes are, the latest version, every version'),
  )
    .argument(REF, REF_HELP)
    .action(action('info'));

  if (spec.group === 'model') {
    common(
      group
        .command('compare')
        .description('Two versions side by side: metrics with deltas, size, changed files'),
    )
      .argument(REF, REF_HELP)
      .argument('<a>', 'the older version, e.g. v1.0')
      .argument('<b>', 'the newer version, e.g. v1.1')
      .action(action('compare'));
  }
}

export function registerModel(program: Command, ctx: CommandContext): void {
  registerSeries(program, ctx, {
    group: 'model',
    noun: 'model checkpoint',
    load: () => import('./series-action.js'),
  });
}

export function registerDataSeries(program: Command, ctx: CommandContext): void {
  registerSeries(program, ctx, {
    group: 'data',
    noun: 'data version',
    load: () => import('./series-action.js'),
  });
}
