/** `cpv gc -w | -a | -T | --all-commits [-c [-r remote]] [-f] [--dry]` */
import type { Command } from 'commander';
import type { GcOptions, GcPlan, GcResult } from '../../api/gc.js';
import { CpvError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { LOCK_WAIT_MS } from '../render.js';
import type { CommandContext } from './context.js';
import { askYesNo, canAsk } from './prompt.js';

export function registerGc(program: Command, ctx: CommandContext): void {
  program
    .command('gc')
    .description('Remove cache objects not used by the workspace (and the chosen git scopes)')
    .option('-w, --workspace', 'keep only what the workspace uses')
    .option('-a, --all-branches', 'also keep what every git branch uses')
    .option('-T, --all-tags', 'also keep what every git tag uses')
    .option('-A, --all-commits', 'also keep what every git commit uses')
    .option('-c, --cloud', 'also remove unused objects from the remote')
    .option('-r, --remote <name>', 'remote for --cloud (default: core.remote)')
    .option('-f, --force', 'remove without asking')
    .option('--dry', 'only show what would be removed')
    .action(ctx.run(async () => gcAction(ctx)));
}

interface GcFlags {
  workspace?: boolean;
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
  cloud?: boolean;
  remote?: string;
  force?: boolean;
  dry?: boolean;
}

/** DVC's warning naming what is kept. */
export function scopeWarning(f: GcFlags): string {
  let msg = 'This will remove all cache except items used in the workspace';
  if (f.allCommits) msg += ' and all git commits';
  else if (f.allBranches && f.allTags) msg += ' and all git branches and tags';
  else if (f.allBranches) msg += ' and all git branches';
  else if (f.allTags) msg += ' and all git tags';
  msg += ' of the current repo.';
  if (f.cloud) msg += ' Unused objects will also be removed from the remote.';
  return msg;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function planSummary(plan: GcPlan): string {
  return `${plan.objects.length} unused objects (${formatBytes(plan.bytes)}) would be removed from the cache.`;
}

/** DVC's result lines (`Removed N objects from repo cache.` …); a dry run says what it would do. */
export function renderGcResult(r: GcResult): string {
  const byLayout = (hashName: 'md5' | 'md5-dos2unix') =>
    r.plan.objects.filter((o) => o.hashName === hashName);
  const line = (label: string, n: number, bytes: number) => {
    if (n === 0) return `No unused '${label}' cache to remove.\n`;
    return r.dryRun
      ? `Would remove ${n} objects (${formatBytes(bytes)}) from ${label} cache.\n`
      : `Removed ${n} objects from ${label} cache.\n`;
  };
  const repo = byLayout('md5');
  const legacy = byLayout('md5-dos2unix');
  let text = line(
    'repo',
    repo.length,
    repo.reduce((s, o) => s + o.size, 0),
  );
  text += "No unused 'local' cache to remove.\n";
  text += line(
    'legacy',
    legacy.length,
    legacy.reduce((s, o) => s + o.size, 0),
  );
  if (r.cloud !== undefined) {
    if (r.cloud.removed === 0) text += 'No unused cache to remove from remote.\n';
    else text += `${r.dryRun ? 'Would remove' : 'Removed'} ${r.cloud.removed} objects from remote.\n`;
  }
  return text;
}

function gcAction(ctx: { output: Output; cwd: string }) {
  return async (flags: GcFlags): Promise<number> => {
    const { gc, hasScope } = await import('../../api/gc.js');
    if (!hasScope(flags)) {
      throw new CpvError(
        'E_USAGE',
        'Either of `-w|--workspace`, `-a|--all-branches`, `-T|--all-tags` or `--all-commits` needs to be set.',
        { hint: 'Pick which data to keep, e.g. `cpv gc -w --dry` to see what only the workspace keeps.' },
      );
    }
    ctx.output.err(`WARNING: ${scopeWarning(flags)}\n`);
    const opts: GcOptions = {
      cwd: ctx.cwd,
      workspace: flags.workspace,
      allBranches: flags.allBranches,
      allTags: flags.allTags,
      allCommits: flags.allCommits,
      cloud: flags.cloud,
      remote: flags.remote,
      force: flags.force,
      dryRun: flags.dry,
      waitMs: LOCK_WAIT_MS,
      onWait: (holder) => ctx.output.err(`Waiting for the repository lock held by process ${holder}…\n`),
      confirm: canAsk()
        ? async (plan) => {
            ctx.output.err(`${planSummary(plan)}\n`);
            return askYesNo('Are you sure you want to proceed?');
          }
        : undefined,
    };
    const result = await gc(opts);
    ctx.output.out(renderGcResult(result));
    return EXIT.OK;
  };
}
