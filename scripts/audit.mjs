// `npm run audit`: the production dependencies against npm's advisory database. Fails on any high
// or critical finding. A registry without the audit endpoint (a mirror answering 405) cannot
// check anything: that is said loudly, and fails too when CPV_AUDIT_REQUIRED=1.
import { spawnSync } from 'node:child_process';

const r = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
let report;
try {
  report = JSON.parse(r.stdout);
} catch {
  report = undefined;
}
const counts = report?.metadata?.vulnerabilities;
if (counts === undefined) {
  const why = report?.message ?? report?.error?.summary ?? r.stderr.trim().split('\n').pop();
  console.error(`npm audit: NOT CHECKED, the registry gave no advisories (${why})`);
  process.exit(process.env.CPV_AUDIT_REQUIRED === '1' ? 1 : 0);
}
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(
  `npm audit --omit=dev: ${counts.critical ?? 0} critical, ${counts.high ?? 0} high, ` +
    `${counts.moderate ?? 0} moderate, ${counts.low ?? 0} low`,
);
process.exit(serious > 0 ? 1 : 0);
