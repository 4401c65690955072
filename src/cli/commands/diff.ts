/** `cpv diff [a_rev [b_rev]] [--json] [--show-hash]` — DVC's diff output, text and JSON. */
import type { Command } from 'commander';
import type { DiffResult } from '../../api/diff.js';
import { pyJsonDumps } from '../../dvcfile/pyjson.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import type { CommandContext } from './context.js';

export function registerDiff(program: Command, ctx: CommandContext): void {
  program
    .command('diff')
    .description(
      'Show tracked files added, deleted, renamed or modified between revisions (or vs the workspace)',
    )
    .argument('[a_rev]', 'old git revision (default HEAD)')
    .argument('[b_rev]', 'new git revision (default: the workspace)')
    .option('--json', 'print the result as JSON')
    .option('--show-hash', 'include hashes')
    .action(ctx.run(async () => diffAction(ctx)));
}

type Group = 'added' | 'deleted' | 'renamed' | 'modified' | 'not in cache';
const GROUPS: Group[] = ['added', 'deleted', 'renamed', 'modified', 'not in cache'];

/** The JSON DVC prints: `hash` keys only with --show-hash, `not in cache` only vs the workspace. */
export function diffJson(diff: DiffResult, showHash: boolean): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const key of ['added', 'deleted', 'modified', 'renamed', 'not in cache'] as const) {
    const list = diff[key];
    if (list === undefined) continue;
    out[key] = list.map((e) => (showHash ? { path: e.path, hash: e.hash } : { path: e.path }));
  }
  return out;
}

const digest = (h: string | { old: string; new: string }) =>
  typeof h === 'string' ? h.slice(0, 8) : `${h.old.slice(0, 8)}..${h.new.slice(0, 8)}`;

/** DVC's text: a capitalised header per non-empty group, 4-space indented paths, a files summary. */
export function renderDiffText(diff: DiffResult, showHash: boolean): string {
  let text = '';
  const counts: Partial<Record<Group, number>> = {};
  for (const group of GROUPS) {
    const list = (diff[group] ?? []) as Array<{ path: string | { old: string; new: string }; hash: unknown }>;
    if (list.length === 0) continue;
    text += `${group[0]!.toUpperCase()}${group.slice(1)}:\n`;
    for (const e of list) {
      const p = typeof e.path === 'string' ? e.path : `${e.path.old} -> ${e.path.new}`;
      if (!p.endsWith('/')) counts[group] = (counts[group] ?? 0) + 1;
      const hash = showHash ? `${digest(e.hash as string | { old: string; new: string })}  ` : '';
      text += `    ${hash}${p}\n`;
    }
    text += '\n';
  }
  const summary = GROUPS.filter((g) => (counts[g] ?? 0) > 0).map((g) => `${counts[g]} ${g}`);
  if (summary.length > 0) text += `files summary: ${summary.join(', ')}\n`;
  return text;
}

function diffAction(ctx: { output: Output; cwd: string }) {
  return async (
    aRev: string | undefined,
    bRev: string | undefined,
    flags: { json?: boolean; showHash?: boolean },
  ) => {
    const { diffRevisions } = await import('../../api/diff.js');
    const diff = await diffRevisions(aRev ?? 'HEAD', bRev, { cwd: ctx.cwd });
    if (flags.json) {
      const json = diffJson(diff, flags.showHash ?? false);
      ctx.output.out(`${pyJsonDumps(json, { sortKeys: false, indent: ctx.output.isTTY ? 2 : undefined })}\n`);
    } else {
      ctx.output.out(renderDiffText(diff, flags.showHash ?? false));
    }
    return EXIT.OK;
  };
}
