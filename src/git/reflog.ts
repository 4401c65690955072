/**
 * Reflog entries, written as git writes them when it moves a branch or HEAD, so `git reflog` and
 * `HEAD@{1}` see cpv's commits too. Appended while the ref's lock is held (as git does), one
 * `O_APPEND` write per line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Identity } from './identity.js';

const ZERO = '0'.repeat(40);

function tz(offsetMinutes: number): string {
  const east = -offsetMinutes;
  const abs = Math.abs(east);
  return `${east < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

/** One reflog line: `<old> <new> <name> <<email>> <seconds> <±hhmm>\t<message>`. */
export function reflogLine(
  oldOid: string | undefined,
  newOid: string,
  who: Required<Identity>,
  message: string,
): string {
  const oneLine = message.replace(/\n.*$/s, '').trim();
  return `${oldOid ?? ZERO} ${newOid} ${who.name} <${who.email}> ${who.timestamp} ${tz(who.timezoneOffset)}\t${oneLine}\n`;
}

/** Appends `line` to the reflog of each of `refs` (e.g. `refs/heads/main` and `HEAD`). */
export function appendReflog(gitdir: string, refs: string[], line: string): void {
  for (const ref of refs) {
    const file = path.join(gitdir, 'logs', ref);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, line);
  }
}
