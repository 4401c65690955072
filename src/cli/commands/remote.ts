/**
 * `cpv remote add|modify|remove|rename|list|default`, with `dvc remote`'s flags and output. Each
 * action imports the library when it runs.
 */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { addLevelOptions, type LevelFlags, levelOf, printWarnings } from './config.js';
import type { CommandContext } from './context.js';

type Ctx = { output: Output; cwd: string };
const api = () => import('../../api/remote-config.js');

export function registerRemote(program: Command, ctx: CommandContext): void {
  const remote = program.command('remote').description('Set up and manage data remotes');

  addLevelOptions(
    remote
      .command('add')
      .description('Add a data remote')
      .argument('<name>', 'name of the remote')
      .argument('<url>', 'where it is: s3://bucket/prefix, a directory, …')
      .option('-d, --default', 'make it the default remote')
      .option('-f, --force', 'overwrite a remote of that name'),
  ).action(ctx.run(async () => addCommand(ctx)));

  addLevelOptions(
    remote
      .command('modify')
      .description("Set or unset an option of a remote's configuration")
      .argument('<name>', 'name of the remote')
      .argument('<option>', 'option to set (endpointurl, region, …)')
      .argument('[value]', 'value of the option')
      .option('-u, --unset', 'remove the option'),
  ).action(ctx.run(async () => modifyCommand(ctx)));

  addLevelOptions(
    remote.command('remove').description('Remove a data remote').argument('<name>', 'name of the remote'),
  ).action(ctx.run(async () => removeCommand(ctx)));

  addLevelOptions(
    remote
      .command('rename')
      .description('Rename a data remote')
      .argument('<name>', 'remote to rename')
      .argument('<new>', 'its new name'),
  ).action(ctx.run(async () => renameCommand(ctx)));

  addLevelOptions(remote.command('list').description('List the data remotes')).action(
    ctx.run(async () => listCommand(ctx)),
  );

  addLevelOptions(
    remote
      .command('default')
      .description('Show, set or unset the default data remote')
      .argument('[name]', 'remote to make the default')
      .option('-u, --unset', 'unset the default remote'),
  ).action(ctx.run(async () => defaultCommand(ctx)));
}

function addCommand(ctx: Ctx) {
  return async (name: string, url: string, flags: LevelFlags & { default?: boolean; force?: boolean }) => {
    const { remoteAdd } = await api();
    const result = remoteAdd(name, url, {
      cwd: ctx.cwd,
      level: levelOf(flags),
      default: flags.default,
      force: flags.force,
    });
    if (flags.default) ctx.output.out(`Setting '${name.toLowerCase()}' as a default remote.\n`);
    printWarnings(ctx.output, result.warnings);
    return EXIT.OK;
  };
}

function modifyCommand(ctx: Ctx) {
  return async (
    name: string,
    option: string,
    value: string | undefined,
    flags: LevelFlags & { unset?: boolean },
  ) => {
    const { remoteModify } = await api();
    const result = remoteModify(name, option, value, {
      cwd: ctx.cwd,
      level: levelOf(flags),
      unset: flags.unset,
    });
    printWarnings(ctx.output, result.warnings);
    return EXIT.OK;
  };
}

function removeCommand(ctx: Ctx) {
  return async (name: string, flags: LevelFlags) => {
    const { remoteRemove } = await api();
    const results = remoteRemove(name, { cwd: ctx.cwd, level: levelOf(flags) });
    printWarnings(
      ctx.output,
      results.flatMap((r) => r.warnings),
    );
    return EXIT.OK;
  };
}

function renameCommand(ctx: Ctx) {
  return async (name: string, newName: string, flags: LevelFlags) => {
    const { remoteRename } = await api();
    remoteRename(name, newName, { cwd: ctx.cwd, level: levelOf(flags) });
    return EXIT.OK;
  };
}

function listCommand(ctx: Ctx) {
  return async (flags: LevelFlags) => {
    const { remoteList } = await api();
    for (const remote of remoteList({ cwd: ctx.cwd, level: levelOf(flags) })) {
      const fields = [remote.name, remote.url ?? '', ...(remote.isDefault ? ['(default)'] : [])];
      ctx.output.out(`${fields.join('\t')}\n`);
    }
    return EXIT.OK;
  };
}

function defaultCommand(ctx: Ctx) {
  return async (name: string | undefined, flags: LevelFlags & { unset?: boolean }) => {
    const { remoteDefault, setRemoteDefault, unsetRemoteDefault } = await api();
    const opts = { cwd: ctx.cwd, level: levelOf(flags) };
    if (flags.unset) unsetRemoteDefault(opts);
    else if (name !== undefined) setRemoteDefault(name, opts);
    else ctx.output.out(`${remoteDefault(opts)}\n`);
    return EXIT.OK;
  };
}
