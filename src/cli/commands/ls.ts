/** `cpv ls [rev] [--json] [--show-hash]` — every DVC-tracked file, like `dvc ls -R --dvc-only .`. */
import type { Command } from 'commander';
import type { LsEntry } from '../../api/ls.js';
import { pyJsonDumps } from '../../dvcfile/pyjson.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import type { CommandContext } from './context.js';

export function registerLs(program: Command, ctx: CommandContext): void {
  program
    .command('ls')
    .description('List every DVC-tracked file (with size and hash) in the workspace or at a git revision')
    .argument('[rev]', 'git revision (default: the workspace .dvc files)')
    .option('--json', "print DVC's JSON list")
    .option('--show-hash', 'add each md5 to the JSON')
    .action(ctx.run(async () => lsAction(ctx)));
}

/** DVC's entry (key order isout, isdir, isexec, size, path), plus md5 with --show-hash. */
export function lsJson(entries: LsEntry[], showHash: boolean): unknown[] {
  return entries.map((e) => {
    const base = { isout: e.isout, isdir: e.isdir, isexec: e.isexec, size: e.size, path: e.path };
    return showHash ? { ...base, md5: e.md5 } : base;
  });
}

/** One line per file: hash, size (recorded, else the cached object's, else `-`), path. */
export function renderLsText(entries: LsEntry[]): string {
  const sizes = entries.map((e) => String(e.size ?? e.cachedSize ?? '-'));
  const width = Math.max(0, ...sizes.map((s) => s.length));
  return entries.map((e, i) => `${e.md5}  ${sizes[i]!.padStart(width)}  ${e.path}\n`).join('');
}

function lsAction(ctx: { output: Output; cwd: string }) {
  return async (rev: string | undefined, flags: { json?: boolean; showHash?: boolean }) => {
    const { listTracked } = await import('../../api/ls.js');
    const entries = await listTracked(rev, { cwd: ctx.cwd });
    if (flags.json)
      ctx.output.out(`${pyJsonDumps(lsJson(entries, flags.showHash ?? false), { sortKeys: false })}\n`);
    else ctx.output.out(renderLsText(entries));
    return EXIT.OK;
  };
}
