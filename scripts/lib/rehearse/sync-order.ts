// The order in which Argo CD applies an Application's objects in one sync, as its gitops-engine
// does (argoproj/argo-cd v3.5.1, commit 109ca7ca71139e514114499d294a492e7910a965:
// gitops-engine/pkg/sync/sync_tasks.go, sync_phase.go, syncwaves/waves.go, hook/hook.go;
// docs/user-guide/sync-waves.md). Pure functions: no I/O.
//   - phase: objects without `argocd.argoproj.io/hook` are applied in Sync; a hook runs in each phase
//     its comma-separated list names (PreSync, Sync, PostSync, SyncFail); `Skip` alone is not applied
//   - order: phase (PreSync, Sync, PostSync, SyncFail), wave (`argocd.argoproj.io/sync-wave`, default
//     0), kind (Helm's kind order: Namespace first, custom resources last), name
//   - a Namespace is moved ahead of the first object in it and takes that object's phase and wave
//   - one step = one (phase, wave); the next step starts only when every object of this one is
//     Healthy (or has no health) and every hook has completed (gitops-engine's "multi-step" sync)
// Helm hook annotations (`helm.sh/hook`) are not read: this project renders no Helm charts.
import type { K8sObject } from '../../../pipeline/src/validate/index.js';

/** A sync phase that runs during a sync (PreDelete/PostDelete run on deletion only). */
export type SyncPhase = 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail';

const phaseOrder: Record<SyncPhase, number> = { PreSync: -1, Sync: 0, PostSync: 1, SyncFail: 2 };

export const hookAnnotation = 'argocd.argoproj.io/hook';
export const waveAnnotation = 'argocd.argoproj.io/sync-wave';

// gitops-engine's kindOrder (from Helm's kind_sorter); kinds not listed (custom resources) sort last.
const kinds = [
  'Namespace',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'IngressClass',
  'Ingress',
  'APIService',
];
const kindOrder = new Map(kinds.map((k, i) => [k, i - kinds.length]));

/** One object in one phase of a sync. */
export interface SyncTask {
  object: K8sObject;
  phase: SyncPhase;
  wave: number;
  /** A hook (Job etc.): it must complete; a plain object must become Healthy. */
  hook: boolean;
}

/** The objects Argo CD applies together, then waits for, before the next step. */
export interface SyncStep {
  phase: SyncPhase;
  wave: number;
  tasks: SyncTask[];
}

/** `Kind/name` for messages. */
export function taskName(task: SyncTask): string {
  return `${task.object.kind}/${task.object.metadata.name}`;
}

function hookTypes(obj: K8sObject): string[] {
  const raw = obj.metadata.annotations?.[hookAnnotation];
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((t) => t.trim())
    .filter((t) => ['PreSync', 'Sync', 'PostSync', 'SyncFail', 'Skip'].includes(t));
}

/** The wave annotation as Argo CD reads it (strconv.Atoi; anything else is wave 0). */
export function syncWave(obj: K8sObject): number {
  const raw = obj.metadata.annotations?.[waveAnnotation];
  return raw !== undefined && /^[+-]?\d+$/.test(raw) ? Number(raw) : 0;
}

/** The phases an object is applied in: [] when `Skip` is its only hook type. */
export function syncPhases(obj: K8sObject): { phases: SyncPhase[]; hook: boolean } {
  const types = hookTypes(obj);
  if (types.length === 1 && types[0] === 'Skip') return { phases: [], hook: false };
  if (obj.metadata.annotations?.[hookAnnotation] === undefined) return { phases: ['Sync'], hook: false };
  const phases = [...new Set(types.filter((t): t is SyncPhase => t !== 'Skip'))];
  return { phases, hook: true };
}

function compare(a: SyncTask, b: SyncTask): number {
  return (
    phaseOrder[a.phase] - phaseOrder[b.phase] ||
    a.wave - b.wave ||
    (kindOrder.get(a.object.kind) ?? 0) - (kindOrder.get(b.object.kind) ?? 0) ||
    (a.object.metadata.name < b.object.metadata.name
      ? -1
      : a.object.metadata.name > b.object.metadata.name
        ? 1
        : 0)
  );
}

/** Every task of a sync in Argo CD's order (SyncFail hooks included; they run only on failure). */
export function syncTasks(objects: K8sObject[]): SyncTask[] {
  const tasks: SyncTask[] = [];
  for (const object of objects) {
    const { phases, hook } = syncPhases(object);
    for (const phase of phases) tasks.push({ object, phase, wave: syncWave(object), hook });
  }
  tasks.sort(compare);
  // syncTasks.adjustDeps: a core Namespace moves to just before the first task in it, with its phase and wave.
  const firstIn = new Map<string, number>();
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    const o = t.object;
    const isNamespace = o.kind === 'Namespace' && (o.apiVersion === 'v1' || !o.apiVersion.includes('/'));
    if (isNamespace) {
      const index = firstIn.get(o.metadata.name);
      if (index === undefined) continue;
      const first = tasks[index]!;
      tasks.splice(i, 1);
      tasks.splice(index, 0, { ...t, phase: first.phase, wave: first.wave });
      for (const [ns, at] of firstIn) if (at >= index) firstIn.set(ns, at + 1);
    } else if (o.metadata.namespace && !firstIn.has(o.metadata.namespace)) {
      firstIn.set(o.metadata.namespace, i);
    }
  }
  return tasks;
}

/** The steps of a successful sync: (phase, wave) groups in order, SyncFail hooks left out. */
export function syncSteps(objects: K8sObject[]): SyncStep[] {
  const steps: SyncStep[] = [];
  for (const task of syncTasks(objects)) {
    if (task.phase === 'SyncFail') continue;
    const last = steps.at(-1);
    if (last && last.phase === task.phase && last.wave === task.wave) last.tasks.push(task);
    else steps.push({ phase: task.phase, wave: task.wave, tasks: [task] });
  }
  return steps;
}

/** The SyncFail hooks, run when a step fails. */
export function syncFailTasks(objects: K8sObject[]): SyncTask[] {
  return syncTasks(objects).filter((t) => t.phase === 'SyncFail');
}
