#!/usr/bin/env node
// Runs every workspace's tests in one `node --test` run, so there is one summary line.
//
// Steps:
//   1. find the *.test.ts files under the workspaces' folders (skipping node_modules, dist, .git);
//   2. keep those whose path contains one of the filters (all when none is given);
//   3. run them in one `node --import tsx --test` (output straight to the terminal, then each file's wall
//      time, slowest first) and exit with its code.
//
// Usage: node scripts/run-tests.mjs [path-substring ...]   (filters test files)
// Env: TEST_CONCURRENCY (default 2), TEST_TIMEOUT_MS per file (default 1500000: the fault rehearsals' file takes about 12 min on a loaded 2-core machine).
// Plain JavaScript (no tsx), so `npm test` needs nothing but node to start it; zx runs the test process.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { $ } from 'zx';

const root = new URL('..', import.meta.url).pathname;
const roots = [
  'testkit',
  'server/test',
  'slo',
  'loadtests',
  'pipeline',
  'scripts',
  'actions',
  'base',
  'overlays',
  'bench',
  'examples',
];
const skipDirs = new Set(['node_modules', 'dist', '.git']);

function usage() {
  return [
    'usage: node scripts/run-tests.mjs [path-substring ...]',
    '  runs the *.test.ts files whose path contains one of the substrings (all when none is given)',
    'env: TEST_CONCURRENCY (default 2), TEST_TIMEOUT_MS per file (default 1500000)',
  ].join('\n');
}

/** Filters from the command line; concurrency and timeout from the environment (no flags for them). */
function parseArgs(argv, env) {
  if (argv.includes('-h') || argv.includes('--help')) return { help: true };
  return {
    help: false,
    filters: argv,
    concurrency: env.TEST_CONCURRENCY ?? '2',
    timeoutMs: env.TEST_TIMEOUT_MS ?? '1500000',
  };
}

function findTests(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (skipDirs.has(name)) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) findTests(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2), process.env);
  if (opts.help) {
    console.log(usage());
    return 0;
  }
  const files = roots
    .flatMap((r) => findTests(join(root, r), []))
    .filter((f) => opts.filters.length === 0 || opts.filters.some((s) => f.includes(s)))
    .sort();
  if (files.length === 0) {
    console.error(`no test files match ${opts.filters.join(' ') || '(all)'}`);
    return 1;
  }
  const args = [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${opts.concurrency}`,
    `--test-timeout=${opts.timeoutMs}`,
    // node's default reporter (spec on a terminal, tap otherwise), then each file's wall time.
    `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'scripts/lib/test-timings.mjs')}`,
    '--test-reporter-destination=stdout',
    ...files,
  ];
  // nothrow: a failing test run is this script's exit code, not an exception.
  const out = await $({
    cwd: root,
    stdio: 'inherit',
    nothrow: true,
    quiet: true,
    verbose: false,
  })`${process.execPath} ${args}`;
  return out.exitCode ?? (out.signal ? 1 : 0);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
