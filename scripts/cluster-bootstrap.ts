#!/usr/bin/env -S npx tsx
// Installs the pinned platform (platform/versions.yaml) on the cluster of kubectl's current context:
//   1. reads platform/versions.yaml and builds the install (pipeline/src/platform/bootstrap.ts)
//   2. --dry-run: prints it as a shell script and stops; nothing else runs
//   3. otherwise: checks kubectl and helm are on PATH and names the current context, then runs each
//      command in order (server-side apply / helm upgrade --install: running it again converges)
//      and stops at the first that fails, naming the component
import { fileURLToPath } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import {
  bootstrapOrder,
  bootstrapPlan,
  commandText,
  planText,
  type BootstrapCommand,
} from '../pipeline/src/platform/bootstrap.js';
import { loadPlatform } from '../pipeline/src/platform/versions.js';
import { $, tail } from './lib/zx.js';

const usage = `Usage: npm run cluster:bootstrap -- [--dry-run] [--skip <component>[,<component>...]]

Installs every component of platform/versions.yaml at its pinned version on the cluster of
kubectl's current context (kubectl config current-context), with kubectl and helm.

  --dry-run        print the commands, run nothing
  --skip <names>   leave components out (${bootstrapOrder.join(', ')})
  -h, --help       this text`;

interface Args {
  dryRun: boolean;
  skip: string[];
}

function parseArgs(argv: string[]): Args {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      'dry-run': { type: 'boolean', default: false },
      skip: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const skip = (values.skip ?? []).flatMap((s) => s.split(',')).map((s) => s.trim());
  return { dryRun: values['dry-run'] ?? false, skip: skip.filter(Boolean) };
}

/** Runs one command with its output on the terminal; resolves with its exit code. */
async function run(command: BootstrapCommand): Promise<number> {
  const step$ = $({
    nothrow: true,
    stdio: [command.stdin === undefined ? 'ignore' : 'pipe', 'inherit', 'inherit'],
    ...(command.stdin === undefined ? {} : { input: command.stdin }),
  });
  const out = await step$`${command.argv}`;
  if (out.exitCode === 127) throw new Error(`${command.argv[0]} is not on PATH: install it first`);
  return out.exitCode ?? 1;
}

/** The current context's name, or an error saying how to choose one. */
async function currentContext(): Promise<string> {
  const out = await $({ nothrow: true })`kubectl config current-context`;
  if (out.exitCode === 127) throw new Error('kubectl is not on PATH: install it first');
  if (out.ok && out.stdout.trim()) return out.stdout.trim();
  throw new Error(
    `no current kubectl context (kubectl config current-context exited ${out.exitCode}: ${tail(out.stderr, 3)}): kubectl config use-context <name>`,
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = fileURLToPath(new URL('..', import.meta.url));
  const steps = bootstrapPlan(loadPlatform(root), args.skip);
  if (args.dryRun) {
    process.stdout.write(planText(steps));
    return;
  }
  const context = await currentContext();
  if ((await run({ argv: ['helm', 'version', '--short'] })) !== 0) throw new Error('helm version failed');
  console.log(`cluster:bootstrap: installing ${steps.length} component(s) on context "${context}"`);
  for (const step of steps) {
    console.log(`\n# ${step.component} ${step.version}: ${step.purpose}`);
    for (const command of step.commands) {
      console.log(`$ ${commandText(command)}`);
      const code = await run(command);
      if (code !== 0) {
        throw new Error(
          `${step.component} ${step.version}: ${command.argv[0]} exited ${code}; fix it and run cluster:bootstrap again (it converges)`,
        );
      }
    }
  }
  console.log(`\ncluster:bootstrap: ${steps.map((s) => `${s.component} ${s.version}`).join(', ')} installed`);
}

main().catch((e: unknown) => {
  console.error(`cluster:bootstrap: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
