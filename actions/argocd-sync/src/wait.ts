import {
  assessRollout,
  expectedRevision,
  type Application,
  type ArgoCdClient,
  type RolloutAssessment,
} from '../../../pipeline/src/argocd/index.js';

/** Time and logging, injected so tests and scripts control them. */
export interface Runtime {
  now(): number;
  sleep(ms: number): Promise<void>;
  log(message: string): void;
}

/** The real clock and `console.log`-style logger. */
export const realRuntime = (log: (message: string) => void): Runtime => ({
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  log,
});

/** How a wait ended. */
export interface WaitResult {
  app: Application;
  assessment: RolloutAssessment;
  timedOut: boolean;
  polls: number;
}

/**
 * Polls the app until {@link assessRollout} says succeeded, failed or degraded, or `deadline` passes.
 * Logs each change of state once, so the job log reads like `argocd app wait`.
 */
export async function waitForRollout(
  client: ArgoCdClient,
  target: { application: string; appNamespace?: string; revision: string },
  deadline: number,
  pollIntervalMs: number,
  runtime: Runtime,
): Promise<WaitResult> {
  let last = '';
  for (let polls = 1; ; polls += 1) {
    const app = await client.getApplication(target.application, { appNamespace: target.appNamespace });
    const assessment = assessRollout(app, expectedRevision(app, target.revision));
    const line = describeAssessment(assessment);
    if (line !== last) runtime.log(`${target.application}: ${line}`);
    last = line;
    if (assessment.outcome !== 'pending') return { app, assessment, timedOut: false, polls };
    const left = deadline - runtime.now();
    if (left <= 0) return { app, assessment, timedOut: true, polls };
    await runtime.sleep(Math.min(pollIntervalMs, left));
  }
}

/** `sync Synced at 1a2b3c4, health Healthy, operation Succeeded` (+ what is still awaited). */
export function describeAssessment(a: RolloutAssessment): string {
  const parts = [
    `sync ${a.syncStatus}${a.revision ? ` at ${a.revision.slice(0, 12)}` : ''}`,
    `health ${a.healthStatus}`,
    `operation ${a.operationPhase ?? 'none'}${a.operationInProgress ? ' (in progress)' : ''}`,
  ];
  return a.waitingFor.length > 0
    ? `${parts.join(', ')}; waiting for ${a.waitingFor.join(', ')}`
    : parts.join(', ');
}
