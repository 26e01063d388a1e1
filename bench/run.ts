#!/usr/bin/env -S node --import tsx
/**
 * `npm run bench`: Switchboard and the baselines (Socket.IO, plain `ws`, tuned `ws`), servers and
 * load generator on separate CPUs.
 *
 * Steps:
 *   1. pin this process to the generator CPUs (servers get the others);
 *   2. `--runs` times: each workload (A, B fixed load; C rate search; D reconnect storm) on each server,
 *      in seeded random order; A and B also on two nodes sharing one Redis (`--variants`);
 *   3. for each server: idle connections (RSS per connection);
 *   4. print the summary, write docs/benchmarks.md and the raw docs/benchmarks.json, exit 0.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
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
    writeFileSync(
      out,
      markdownReport(
        result,
        command,
        options.jsonFile && relative(dirname(out), resolve(root, options.jsonFile)),
      ),
    );
    console.error(`wrote ${out}`);
  }
  if (options.jsonFile) {
    const out = resolve(root, options.jsonFile);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
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
