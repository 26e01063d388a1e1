#!/usr/bin/env -S node --import tsx
/**
 * `npm run bench`: Switchboard vs a raw ws broadcast server vs Socket.IO 4, on loopback.
 *
 * Steps:
 *   1. for each server: idle connections (RSS per connection at 10,000 and 19,000);
 *   2. one topic, one node, 1,000 and 10,000 subscribers: highest publish rate within the p99 bound;
 *   3. the same with the publisher on a second node through Redis;
 *   4. print the table, write docs/benchmarks.md (and --json), exit 0 (the targets are reported, not enforced).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { runBenchmark } from './lib/harness.js';
import { parseBenchArgs, usage } from './lib/options.js';
import { consoleReport, markdownReport } from './lib/report.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let options;
  try {
    options = parseBenchArgs(argv);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  if (options === 'help') {
    console.log(usage);
    return;
  }
  const root = resolve(import.meta.dirname, '..');
  const result = await runBenchmark(options, (line) => console.error(line));
  console.log(consoleReport(result));
  const command = ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' ');
  if (options.outFile) {
    const out = resolve(root, options.outFile);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, markdownReport(result, command));
    console.error(`wrote ${out}`);
  }
  if (options.jsonFile) {
    writeFileSync(resolve(root, options.jsonFile), JSON.stringify(result, null, 2));
    console.error(`wrote ${options.jsonFile}`);
  }
}

main().then(
  // Generators and servers are stopped by now; exit explicitly in case a library left a handle open.
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
