// NetworkPolicy coverage: a default deny, an explicit allow-list for every pod, rules that name
// ports and peers, and peers that select pods that exist.
import { operatorPods } from '../operator-made.js';
import { get, labelSelectorMatches, podTemplates } from '../workloads.js';
import { problem, type K8sObject, type Policy, type Problem } from '../types.js';

interface Peer {
  podSelector?: unknown;
  namespaceSelector?: unknown;
  ipBlock?: unknown;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: unknown[];
}

function isEmptySelector(sel: unknown): boolean {
  if (sel === null || typeof sel !== 'object') return false;
  const s = sel as { matchLabels?: object; matchExpressions?: unknown[] };
  return Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0;
}

/** A policy selecting every pod, for both directions, that allows nothing. */
export function isDefaultDeny(np: K8sObject): boolean {
  const types = (get(np, 'spec', 'policyTypes') as string[] | undefined) ?? [];
  return (
    isEmptySelector(get(np, 'spec', 'podSelector')) &&
    types.includes('Ingress') &&
    types.includes('Egress') &&
    ((get(np, 'spec', 'ingress') as unknown[] | undefined) ?? []).length === 0 &&
    ((get(np, 'spec', 'egress') as unknown[] | undefined) ?? []).length === 0
  );
}

export const networkPoliciesPolicy: Policy = {
  name: 'network-policies',
  description:
    'The namespace denies all traffic by default; every pod is selected by a policy that lists what it may ' +
    'talk to; every rule names its peers and ports; and every in-namespace peer selects pods that exist.',
  check(ctx) {
    const out: Problem[] = [];
    const operated = operatorPods(ctx.objects);
    const pods = [...podTemplates(ctx.objects), ...operated];
    const netpols = ctx.objects.filter((o) => o.kind === 'NetworkPolicy');
    if (pods.length === 0) return out;
    if (!netpols.some(isDefaultDeny)) {
      out.push(
        problem(
          ctx,
          'network-policies',
          { kind: 'NetworkPolicy', metadata: { name: '(default-deny)' } },
          'spec',
          'missing: add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] and no rules',
        ),
      );
    }
    for (const pod of pods) {
      const covered = netpols.some(
        (np) => !isDefaultDeny(np) && labelSelectorMatches(get(np, 'spec', 'podSelector'), pod.labels),
      );
      if (!covered) {
        const labelsPath =
          'specPath' in pod
            ? pod.owner.kind === 'TestRun'
              ? `${pod.specPath}.metadata.labels`
              : 'spec.template.metadata.labels'
            : 'metadata.name';
        out.push(
          problem(
            ctx,
            'network-policies',
            pod.owner,
            labelsPath,
            `no NetworkPolicy selects these pods (labels ${JSON.stringify(pod.labels)}): add one listing their traffic`,
          ),
        );
      }
    }
    for (const np of netpols) {
      for (const direction of ['ingress', 'egress'] as const) {
        const rules = (get(np, 'spec', direction) as Rule[] | undefined) ?? [];
        rules.forEach((rule, i) => {
          const peers = (direction === 'ingress' ? rule.from : rule.to) ?? [];
          const at = `spec.${direction}[${i}]`;
          if (peers.length === 0) {
            out.push(
              problem(
                ctx,
                'network-policies',
                np,
                `${at}.${direction === 'ingress' ? 'from' : 'to'}`,
                'empty: this rule allows every peer',
              ),
            );
          }
          if ((rule.ports ?? []).length === 0) {
            out.push(
              problem(ctx, 'network-policies', np, `${at}.ports`, 'empty: this rule allows every port'),
            );
          }
          peers.forEach((peer, j) => {
            if (
              peer.podSelector === undefined ||
              peer.namespaceSelector !== undefined ||
              peer.ipBlock !== undefined
            )
              return;
            if (!pods.some((p) => labelSelectorMatches(peer.podSelector, p.labels))) {
              out.push(
                problem(
                  ctx,
                  'network-policies',
                  np,
                  `${at}.${direction === 'ingress' ? 'from' : 'to'}[${j}].podSelector`,
                  'selects no pod in this render: a label typo, or a rule for a component that is not deployed',
                ),
              );
            }
          });
        });
      }
    }
    return out;
  },
};
