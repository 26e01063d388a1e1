#!/usr/bin/env -S npx tsx
// Validates the Kubernetes manifests the way a reviewer would, for every overlay:
//   1. writes the git-ignored dev secret or its missing keys (scripts/gen-dev-secrets.sh; overlays/local uses it)
//   2. renders each target with `kubectl kustomize` (overlays/*, base/loadtest in staging, argocd)
//   3. validates every object against its schema (kubernetes-models, @kubernetes-models/*, the k6
//      TestRun CRD) and reports fields the schema does not declare
//   4. applies the review policies (pipeline/src/validate/policies) and the Argo CD least-privilege check
//      and compares the files and the renders with switchboard.config.yaml (docs/adopting.md)
//   5. prints one line per problem (target, object, field, what to do) and exits 1 if there is any
import { parseArgs as parseNodeArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  formatProblem,
  policies,
  renderTargets,
  validateRepository,
} from '../pipeline/src/validate/index.js';
// Not part of pipeline/src/validate, whose policies the render-manifests action bundles: the action validates
// a render, this compares the whole checkout with switchboard.config.yaml.
import { checkAdopterConfig } from '../pipeline/src/configure/agreement.js';
import { zxRunner } from './lib/zx.js';

const usage = `Usage: npm run validate [-- --target <name>]... [--list]

  --target <name>  validate only targets whose name contains <name> (repeatable), e.g. production
  --list           print the targets and the policies, then exit
  -h, --help       this text`;

interface Args {
  targets: string[];
  list: boolean;
}

function parseArgs(argv: string[]): Args {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      target: { type: 'string', multiple: true },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return { targets: values.target ?? [], list: values.list ?? false };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (args.list) {
    for (const t of renderTargets)
      console.log(`target  ${t.name}${t.requireDigests ? '  (digests required)' : ''}`);
    for (const p of policies) console.log(`policy  ${p.name}: ${p.description}`);
    return;
  }
  const targets = renderTargets.filter(
    (t) => args.targets.length === 0 || args.targets.some((s) => t.name.includes(s)),
  );
  if (targets.length === 0) throw new Error(`no target matches ${args.targets.join(', ')}; see --list`);
  const started = Date.now();
  const { problems, counts, rendered } = await validateRepository(root, zxRunner, targets);
  problems.push(...checkAdopterConfig(root, rendered));
  for (const [name, n] of counts) {
    const mine = problems.filter((p) => p.target === name).length;
    console.log(`${mine === 0 ? 'ok  ' : 'FAIL'}  ${name}: ${n} objects, ${mine} problems`);
  }
  for (const p of problems) console.error(formatProblem(p));
  console.log(
    `validate: ${problems.length} problems in ${targets.length} targets (${Date.now() - started} ms)`,
  );
  if (problems.length > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
