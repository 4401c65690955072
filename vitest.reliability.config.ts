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
    // The AWS SDK's notice that future releases need Node 22 (we pin the SDK) would flood the log.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
