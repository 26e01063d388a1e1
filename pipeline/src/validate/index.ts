// Validates every render target of the repository: kustomize build, schema + unknown fields,
// review policies, and Argo CD least privilege against what the overlays render.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkArgoCd, checkBundleDir, policies } from './policies/index.js';
import { checkDashboards, dashboardsTarget } from './policies/dashboards.js';
import { checkApplicationSources, readWorkflows, renderWrites } from './policies/application-sources.js';
import { checkPreviewIngress } from './policies/preview-ingress.js';
import { checkPreviewImage, previewOverrides } from './policies/preview-image.js';
import { renderObjects } from './render.js';
import { runChecked, type Runner } from '../runner.js';
import { validateSchemas } from './schema.js';
import { formatProblem, objectId, type K8sObject, type Problem, type TargetContext } from './types.js';

export type { K8sObject, Policy, Problem, TargetContext } from './types.js';
export { formatProblem, objectId } from './types.js';
export { renderObjects, parseManifests, RenderError } from './render.js';
export { validateSchemas, validateObjectSchema } from './schema.js';
export { findUnknownFields, traceValidation, formatPath } from './unknown-fields.js';
export * from './policies/index.js';
export { checkDashboards, dashboardsTarget } from './policies/dashboards.js';
export { checkApplicationSources, readWorkflows, renderWrites } from './policies/application-sources.js';
export type { RenderWrite } from './policies/application-sources.js';
export { checkPreviewIngress, routedThrough } from './policies/preview-ingress.js';
export { checkPreviewImage, previewOverrides } from './policies/preview-image.js';

/** One thing `npm run validate` renders and checks. */
export interface RenderTarget {
  /** Kustomization directories rendered together (relative to the repo root). */
  dirs: string[];
  /** The name problems are reported under. */
  name: string;
  requireDigests: boolean;
  /** False when kubectl, not Argo CD, applies it (default true). */
  argoCd?: boolean;
  /** Report only problems of objects from the last dir (the others are context). */
  onlyLast?: boolean;
}

/** What `npm run validate` checks, in order. */
export const renderTargets: RenderTarget[] = [
  { name: 'overlays/local', dirs: ['overlays/local'], requireDigests: false, argoCd: false },
  { name: 'overlays/dev', dirs: ['overlays/dev'], requireDigests: false },
  { name: 'overlays/preview', dirs: ['overlays/preview'], requireDigests: false },
  { name: 'overlays/staging', dirs: ['overlays/staging'], requireDigests: true },
  { name: 'overlays/production', dirs: ['overlays/production'], requireDigests: true },
  // Production while a canary runs: the canary step keeps this render's canary objects (canary.ts).
  { name: 'overlays/production-canary', dirs: ['overlays/production-canary'], requireDigests: true },
  // The load test runs in the staging namespace, next to everything staging deploys.
  {
    name: 'base/loadtest (in staging)',
    dirs: ['overlays/staging', 'base/loadtest'],
    requireDigests: true,
    onlyLast: true,
    // Applied on demand by the load-test workflow (kubectl), not synced by Argo CD.
    argoCd: false,
  },
  // Once per cluster (argocd/application-dashboards.yaml), not per environment.
  { name: dashboardsTarget, dirs: [dashboardsTarget], requireDigests: false },
  // The cluster's Gateway for the default edge (platform, once per cluster).
  { name: 'base/edge/gateway', dirs: ['base/edge/gateway'], requireDigests: false, argoCd: false },
  { name: 'argocd', dirs: ['argocd'], requireDigests: false },
];

/** Problems of one already-rendered target: schemas and every policy. */
export async function validateObjects(ctx: TargetContext): Promise<Problem[]> {
  const out = await validateSchemas(ctx);
  for (const policy of policies) out.push(...policy.check(ctx));
  return out;
}

/**
 * The git-ignored dev secret that overlays/local needs; scripts/gen-dev-secrets.sh writes it and adds
 * keys an older file lacks (REDIS_PASSWORD), keeping existing values, so it runs every time.
 */
export async function ensureDevSecrets(root: string, runner: Runner): Promise<void> {
  await runChecked(runner, 'bash', [join(root, 'scripts/gen-dev-secrets.sh')], { cwd: root });
}

export interface ValidationReport {
  problems: Problem[];
  /** Objects rendered per target name. */
  counts: Map<string, number>;
  /** The rendered objects per target name (a target that did not render is absent). */
  rendered: Map<string, K8sObject[]>;
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Renders (through `runner`: scripts pass zxRunner) and validates every target under `root`. Render
 * failures are reported as problems.
 */
export async function validateRepository(
  root: string,
  runner: Runner,
  targets = renderTargets,
): Promise<ValidationReport> {
  await ensureDevSecrets(root, runner);
  // Each directory is rendered once, even when several targets include it.
  const cache = new Map<string, Promise<K8sObject[]>>();
  const render = (dir: string) => {
    let p = cache.get(dir);
    if (!p) cache.set(dir, (p = renderObjects(dir, root, runner)));
    return p.then((objects) => structuredClone(objects));
  };
  const renders = await Promise.all(
    targets.map(async (t) => {
      try {
        const parts = await Promise.all(t.dirs.map(render));
        return { target: t, parts };
      } catch (err) {
        return { target: t, error: err as Error };
      }
    }),
  );
  const problems: Problem[] = [];
  const counts = new Map<string, number>();
  const byDir = new Map<string, K8sObject[]>();
  for (const r of renders) {
    if (r.error || !r.parts) {
      problems.push({
        target: r.target.name,
        object: '(render)',
        field: '-',
        message: r.error?.message ?? '',
        check: 'render',
      });
      continue;
    }
    if (r.target.dirs.length === 1) byDir.set(r.target.dirs[0] ?? '', r.parts[0] ?? []);
    let objects = r.parts.flat();
    let mine = new Set(objects.map(objectId));
    if (r.target.onlyLast) {
      // The later dir is applied into the earlier one's namespace.
      const ns = r.parts[0]?.find((o) => o.metadata.namespace)?.metadata.namespace;
      const last = (r.parts.at(-1) ?? []).map((o) => ({
        ...o,
        metadata: { ...o.metadata, namespace: o.metadata.namespace ?? ns },
      }));
      objects = [...r.parts.slice(0, -1).flat(), ...last];
      mine = new Set(last.map(objectId));
    }
    counts.set(r.target.name, r.target.onlyLast ? mine.size : objects.length);
    const ctx: TargetContext = {
      target: r.target.name,
      objects,
      requireDigests: r.target.requireDigests,
      argoCd: r.target.argoCd ?? true,
    };
    const found = await validateObjects(ctx);
    problems.push(...found.filter((p) => mine.has(p.object)));
  }
  const byTarget = new Map<string, K8sObject[]>();
  for (const r of renders)
    if (r.parts) byTarget.set(r.target.name, (r.target.onlyLast ? r.parts.at(-1) : r.parts.flat()) ?? []);
  problems.push(...checkDashboards(byTarget));
  const argo = renders.find((r) => r.target.name === 'argocd' && r.parts);
  if (argo?.parts) {
    problems.push(
      ...checkArgoCd({ target: 'argocd', objects: argo.parts[0] ?? [], requireDigests: false }, byDir),
      ...checkApplicationSources(argo.parts[0] ?? [], renderWrites(readWorkflows(root)), root),
    );
  }
  problems.push(...checkPreviewIngress(byDir));
  problems.push(...checkPreviewImage(byDir, previewOverrides(readWorkflows(root), root)));
  // The k6 bundles the load-test action runs (locally and as TestRun scripts) against the pinned k6.
  const bundles = 'base/loadtest/generated';
  problems.push(...checkBundleDir(join(root, bundles)).map((p) => ({ ...p, target: bundles })));
  counts.set(bundles, readdirSync(join(root, bundles)).filter((f) => f.endsWith('.js')).length);
  return { problems: dedupe(problems), counts, rendered: byTarget };
}
