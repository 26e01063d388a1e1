/**
 * Validates a directory of rendered manifests with the project's validation library (scripts/lib/validate:
 * schemas, unknown fields, review policies) and prints `{ "objects": n, "problems": [...] }` as JSON.
 * render-manifests runs it with the checkout's own dependencies (`node --import tsx`), because the
 * validation loads model packages at run time and cannot be bundled into the action.
 *   usage: node --import tsx actions/render-manifests/src/validate-rendered.ts --target <name> [--require-digests] <dir>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseManifests, validateObjects, type K8sObject } from '../../../scripts/lib/validate/index.js';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { target: { type: 'string' }, 'require-digests': { type: 'boolean', default: false } },
  });
  const dir = positionals[0];
  if (!dir || !values.target)
    throw new Error('usage: validate-rendered --target <name> [--require-digests] <dir>');
  const objects: K8sObject[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    objects.push(...parseManifests(readFileSync(join(dir, file), 'utf8'), file));
  }
  const problems = await validateObjects({
    target: values.target,
    objects,
    requireDigests: values['require-digests'] ?? false,
  });
  process.stdout.write(`${JSON.stringify({ objects: objects.length, problems })}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
