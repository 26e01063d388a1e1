// Generates every SLO artefact from slo/objectives.yaml:
//   1. read and validate the objectives (schema + PromQL selectors)
//   2. render rules, dashboards, k6 thresholds and the gate file (formatted as prettier would)
//   3. write them under the repository root (or --out) and delete files it no longer generates
// Usage: npm run slo:generate [-- --objectives FILE] [-- --out DIR]
import { join } from 'node:path';
import { parseArgs as parseNodeArgs } from 'node:util';
import { loadSloSource } from './objectives.js';
import { generatedFiles, repoRoot } from './outputs/index.js';
import { writeTree } from './tree.js';

export function usage(): string {
  return [
    'usage: npm run slo:generate [-- --objectives FILE] [-- --out DIR]',
    '  --objectives  the SLO source (default slo/objectives.yaml)',
    '  --out         the tree to write into (default the repository root)',
  ].join('\n');
}

export function parseArgs(argv: string[]): { objectives: string; out: string; help: boolean } {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      objectives: { type: 'string', default: join(repoRoot, 'slo/objectives.yaml') },
      out: { type: 'string', default: repoRoot },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return { objectives: values.objectives, out: values.out, help: values.help };
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const args = parseArgs(argv);
  if (args.help) {
    console.log(usage());
    return;
  }
  const files = await generatedFiles(loadSloSource(args.objectives));
  const removed = writeTree(args.out, files);
  for (const f of files) console.log(`wrote   ${f.path}`);
  for (const p of removed) console.log(`removed ${p} (no longer generated)`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
