/**
 * `cpv config [--local|--global|--system|--project] [-l] [--show-origin] [-u] [name] [value]`,
 * with `dvc config`'s flags and output (`key=value` lines, `<file>\t` origin prefixes). The
 * library is imported when the command runs.
 */
import { type Command, Option } from 'commander';
import type { ConfigLevel } from '../../api/repo-config.js';
import { CpvError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import type { CommandContext } from './context.js';

export interface LevelFlags {
  global?: boolean;
  system?: boolean;
  project?: boolean;
  local?: boolean;
}

const LEVEL_FLAGS: ReadonlyArray<[keyof LevelFlags, ConfigLevel, string]> = [
  ['global', 'global', 'use the global config (~/.config/dvc/config)'],
  ['system', 'system', 'use the system config (/etc/xdg/dvc/config)'],
  ['project', 'repo', 'use the project config (.dvc/config)'],
  ['local', 'local', 'use the local config (.dvc/config.local, not committed)'],
];

/** Adds DVC's four mutually exclusive level flags to a command. */
export function addLevelOptions(cmd: Command): Command {
  for (const [flag, , description] of LEVEL_FLAGS) {
    const others = LEVEL_FLAGS.map(([f]) => f).filter((f) => f !== flag);
    cmd.addOption(new Option(`--${flag}`, description).conflicts(others));
  }
  return cmd;
}

export function levelOf(flags: LevelFlags): ConfigLevel | undefined {
  return LEVEL_FLAGS.find(([flag]) => flags[flag])?.[1];
}

export function printWarnings(output: Output, warnings: readonly string[]): void {
  for (const warning of warnings) output.err(`WARNING: ${warning}\n`);
}

interface ConfigFlags extends LevelFlags {
  unset?: boolean;
  list?: boolean;
  showOrigin?: boolean;
}

export function registerConfig(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('config')
    .description('Get, set, unset or list config options (section.option or remote.<name>.option)')
    .argument('[name]', 'option name: section.option or remote.<name>.option')
    .argument('[value]', 'value to set')
    .option('-u, --unset', 'remove the option')
    .option('-l, --list', 'list every option that is set')
    .option('--show-origin', 'show the file each value comes from');
  addLevelOptions(cmd).action(ctx.run(async () => configCommand(ctx)));
}

function usage(message: string, hint: string): CpvError {
  return new CpvError('E_USAGE', message, { hint });
}

function configCommand(ctx: { output: Output; cwd: string }) {
  return async (name: string | undefined, value: string | undefined, flags: ConfigFlags): Promise<number> => {
    const api = await import('../../api/config-edit.js');
    const opts = { cwd: ctx.cwd, level: levelOf(flags) };
    if (flags.showOrigin && (value !== undefined || flags.unset)) {
      throw usage(
        '--show-origin cannot be used with -u/--unset or a value',
        'Drop --show-origin to change options.',
      );
    }
    if (flags.list) {
      if (name !== undefined || flags.unset) {
        throw usage(
          '-l/--list cannot be used with -u/--unset, a name or a value',
          'Use `cpv config -l` alone.',
        );
      }
      for (const entry of api.listConfig(opts)) {
        ctx.output.out(`${flags.showOrigin ? `${entry.origin}\t` : ''}${entry.name}=${entry.value}\n`);
      }
      return EXIT.OK;
    }
    if (name === undefined)
      throw usage('an option name is required', 'Example: `cpv config core.remote`, or -l to list.');
    if (flags.unset) {
      if (value !== undefined) throw usage('--unset takes no value', `Use \`cpv config --unset ${name}\`.`);
      printWarnings(ctx.output, api.unsetConfig(name, opts).warnings);
      return EXIT.OK;
    }
    if (value === undefined) {
      const entry = api.getConfig(name, opts);
      ctx.output.out(`${flags.showOrigin ? `${entry.origin}\t` : ''}${entry.value}\n`);
      return EXIT.OK;
    }
    printWarnings(ctx.output, api.setConfig(name, value, opts).warnings);
    return EXIT.OK;
  };
}
