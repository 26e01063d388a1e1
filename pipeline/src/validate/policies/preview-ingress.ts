// Previews on their own ingress controller (issue 13, item 9): a preview's Ingress comes and goes with
// every pull request, and each change reloads the controller that serves it. The preview overlay must
// therefore route through a class (or Gateway) that staging and production do not use.
import { get } from '../workloads.js';
import type { K8sObject, Problem } from '../types.js';

/** The overlays whose clients keep long WebSockets open: a preview must never share their controller. */
export const longLivedOverlays = ['overlays/staging', 'overlays/production'] as const;

/** Ingress classes and Gateway parents the objects route through, e.g. `Ingress:nginx`, `Gateway:public`. */
export function routedThrough(objects: K8sObject[]): Set<string> {
  const out = new Set<string>();
  for (const o of objects) {
    if (o.kind === 'Ingress') {
      const cls = get(o, 'spec', 'ingressClassName');
      // No class means the cluster's default class: the shared controller.
      out.add(`Ingress:${typeof cls === 'string' ? cls : '(default class)'}`);
    }
    if (o.kind === 'HTTPRoute') {
      const parents = (get(o, 'spec', 'parentRefs') as Array<{ name?: string; namespace?: string }>) ?? [];
      for (const p of parents) out.add(`Gateway:${p.namespace ?? '(own namespace)'}/${p.name ?? ''}`);
    }
  }
  return out;
}

/**
 * `rendered`: overlay dir -> objects. A problem for every class or Gateway the preview overlay shares
 * with a long-lived overlay, and one when the preview routes through nothing this check can see.
 */
export function checkPreviewIngress(rendered: Map<string, K8sObject[]>): Problem[] {
  const preview = rendered.get('overlays/preview');
  if (!preview) return [];
  const mine = routedThrough(preview);
  const report = (field: string, message: string): Problem => ({
    target: 'overlays/preview',
    object: 'Ingress/switchboard',
    field,
    message,
    check: 'preview-ingress',
  });
  if (mine.size === 0)
    return [report('spec.ingressClassName', 'the preview renders no Ingress or HTTPRoute')];
  const out: Problem[] = [];
  for (const overlay of longLivedOverlays) {
    const theirs = routedThrough(rendered.get(overlay) ?? []);
    for (const shared of mine) {
      if (theirs.has(shared)) {
        out.push(
          report(
            'spec.ingressClassName',
            `${shared} is also what ${overlay} routes through: every preview change would reload the controller ` +
              `carrying its WebSockets; give previews their own class (docs/kubernetes.md, "Preview ingress")`,
          ),
        );
      }
    }
  }
  return out;
}
