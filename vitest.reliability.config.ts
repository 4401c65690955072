/**
 * `npm run test:reliability`: the fault, hostile-input and secrets suite (test/reliability). Its
 * global setup prints one summary line at the end: cases run, faults injected, failures.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/reliability/summary.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
