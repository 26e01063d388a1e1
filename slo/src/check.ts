// Fails when a committed generated file is not what slo/objectives.yaml generates:
//   1. generate every file into a temp dir
//   2. compare it, file by file, with the tree (default the repository root)
//   3. name every stale, missing or orphaned file and exit 1; exit 0 when all match
// Usage: npm run slo:check [-- --root DIR]
import { parseArgs as parseNodeArgs } from 'node:util';
import { repoRoot } from './outputs/index.js';
import { staleFiles } from './tree.js';

export function usage(): string {
  return 'usage: npm run slo:check [-- --root DIR]   (DIR defaults to the repository root)';
}

export function parseArgs(argv: string[]): { root: string; help: boolean } {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      root: { type: 'string', default: repoRoot },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return { root: values.root, help: values.help };
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const args = parseArgs(argv);
  if (args.help) {
    console.log(usage());
    return;
  }
  const problems = await staleFiles(args.root);
  if (problems.length > 0) {
    console.error(
      `SLO artefacts are out of date; run \`npm run slo:generate\` and commit:\n  ${problems.join('\n  ')}`,
    );
    process.exit(1);
  }
  console.log('SLO artefacts match slo/objectives.yaml');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
