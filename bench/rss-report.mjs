// Preloaded into a benchmarked node process (`node --import ./bench/rss-report.mjs …`): on exit it
// writes the process's peak RSS in KiB to $CPV_BENCH_RSS_FILE. Worker threads share the process, so
// this covers them too.
import { writeFileSync } from 'node:fs';

const out = process.env.CPV_BENCH_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS)));
