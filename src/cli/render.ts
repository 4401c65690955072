/**
 * Text and JSON renderings of command results, matching DVC's output byte for byte where DVC
 * defines it (dvc-compat §9), so scripts written against DVC keep working.
 */
import type { StageStatus, StatusResult } from '../api/status.js';
import { pyJsonDumps } from '../dvcfile/pyjson.js';

/** How long a CLI command waits for another process's repository lock before giving up. */
export const LOCK_WAIT_MS = 30_000;

export function gitAddHint(files: string[]): string {
  return (
    '\nTo track the changes with git, run:\n\n' +
    `\tgit add ${files.map(quoteForShell).join(' ')}\n` +
    '\nTo enable auto staging, run:\n\n\tcpv config core.autostage true\n'
  );
}

function quoteForShell(p: string): string {
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

/** DVC prints status JSON on one line (indented only on a terminal), ASCII-escaped. */
export function renderStatusJson(stages: Record<string, StageStatus[]>, pretty: boolean): string {
  return pyJsonDumps(stages, { sortKeys: false, indent: pretty ? 2 : undefined });
}

/** `<status>:` left-justified to 20 columns, as DVC's status text. */
const pad = (label: string): string => `${label}:`.padEnd(20, ' ');

export function renderStatusText(result: StatusResult): string {
  const names = Object.keys(result.stages);
  if (names.length === 0) {
    return result.tracked === 0
      ? 'There are no data or pipelines tracked in this project yet.\n'
      : 'Data and pipelines are up to date.\n';
  }
  let text = '';
  for (const name of names) {
    text += `${name}:\n`;
    for (const entry of result.stages[name] ?? []) {
      if (typeof entry === 'string') {
        text += `\t${entry}\n`;
        continue;
      }
      for (const [group, paths] of Object.entries(entry)) {
        text += `\t${group}:\n`;
        for (const [p, status] of Object.entries(paths)) text += `\t\t${pad(status)}${p}\n`;
      }
    }
  }
  return text;
}
