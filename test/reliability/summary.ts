/** Global setup of the reliability suite: a fresh tally before, the summary line after. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTally, TALLY_ENV } from './tally.js';

export default function setup(): () => void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpv-reliability-'));
  const file = path.join(dir, 'tally.jsonl');
  process.env[TALLY_ENV] = file;
  return () => {
    const bySuite = readTally(file);
    const total = { cases: 0, faults: 0, failures: 0 };
    for (const [suite, t] of [...bySuite].sort(([a], [b]) => a.localeCompare(b))) {
      console.log(`  ${suite.padEnd(28)} ${t.cases} cases, ${t.faults} faults, ${t.failures} failures`);
      total.cases += t.cases;
      total.faults += t.faults;
      total.failures += t.failures;
    }
    console.log(
      `reliability: ${total.cases} cases run, ${total.faults} faults injected, ${total.failures} failures`,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
