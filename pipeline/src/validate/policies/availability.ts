// Availability policies: a PodDisruptionBudget for every workload that can run more than one pod,
// and a termination grace period long enough for preStop plus the server's drain window.
import {
  get,
  labelSelectorMatches,
  podTemplates,
  type ContainerSpec,
  type PodTemplate,
} from '../workloads.js';
import { problem, type K8sObject, type Policy, type Problem, type TargetContext } from '../types.js';

/** Kinds that set a workload's replicas: the HPA, and KEDA's ScaledObject (which owns its own HPA). */
export const autoscalerKinds = new Set(['HorizontalPodAutoscaler', 'ScaledObject']);

/** The most pods a workload can run: spec.replicas, or the maximum of an autoscaler scaling it. */
export function replicaCeiling(ctx: TargetContext, pod: PodTemplate): number {
  const scaler = ctx.objects.find(
    (o) =>
      autoscalerKinds.has(o.kind) &&
      get(o, 'spec', 'scaleTargetRef', 'kind') === pod.owner.kind &&
      get(o, 'spec', 'scaleTargetRef', 'name') === pod.owner.metadata.name,
  );
  // An HPA's maxReplicas; a KEDA ScaledObject's maxReplicaCount (KEDA's own default is 100).
  const max =
    scaler?.kind === 'ScaledObject'
      ? (get(scaler, 'spec', 'maxReplicaCount') ?? 100)
      : get(scaler, 'spec', 'maxReplicas');
  if (typeof max === 'number') return max;
  return pod.replicas ?? 1;
}

export const pdbPolicy: Policy = {
  name: 'pod-disruption-budget',
  description:
    'Every workload that can run more than one pod has a PodDisruptionBudget selecting its pods that still ' +
    'lets a node drain evict one of them.',
  check(ctx) {
    const out: Problem[] = [];
    const pdbs = ctx.objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const pod of podTemplates(ctx.objects)) {
      if (!pod.longRunning) continue;
      const ceiling = replicaCeiling(ctx, pod);
      if (ceiling < 2) continue;
      const pdb = pdbs.find((p) => labelSelectorMatches(get(p, 'spec', 'selector'), pod.labels));
      if (!pdb) {
        out.push(
          problem(
            ctx,
            'pod-disruption-budget',
            pod.owner,
            'spec.template.metadata.labels',
            `up to ${ceiling} replicas but no PodDisruptionBudget selects these pods: add one (e.g. maxUnavailable: 1)`,
          ),
        );
        continue;
      }
      const maxUnavailable = get(pdb, 'spec', 'maxUnavailable');
      const minAvailable = get(pdb, 'spec', 'minAvailable');
      if (maxUnavailable === 0 || maxUnavailable === '0%' || minAvailable === '100%') {
        const field = maxUnavailable !== undefined ? 'spec.maxUnavailable' : 'spec.minAvailable';
        out.push(
          problem(
            ctx,
            'pod-disruption-budget',
            pdb,
            field,
            'allows no eviction at all: node drains would hang',
          ),
        );
      }
    }
    for (const pdb of pdbs) {
      if (
        !podTemplates(ctx.objects).some((p) => labelSelectorMatches(get(pdb, 'spec', 'selector'), p.labels))
      ) {
        out.push(
          problem(ctx, 'pod-disruption-budget', pdb, 'spec.selector', 'selects no pod in this render'),
        );
      }
    }
    return out;
  },
};

/** DRAIN_WINDOW_MS as the container would see it: env value, or a key of an envFrom ConfigMap. */
function drainWindowMs(objects: K8sObject[], c: ContainerSpec): number | undefined {
  const direct = (c.env ?? []).find((e) => e.name === 'DRAIN_WINDOW_MS');
  if (direct?.value !== undefined) return Number(direct.value);
  const ref = direct?.valueFrom?.configMapKeyRef;
  const configMaps = objects.filter((o) => o.kind === 'ConfigMap');
  if (ref) {
    const cm = configMaps.find((o) => o.metadata.name === ref.name);
    const v = get(cm, 'data', ref.key ?? '');
    return typeof v === 'string' ? Number(v) : undefined;
  }
  for (const src of c.envFrom ?? []) {
    const cm = configMaps.find((o) => o.metadata.name === src.configMapRef?.name);
    const v = get(cm, 'data', 'DRAIN_WINDOW_MS');
    if (typeof v === 'string') return Number(v);
  }
  return undefined;
}

/** The server's default drain window (server/src/config.ts), used when nothing sets it. */
export const defaultDrainWindowMs = 30_000;

function preStopSeconds(c: ContainerSpec): number {
  const sleep = c.lifecycle?.preStop?.sleep?.seconds;
  if (typeof sleep === 'number') return sleep;
  const cmd = c.lifecycle?.preStop?.exec?.command ?? [];
  const m = /\bsleep\s+(\d+)/.exec(cmd.join(' '));
  return m ? Number(m[1]) : 0;
}

function isServer(c: ContainerSpec, drain: number | undefined): boolean {
  return drain !== undefined || /(^|\/)switchboard\/server([:@]|$)/.test(c.image ?? '');
}

export const gracePeriodPolicy: Policy = {
  name: 'grace-period',
  description:
    'A server pod is given longer to stop than its preStop sleep plus DRAIN_WINDOW_MS, so the drain finishes ' +
    'before the kubelet sends SIGKILL.',
  check(ctx) {
    const out: Problem[] = [];
    for (const pod of podTemplates(ctx.objects)) {
      if (!pod.longRunning) continue;
      const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
      for (const c of pod.spec.containers ?? []) {
        const configured = drainWindowMs(ctx.objects, c);
        if (!isServer(c, configured)) continue;
        const drainMs = configured ?? defaultDrainWindowMs;
        if (!Number.isFinite(drainMs)) {
          out.push(
            problem(
              ctx,
              'grace-period',
              pod.owner,
              `${pod.specPath}.containers[${c.name}].env`,
              'DRAIN_WINDOW_MS is not a number',
            ),
          );
          continue;
        }
        const needed = preStopSeconds(c) + drainMs / 1000;
        if (grace <= needed) {
          out.push(
            problem(
              ctx,
              'grace-period',
              pod.owner,
              `${pod.specPath}.terminationGracePeriodSeconds`,
              `${grace} s must exceed preStop ${preStopSeconds(c)} s + DRAIN_WINDOW_MS ${drainMs / 1000} s = ${needed} s`,
            ),
          );
        }
      }
    }
    return out;
  },
};
