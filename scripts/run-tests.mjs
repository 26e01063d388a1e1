#!/usr/bin/env node
// Runs every workspace's tests in one `node --test` run, so there is one summary line.
// Usage: node scripts/run-tests.mjs [path-substring ...]   (filters test files)
// Env: TEST_CONCURRENCY (default 2), TEST_TIMEOUT_MS per file (default 900000: the rehearsal file takes about 10 min on a loaded 2-core machine).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = [
  'testkit',
  'server/test',
  'slo',
  'loadtests',
  'scripts',
  'actions',
  'base',
  'overlays',
  'bench',
  'examples',
];
const skipDirs = new Set(['node_modules', 'dist', '.git']);

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

const filters = process.argv.slice(2);
const files = roots
  .flatMap((r) => findTests(join(root, r), []))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}
const args = [
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`,
  `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? '900000'}`,
  ...files,
];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
