// k6-operator TestRuns run the pinned k6 (platform/versions.yaml) and their scripts import only
// modules that k6 release has (platform/k6-modules.json, from k6's own module registry at the tag):
// a runner image without `k6/websockets` fails at the first import, after the test was scheduled.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkBundleImports, loadK6Modules, type K6Modules } from '../../platform/k6-modules.js';
import { platformRoot } from '../../platform/root.js';
import { loadPlatform } from '../../platform/versions.js';
import { get } from '../workloads.js';
import { problem, type K8sObject, type Policy, type Problem, type TargetContext } from '../types.js';

/** The pinned k6: its runner image, version and module list. */
export interface PinnedK6Modules {
  image: string;
  version: string;
  modules: K6Modules;
}

let cached: PinnedK6Modules | undefined;

/** The repository's pinned k6 (read once). */
export function pinnedK6(root = platformRoot): PinnedK6Modules {
  if (root !== platformRoot) return read(root);
  cached ??= read(root);
  return cached;
}

function read(root: string): PinnedK6Modules {
  const { k6 } = loadPlatform(root);
  const modules = loadK6Modules(root);
  if (modules.source.tag !== k6.tag) {
    throw new Error(
      `platform/k6-modules.json is from ${modules.source.tag}, versions.yaml pins ${k6.tag}: run npm run platform:extract`,
    );
  }
  return { image: k6.image, version: k6.version, modules };
}

/** Problems of every TestRun in `ctx` against `pinned`. */
export function checkTestRuns(ctx: TargetContext, pinned: PinnedK6Modules = pinnedK6()): Problem[] {
  const out: Problem[] = [];
  const configMaps = new Map<string, K8sObject>();
  for (const o of ctx.objects) if (o.kind === 'ConfigMap') configMaps.set(o.metadata.name, o);
  for (const run of ctx.objects.filter((o) => o.kind === 'TestRun')) {
    const image = get(run, 'spec', 'runner', 'image');
    if (image !== pinned.image) {
      out.push(
        problem(
          ctx,
          'k6',
          run,
          'spec.runner.image',
          `runs ${String(image)}; the pinned k6 is ${pinned.image} (platform/versions.yaml)`,
        ),
      );
    }
    const name = get(run, 'spec', 'script', 'configMap', 'name');
    const file = get(run, 'spec', 'script', 'configMap', 'file');
    const cm = typeof name === 'string' ? configMaps.get(name) : undefined;
    const script = typeof file === 'string' ? get(cm, 'data', file) : undefined;
    if (typeof script !== 'string') continue; // created at run time (k6-loadtest): checked as a bundle
    for (const p of checkBundleImports(String(file), script, pinned.modules, pinned.version)) {
      out.push(
        problem(
          ctx,
          'k6',
          run,
          `spec.script.configMap(${String(file)})`,
          `imports ${p.specifier}: ${p.message}`,
        ),
      );
    }
  }
  return out;
}

/** Import problems of every bundle in `dir` (the k6-loadtest action runs these, locally and in TestRuns). */
export function checkBundleDir(dir: string, pinned: PinnedK6Modules = pinnedK6()): Problem[] {
  const out: Problem[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.js'))
    .sort()) {
    const source = readFileSync(join(dir, f), 'utf8');
    for (const p of checkBundleImports(f, source, pinned.modules, pinned.version)) {
      out.push({ target: dir, object: f, field: `import ${p.specifier}`, message: p.message, check: 'k6' });
    }
  }
  return out;
}

export const k6Policy: Policy = {
  name: 'k6',
  description:
    'TestRuns run the pinned k6 image and their scripts import only modules that k6 release has (platform/k6-modules.json)',
  check: (ctx) => checkTestRuns(ctx),
};
