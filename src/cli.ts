#!/usr/bin/env node
/**
 * The `cpv` executable. Kept tiny so start-up stays fast: commands load their modules on demand.
 */
import { main } from './cli/main.js';

// The AWS SDK warns on every run under Node 20 that *future* SDK releases will need Node 22. cpv
// pins its SDK version, so the warning asks nothing of our users; it would only bury cpv's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// First Ctrl-C: abort in-flight work through the signal (transfers stop, multipart uploads are
// aborted, temp files removed); every write is temp + rename, so nothing is left half-written.
// Second Ctrl-C: exit at once.
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) {
    process.stderr.write('\ncpv: interrupted again, exiting now\n');
    process.exit(130);
  }
  process.stderr.write('\ncpv: interrupting… (press Ctrl-C again to exit now)\n');
  interrupt.abort();
});

main(process.argv.slice(2), undefined, { signal: interrupt.signal }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cpv: error: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
