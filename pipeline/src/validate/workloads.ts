// Where pods come from in a render: the pod templates of workloads (and of k6 TestRuns), with the
// field path each one lives at, so every policy names fields the same way.
import type { K8sObject } from './types.js';

/** The parts of a container spec the policies read; everything optional, as in a broken manifest. */
export interface ContainerSpec {
  name?: string;
  image?: string;
  env?: Array<{
    name?: string;
    value?: string;
    valueFrom?: {
      configMapKeyRef?: { name?: string; key?: string; optional?: boolean };
      secretKeyRef?: { name?: string; key?: string; optional?: boolean };
    };
  }>;
  envFrom?: Array<{
    configMapRef?: { name?: string; optional?: boolean };
    secretRef?: { name?: string; optional?: boolean };
  }>;
  ports?: Array<{ name?: string; containerPort?: number }>;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  lifecycle?: { preStop?: { sleep?: { seconds?: number }; exec?: { command?: string[] } } };
  securityContext?: SecurityContextSpec;
}

/** Pod- and container-level security settings (the union of both, as far as the policies care). */
export interface SecurityContextSpec {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string };
}

/** The parts of a pod spec the policies read. */
export interface PodSpecLike {
  containers?: ContainerSpec[];
  initContainers?: ContainerSpec[];
  securityContext?: SecurityContextSpec;
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  imagePullSecrets?: Array<{ name?: string }>;
  volumes?: Array<{
    name?: string;
    configMap?: { name?: string; optional?: boolean };
    secret?: { secretName?: string; optional?: boolean };
    projected?: {
      sources?: Array<{
        configMap?: { name?: string; optional?: boolean };
        secret?: { name?: string; optional?: boolean };
      }>;
    };
  }>;
}

/** A pod template found in a render, with enough context for clear messages. */
export interface PodTemplate {
  owner: K8sObject;
  /** Field path of the pod spec, e.g. `spec.template.spec`. */
  specPath: string;
  labels: Record<string, string>;
  spec: PodSpecLike;
  /** Long-running (Deployment, StatefulSet, DaemonSet): needs probes and may need a PDB. */
  longRunning: boolean;
  /** Desired replica count when known (HPA maxReplicas counts too, see `replicaCeiling`). */
  replicas?: number;
}

const workloadKinds: Record<string, { longRunning: boolean }> = {
  Deployment: { longRunning: true },
  StatefulSet: { longRunning: true },
  DaemonSet: { longRunning: true },
  ReplicaSet: { longRunning: true },
  Job: { longRunning: false },
};

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Reads a nested field without trusting the shape: `get(obj, 'spec', 'template')`. */
export function get(value: unknown, ...path: string[]): unknown {
  let cur: unknown = value;
  for (const key of path) cur = record(cur)?.[key];
  return cur;
}

/** Every pod template in `objects`: workloads, CronJobs and k6-operator TestRun pods. */
export function podTemplates(objects: K8sObject[]): PodTemplate[] {
  const out: PodTemplate[] = [];
  for (const obj of objects) {
    const kind = workloadKinds[obj.kind];
    if (kind) {
      const template = get(obj, 'spec', 'template');
      const replicas = get(obj, 'spec', 'replicas');
      out.push({
        owner: obj,
        specPath: 'spec.template.spec',
        labels: (get(template, 'metadata', 'labels') as Record<string, string>) ?? {},
        spec: (get(template, 'spec') as PodSpecLike) ?? {},
        longRunning: kind.longRunning,
        replicas: typeof replicas === 'number' ? replicas : obj.kind === 'Deployment' ? undefined : 1,
      });
    } else if (obj.kind === 'CronJob') {
      const template = get(obj, 'spec', 'jobTemplate', 'spec', 'template');
      out.push({
        owner: obj,
        specPath: 'spec.jobTemplate.spec.template.spec',
        labels: (get(template, 'metadata', 'labels') as Record<string, string>) ?? {},
        spec: (get(template, 'spec') as PodSpecLike) ?? {},
        longRunning: false,
      });
    } else if (obj.kind === 'TestRun' && obj.apiVersion.startsWith('k6.io/')) {
      out.push(...testRunPods(obj));
    }
  }
  return out;
}

/**
 * k6-operator builds the runner, initializer and starter pods from `spec.<role>`: one container
 * each, `containerSecurityContext` for the container and `securityContext` for the pod.
 */
function testRunPods(obj: K8sObject): PodTemplate[] {
  const out: PodTemplate[] = [];
  for (const role of ['runner', 'initializer', 'starter'] as const) {
    const pod = record(get(obj, 'spec', role)) ?? {};
    const container: ContainerSpec = {
      name: role,
      image: pod.image as string | undefined,
      env: pod.env as ContainerSpec['env'],
      envFrom: pod.envFrom as ContainerSpec['envFrom'],
      resources: pod.resources as ContainerSpec['resources'],
      securityContext: pod.containerSecurityContext as SecurityContextSpec | undefined,
    };
    out.push({
      owner: obj,
      specPath: `spec.${role}`,
      labels: (get(pod, 'metadata', 'labels') as Record<string, string>) ?? {},
      spec: {
        containers: [container],
        securityContext: pod.securityContext as SecurityContextSpec | undefined,
        serviceAccountName: pod.serviceAccountName as string | undefined,
        volumes: pod.volumes as PodSpecLike['volumes'],
      },
      longRunning: false,
      replicas: role === 'runner' ? ((get(obj, 'spec', 'parallelism') as number) ?? 1) : 1,
    });
  }
  return out;
}

/** Containers and init containers with the field path each lives at. */
export function containersOf(pod: PodTemplate): Array<{ container: ContainerSpec; path: string }> {
  if (pod.owner.kind === 'TestRun') {
    // The operator's own field names: spec.runner.resources, spec.runner.containerSecurityContext.
    return (pod.spec.containers ?? []).map((container) => ({ container, path: pod.specPath }));
  }
  const out: Array<{ container: ContainerSpec; path: string }> = [];
  for (const list of ['initContainers', 'containers'] as const) {
    for (const container of pod.spec[list] ?? []) {
      out.push({ container, path: `${pod.specPath}.${list}[${container.name ?? '?'}]` });
    }
  }
  return out;
}

/** True when every `selector` label is on `labels` (a Service or matchLabels selector). */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * A Kubernetes label selector (matchLabels + matchExpressions) against labels. An empty selector
 * selects everything, as in NetworkPolicy and PodDisruptionBudget.
 */
export function labelSelectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  const sel = record(selector);
  if (!sel) return false;
  const matchLabels = (record(sel.matchLabels) ?? {}) as Record<string, string>;
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  const expressions = Array.isArray(sel.matchExpressions) ? sel.matchExpressions : [];
  return expressions.every((e: { key?: string; operator?: string; values?: string[] }) => {
    const value = e.key === undefined ? undefined : labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        return false;
    }
  });
}
