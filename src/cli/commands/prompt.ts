/**
 * Yes/no questions for commands that ask before destroying or rewriting data (commit, gc). Only
 * on a terminal: without one there is nobody to answer, so the command is refused with a hint.
 */
export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

export async function askYesNo(question: string): Promise<boolean> {
  // Loaded here, not at start-up: every command's start would pay for it, few ever ask.
  const readline = await import('node:readline/promises');
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/n] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
