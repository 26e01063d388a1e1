// The preview's image override must name the image overlays/preview's Deployment runs (issue 13,
// item 3): Argo CD's `old=new:tag` override of a name the overlay does not use changes nothing, and
// the preview keeps the overlay's placeholder tag (ImagePullBackOff).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { get } from '../workloads.js';
import type { K8sObject, Problem } from '../types.js';
import { inlineCalls } from '../workflow-calls.js';

interface StepDoc {
  uses?: string;
  with?: Record<string, unknown>;
}

/** The image name preview-env replaces, per workflow step: its `manifest-image` (or the action's default). */
export function previewOverrides(
  workflows: Map<string, string>,
  root: string,
): { where: string; image: string }[] {
  const actionFile = join(root, 'actions/preview-env/action.yml');
  const action = existsSync(actionFile)
    ? (parse(readFileSync(actionFile, 'utf8')) as { inputs?: Record<string, { default?: unknown }> })
    : {};
  const fallback = action.inputs?.['manifest-image']?.default;
  const out: { where: string; image: string }[] = [];
  for (const [file, text] of inlineCalls(workflows)) {
    const wf = (parse(text) ?? {}) as { jobs?: Record<string, { steps?: StepDoc[] }> };
    for (const [job, j] of Object.entries(wf.jobs ?? {})) {
      for (const step of j.steps ?? []) {
        if (step.uses !== './actions/preview-env') continue;
        // Before manifest-image existed, the override was named after `image` (where images are pushed).
        const image = step.with?.['manifest-image'] ?? fallback ?? step.with?.image;
        out.push({ where: `${file} job ${job}`, image: String(image ?? '') });
      }
    }
  }
  return out;
}

/** Image names (without tag or digest) of the containers of Deployment/switchboard. */
function serverImages(objects: K8sObject[]): string[] {
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'switchboard');
  const containers =
    (get(deployment, 'spec', 'template', 'spec', 'containers') as { image?: string }[]) ?? [];
  return containers.map((c) => (c.image ?? '').replace(/@sha256:[0-9a-f]+$/, '').replace(/:[^:/]+$/, ''));
}

/** A problem for every preview-env step whose override names no image overlays/preview's server runs. */
export function checkPreviewImage(
  rendered: Map<string, K8sObject[]>,
  overrides: { where: string; image: string }[],
): Problem[] {
  const preview = rendered.get('overlays/preview');
  if (!preview) return [];
  const images = serverImages(preview);
  return overrides
    .filter((o) => !images.includes(o.image))
    .map((o) => ({
      target: 'overlays/preview',
      object: 'Deployment/switchboard',
      field: 'spec.template.spec.containers[server].image',
      message:
        `${o.where}: preview-env replaces "${o.image}", but the preview's server runs ${images.join(', ') || 'no image'}: ` +
        'the override would change nothing (set manifest-image to the name the overlay uses)',
      check: 'preview-image',
    }));
}
