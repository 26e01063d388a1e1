// Plays one Argo CD sync against a target (the rehearsal's stand-in cluster, or a model in tests)
// with gitops-engine's rules (argoproj/argo-cd v3.5.1, gitops-engine/pkg/sync/sync_context.go
// Sync() and getOperationPhase()):
//   - steps in syncSteps() order; a step's objects are all applied, then waited for
//   - a plain object succeeds when Healthy or when its kind has no health check; Degraded fails it
//   - a hook succeeds when Healthy (a Job: complete), is still running while Progressing/Suspended,
//     and fails when Degraded (a Job: failed) or Unknown
//   - the next step starts only when every task of this one succeeded; a failure ends the sync:
//     SyncFail hooks run, and later steps -- PostSync hooks included -- never run
// Argo CD waits for a Progressing object without a limit of its own (a Deployment turns Degraded
// after progressDeadlineSeconds); the target's settle() decides how long the rehearsal waits.
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import {
  syncFailTasks,
  syncSteps,
  taskName,
  type SyncPhase,
  type SyncStep,
  type SyncTask,
} from './sync-order.js';

/** gitops-engine's health statuses. */
export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Unknown' | 'Missing';

/** An object's health; `undefined` from settle() means the kind has no health check. */
export interface Health {
  status: HealthStatus;
  message?: string;
}

/** What a sync is played against. */
export interface SyncTarget {
  /** Creates or updates the object, as `kubectl apply`; throws the API server's error when it cannot. */
  apply(task: SyncTask): Promise<void>;
  /**
   * Waits until the object is Healthy or Degraded (a hook: complete or failed) and returns that, or
   * returns its health when the target stops waiting. `undefined`: the kind has no health check.
   */
  settle(task: SyncTask): Promise<Health | undefined>;
}

/** The result of one task. */
export interface TaskResult {
  task: string;
  hook: boolean;
  /** Succeeded, Failed, Running (still waiting when the target stopped), or Error (apply failed). */
  result: 'Succeeded' | 'Failed' | 'Running' | 'Error';
  message: string;
}

/** One (phase, wave) step as played. */
export interface StepResult {
  phase: SyncPhase;
  wave: number;
  tasks: TaskResult[];
  ms: number;
}

/** The sync operation's outcome, in Argo CD's terms. */
export interface SyncResult {
  phase: 'Succeeded' | 'Failed';
  message: string;
  steps: StepResult[];
  /** Tasks of steps never reached because an earlier step failed. */
  notRun: { phase: SyncPhase; wave: number; task: string }[];
  syncFail: TaskResult[];
}

function outcome(task: SyncTask, health: Health | undefined): TaskResult {
  const base = { task: taskName(task), hook: task.hook };
  const message = health?.message ?? '';
  if (!health)
    return { ...base, result: 'Succeeded', message: task.hook ? 'created' : 'applied (no health check)' };
  switch (health.status) {
    case 'Healthy':
      return { ...base, result: 'Succeeded', message: message || 'Healthy' };
    case 'Degraded':
    case 'Unknown':
      return { ...base, result: 'Failed', message: `${health.status}${message ? `: ${message}` : ''}` };
    case 'Missing':
      return { ...base, result: 'Failed', message: `Missing${message ? `: ${message}` : ''}` };
    default:
      return {
        ...base,
        result: 'Running',
        message: `still ${health.status}${message ? `: ${message}` : ''}`,
      };
  }
}

async function play(tasks: SyncTask[], target: SyncTarget): Promise<TaskResult[]> {
  const results: (TaskResult | undefined)[] = [];
  for (const [i, task] of tasks.entries()) {
    try {
      await target.apply(task);
    } catch (err) {
      results[i] = {
        task: taskName(task),
        hook: task.hook,
        result: 'Error',
        message: (err as Error).message,
      };
    }
  }
  // Applied together, then waited for together: an object may become Healthy thanks to another.
  return Promise.all(tasks.map(async (task, i) => results[i] ?? outcome(task, await target.settle(task))));
}

/** `PostSync wave 0 (Job/a)`, or a count when a step has more than three objects. */
export function describeSteps(steps: SyncStep[]): string {
  return steps
    .map((s) => {
      const names = s.tasks.map(taskName);
      return `${s.phase} wave ${s.wave} (${names.length > 3 ? `${names.length} objects` : names.join(', ')})`;
    })
    .join(', ');
}

/** Plays a sync of `objects` against `target`; `log` gets one line per task. */
export async function runSync(
  objects: K8sObject[],
  target: SyncTarget,
  log: (line: string) => void = () => undefined,
): Promise<SyncResult> {
  const steps = syncSteps(objects);
  const played: StepResult[] = [];
  for (const [index, step] of steps.entries()) {
    const started = Date.now();
    log(`${step.phase} wave ${step.wave}: ${step.tasks.map(taskName).join(', ')}`);
    const tasks = await play(step.tasks, target);
    played.push({ phase: step.phase, wave: step.wave, tasks, ms: Date.now() - started });
    for (const t of tasks) log(`  ${t.task}: ${t.result}${t.message ? ` (${t.message})` : ''}`);
    const bad = tasks.filter((t) => t.result !== 'Succeeded');
    if (bad.length === 0) continue;
    const notRun = steps
      .slice(index + 1)
      .flatMap((s) => s.tasks.map((t) => ({ phase: s.phase, wave: s.wave, task: taskName(t) })));
    const syncFail = await play(syncFailTasks(objects), target);
    const reason = bad.map((t) => `${t.task} ${t.result}: ${t.message}`).join('; ');
    return {
      phase: 'Failed',
      message: `${step.phase} wave ${step.wave} did not complete: ${reason}${notRun.length ? `; never run: ${describeSteps(steps.slice(index + 1))}` : ''}`,
      steps: played,
      notRun,
      syncFail,
    };
  }
  return {
    phase: 'Succeeded',
    message: 'successfully synced (all tasks run)',
    steps: played,
    notRun: [],
    syncFail: [],
  };
}
