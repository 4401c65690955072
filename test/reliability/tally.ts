/**
 * Counters the reliability suite reports in its summary line. Each test file adds what it did;
 * the counts travel through a file because test files run in separate processes.
 */
import * as fs from 'node:fs';

export interface Tally {
  /** Inputs tried or scenarios run. */
  cases: number;
  /** Faults injected (kills, resets, corruptions, full disks). */
  faults: number;
  /** Broken promises found (every test also fails on them; this counts them for the summary). */
  failures: number;
}

export const TALLY_ENV = 'CPV_RELIABILITY_TALLY';

export function record(suite: string, t: Partial<Tally>): void {
  const file = process.env[TALLY_ENV];
  if (!file) return; // run outside the reliability config (e.g. a single file by hand)
  const line = { suite, cases: t.cases ?? 0, faults: t.faults ?? 0, failures: t.failures ?? 0 };
  fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
}

export function readTally(file: string): Map<string, Tally> {
  const bySuite = new Map<string, Tally>();
  if (!fs.existsSync(file)) return bySuite;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const { suite, cases, faults, failures } = JSON.parse(line) as Tally & { suite: string };
    const t = bySuite.get(suite) ?? { cases: 0, faults: 0, failures: 0 };
    bySuite.set(suite, {
      cases: t.cases + cases,
      faults: t.faults + faults,
      failures: t.failures + failures,
    });
  }
  return bySuite;
}
