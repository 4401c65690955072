// Preloaded into a benchmarked node process (`node --require ./bench/rss-report.cjs …`): on exit it
// writes the process's peak RSS in KiB to $CPV_BENCH_RSS_FILE. Worker threads share the process, so
// this covers them too. CommonJS and --require, not --import: an ES-module preload would start
// Node's ES-module loader in every timed run, which cpv's own executable does not pay for.
const { writeFileSync } = require('node:fs');

const out = process.env.CPV_BENCH_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS)));
