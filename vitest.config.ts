import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The reliability suite (test/reliability) runs here too, so CI's one test command covers it;
    // its summary line (cases, faults injected, failures) prints at the end of every run.
    globalSetup: ['test/reliability/summary.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The AWS SDK's notice that future releases need Node 22 (we pin the SDK) would flood the log.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 85 },
    },
  },
});
