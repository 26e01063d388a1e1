#!/usr/bin/env -S npx tsx
// Applies switchboard.config.yaml (what differs between teams) to the checkout:
//   1. reads and validates the file (a list of problems, each naming the field and the fix)
//   2. computes every field it sets in argocd/, base/, overlays/ and .github/workflows/
//   3. writes the files that differ, or with --check only lists them and exits 1 if any does
import { parseArgs as parseNodeArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { configFile, loadAdopterConfig } from '../pipeline/src/configure/config.js';
import { planConfigure, writePlan } from '../pipeline/src/configure/apply.js';

const usage = `Usage: npm run configure [-- --check] [--config <file>] [--root <dir>]

  --check          change nothing; list each field that differs from the file, exit 1 if any does
  --config <file>  the settings (default <root>/${configFile})
  --root <dir>     the checkout to configure (default this repository)
  -h, --help       this text`;

interface Args {
  check: boolean;
  root: string;
  config: string;
}

function parseArgs(argv: string[]): Args {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      check: { type: 'boolean', default: false },
      config: { type: 'string' },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const root = resolve(values.root ?? fileURLToPath(new URL('..', import.meta.url)));
  return { check: values.check ?? false, root, config: resolve(values.config ?? join(root, configFile)) };
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const config = loadAdopterConfig(args.config);
  const plan = planConfigure(args.root, config);
  for (const c of plan.changes) {
    const verb = args.check ? 'differs' : 'set';
    console.log(`${verb}  ${c.file}  ${c.field}: ${c.from} -> ${c.to}`);
  }
  if (args.check) {
    if (plan.changes.length > 0) {
      console.error(
        `configure: ${plan.changes.length} fields in ${plan.files.size} files differ from ${configFile}: run npm run configure`,
      );
      process.exitCode = 1;
    } else console.log(`configure: every file agrees with ${configFile}`);
    return;
  }
  writePlan(args.root, plan);
  console.log(`configure: ${plan.changes.length} fields in ${plan.files.size} files set from ${configFile}`);
}

try {
  main();
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
