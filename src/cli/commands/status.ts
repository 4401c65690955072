import { cloudStatus } from '../../api/cloud-status.js';
import type { RevScopes } from '../../api/data-index.js';
import { repoStatus } from '../../api/status.js';
import { pyJsonDumps } from '../../dvcfile/pyjson.js';
import { CpvError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { renderStatusJson, renderStatusText } from '../render.js';
import { revScopes } from './transfer.js';

interface StatusFlags extends RevScopes {
  json?: boolean;
  quiet?: boolean;
  cloud?: boolean;
  remote?: string;
  jobs?: number;
}

/** Flags that only mean something with `-c`; DVC refuses them for the local status, and so do we. */
function refuseCloudOnlyFlags(flags: StatusFlags): void {
  const given = [
    flags.allBranches && '--all-branches',
    flags.allTags && '--all-tags',
    flags.allCommits && '--all-commits',
    flags.jobs !== undefined && '--jobs',
  ].filter((f): f is string => typeof f === 'string');
  if (given.length === 0) return;
  throw new CpvError(
    'E_USAGE',
    `the following options are meaningless for local status: ${given.join(', ')}`,
    {
      hint: 'Add -c (or -r <remote>) to compare the cache with a remote.',
    },
  );
}

export function statusCommand(ctx: { output: Output; cwd: string }) {
  return async (targets: string[], flags: StatusFlags): Promise<number> => {
    if (flags.cloud || flags.remote !== undefined) return cloudStatusCommand(ctx, targets, flags);
    refuseCloudOnlyFlags(flags);
    const result = await repoStatus(targets, { cwd: ctx.cwd });
    const changed = Object.keys(result.stages).length > 0;
    if (flags.quiet) return changed ? EXIT.FAILED : EXIT.OK;
    if (flags.json) ctx.output.out(`${renderStatusJson(result.stages, ctx.output.isTTY)}\n`);
    else ctx.output.out(renderStatusText(result));
    return EXIT.OK;
  };
}

/** `status -c`: DVC's lines are `\t<status>:` padded to 20 columns, then the name. */
async function cloudStatusCommand(
  ctx: { output: Output; cwd: string },
  targets: string[],
  flags: StatusFlags,
): Promise<number> {
  const result = await cloudStatus(targets, {
    cwd: ctx.cwd,
    ...(flags.remote === undefined ? {} : { remote: flags.remote }),
    ...(flags.jobs === undefined ? {} : { jobs: flags.jobs }),
    ...revScopes(flags),
  });
  const entries = Object.entries(result.status);
  if (flags.quiet) return entries.length > 0 ? EXIT.FAILED : EXIT.OK;
  if (flags.json) {
    ctx.output.out(
      `${pyJsonDumps(result.status, { sortKeys: false, indent: ctx.output.isTTY ? 2 : undefined })}\n`,
    );
  } else if (result.tracked === 0) {
    ctx.output.out('There are no data or pipelines tracked in this project yet.\n');
  } else if (entries.length === 0) {
    ctx.output.out(`Cache and remote '${result.remotes.join("', '")}' are in sync.\n`);
  } else {
    for (const [name, status] of entries) ctx.output.out(`\t${`${status}:`.padEnd(20, ' ')}${name}\n`);
  }
  return EXIT.OK;
}
