/**
 * Commit and tag messages cleaned the way `git commit -m` cleans them (git's "whitespace" mode):
 * trailing spaces removed from every line, runs of blank lines collapsed to one, blank lines at
 * either end dropped, and a final newline. So cpv and the CLI write identical objects for one message.
 */
export function cleanMessage(message: string): string {
  const lines = message
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''));
  const out: string[] = [];
  for (const line of lines) {
    if (line === '' && (out.length === 0 || out[out.length - 1] === '')) continue;
    out.push(line);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
