#!/usr/bin/env -S npx tsx
// Mutation testing of the pure core (StrykerJS with its TAP runner for node:test):
//   1. for each folder of scripts/lib/mutation/folders.ts (or those named), runs Stryker over its
//      files with the folder's fast unit tests; incremental: mutants of unchanged code and tests keep
//      their last result (reports/mutation/<folder>.incremental.json, git-ignored)
//   2. writes the folder's counts, run time and undetected mutants to reports/mutation/<folder>.json
//   3. writes docs/mutation-report.md from every folder's record and prints the score per folder
//   exits 1 if a folder run here scores under the target.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import { Stryker } from '@stryker-mutator/core';
import { format, resolveConfig } from 'prettier';
import { mutationFolders, type MutationFolder } from './lib/mutation/folders.js';
import { renderReport, score, summarise, total, type FolderRecord } from './lib/mutation/summary.js';

const usage = `Usage: npm run mutate [-- <folder>...] [--force] [--concurrency <n>]

  <folder>           run only folders whose name contains this text (default: every folder)
  --force            re-test every mutant (default: incremental, only what changed since the last run)
  --concurrency <n>  test processes in parallel (default 2; the machine is shared)
  --list             print the folders and their test files, then exit
  -h, --help         this text`;

/** Percent of mutants detected that every folder must reach. */
const TARGET = 80;
const root = fileURLToPath(new URL('..', import.meta.url));
const reportDir = join(root, 'reports', 'mutation');

interface Args {
  filters: string[];
  force: boolean;
  concurrency: number;
  list: boolean;
}

function parseArgs(argv: string[]): Args {
  const { values, positionals } = parseNodeArgs({
    args: argv,
    allowPositionals: true,
    options: {
      force: { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '2' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`--concurrency must be a whole number of 1 or more, not ${values.concurrency}`);
  return { filters: positionals, force: values.force ?? false, concurrency, list: values.list ?? false };
}

function slug(folder: string): string {
  return folder.replace(/[^a-z0-9]+/gi, '-');
}

async function runFolder(folder: MutationFolder, args: Args): Promise<FolderRecord> {
  const incrementalFile = join(reportDir, `${slug(folder.name)}.incremental.json`);
  const incremental = !args.force && existsSync(incrementalFile);
  const started = Date.now();
  const stryker = new Stryker({
    testRunner: 'tap',
    plugins: ['@stryker-mutator/tap-runner'],
    mutate: [...folder.mutate],
    tap: {
      testFiles: [...folder.testFiles],
      // tsx loads the TypeScript tests and sources; Stryker's hook collects coverage per test file.
      nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
      forceBail: true,
    },
    coverageAnalysis: 'perTest',
    // tsx never type-checks, so no `// @ts-nocheck` is needed; Stryker's default would prepend it to
    // every .ts file of the sandbox, and the generated loadtests/lib/thresholds.generated.ts would no
    // longer be byte for byte what slo/test/unit-tree.test.ts expects.
    disableTypeChecks: false,
    concurrency: args.concurrency,
    // Generous: the machine is shared, and a slow run must not count as a killed mutant by chance.
    timeoutMS: 20_000,
    timeoutFactor: 3,
    incremental: true,
    force: args.force,
    incrementalFile: relative(root, incrementalFile),
    reporters: ['clear-text', 'progress-append-only'],
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    tempDirName: '.stryker-tmp',
    cleanTempDir: 'always',
    thresholds: { high: 90, low: TARGET, break: null },
  });
  const results = await stryker.runMutationTest();
  const runSeconds = (Date.now() - started) / 1000;
  const { files, survivors } = summarise(
    results.map((r) => ({ ...r, fileName: relative(root, resolve(root, r.fileName)) })),
  );
  return { folder: folder.name, runSeconds, incremental, files, survivors, excluded: folder.excluded };
}

function readRecords(): FolderRecord[] {
  const records: FolderRecord[] = [];
  for (const folder of mutationFolders) {
    const file = join(reportDir, `${slug(folder.name)}.json`);
    if (existsSync(file)) records.push(JSON.parse(readFileSync(file, 'utf8')) as FolderRecord);
  }
  return records;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const folders = mutationFolders.filter(
    (f) => args.filters.length === 0 || args.filters.some((s) => f.name.includes(s)),
  );
  if (args.list) {
    for (const f of mutationFolders)
      console.log(`${f.name}\n  mutate: ${f.mutate.join(' ')}\n  tests:  ${f.testFiles.join(' ')}`);
    return;
  }
  if (folders.length === 0) throw new Error(`no folder matches ${args.filters.join(', ')}; see --list`);
  process.chdir(root);
  mkdirSync(reportDir, { recursive: true });
  const below: string[] = [];
  for (const folder of folders) {
    const record = await runFolder(folder, args);
    writeFileSync(join(reportDir, `${slug(folder.name)}.json`), `${JSON.stringify(record, null, 2)}\n`);
    const s = score(total(record.files));
    if (!(s >= TARGET)) below.push(`${folder.name} (${s.toFixed(1)} %)`);
  }
  const report = renderReport(readRecords(), TARGET);
  const reportFile = join(root, 'docs', 'mutation-report.md');
  const style = (await resolveConfig(reportFile)) ?? {};
  writeFileSync(reportFile, await format(report, { ...style, filepath: reportFile }));
  for (const r of readRecords()) {
    const t = total(r.files);
    const mutants = t.killed + t.timeout + t.survived + t.noCoverage;
    console.log(
      `${score(t).toFixed(1).padStart(5)} %  ${r.folder}  (${mutants} mutants, ${Math.round(r.runSeconds)} s)`,
    );
  }
  console.log(`report: ${relative(root, reportFile)}`);
  if (below.length > 0) {
    console.error(`under ${TARGET} %: ${below.join(', ')}`);
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
