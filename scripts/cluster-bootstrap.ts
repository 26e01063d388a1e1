#!/usr/bin/env -S npx tsx
// Installs the pinned platform (platform/versions.yaml) on the cluster of kubectl's current context:
//   1. reads platform/versions.yaml and builds the install (scripts/lib/platform/bootstrap.ts)
//   2. --dry-run: prints it as a shell script and stops; nothing else runs
//   3. otherwise: checks kubectl and helm are on PATH and names the current context, then runs each
//      command in order (server-side apply / helm upgrade --install: running it again converges)
//      and stops at the first that fails, naming the component
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import {
  bootstrapOrder,
  bootstrapPlan,
  commandText,
  planText,
  type BootstrapCommand,
} from './lib/platform/bootstrap.js';
import { loadPlatform } from './lib/platform/versions.js';

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
function run(command: BootstrapCommand): Promise<number> {
  const [file = '', ...args] = command.argv;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [command.stdin === undefined ? 'ignore' : 'pipe', 'inherit', 'inherit'],
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'ENOENT' ? `${file} is not on PATH: install it first` : e.message)),
    );
    child.on('close', (code) => resolve(code ?? 1));
    if (command.stdin !== undefined) child.stdin?.end(command.stdin);
  });
}

/** The current context's name, or an error saying how to choose one. */
function currentContext(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['config', 'current-context'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'ENOENT' ? 'kubectl is not on PATH: install it first' : e.message)),
    );
    child.on('close', (code) =>
      code === 0 && out.trim()
        ? resolve(out.trim())
        : reject(new Error(`no current kubectl context (${err.trim()}): kubectl config use-context <name>`)),
    );
  });
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
