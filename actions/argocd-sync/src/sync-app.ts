import {
  assessRollout,
  expectedRevision,
  findRollbackTarget,
  formatUnhealthyResource,
  isArgoCdError,
  isAutomatedSyncEnabled,
  listUnhealthyResources,
  sameRevision,
  trackedRevision,
  type Application,
  type ArgoCdClient,
  type RolloutAssessment,
  type UnhealthyResource,
} from '../../../pipeline/src/argocd/index.js';
import { describeAssessment, waitForRollout, type Runtime } from './wait.js';

/** Why a sync did not end Synced + Healthy at the revision. Stable: workflows and tests branch on these. */
export type SyncFailureCode =
  'AUTO_SYNC_CONFLICT' | 'OPERATION_IN_PROGRESS' | 'SYNC_FAILED' | 'DEGRADED' | 'TIMEOUT';

/** What to sync and how long to try. */
export interface SyncOptions {
  application: string;
  appNamespace?: string;
  revision: string;
  prune: boolean;
  timeoutMs: number;
  pollIntervalMs: number;
  rollbackOnFailure: boolean;
}

/** What happened to the optional rollback. */
export interface RollbackReport {
  /** `succeeded`: back at `revision`, Synced and Healthy; `unavailable`: not attempted, see message. */
  result: 'succeeded' | 'failed' | 'unavailable';
  historyId?: number;
  revision?: string;
  message: string;
}

/** The outcome of {@link syncToRevision}, success or not; everything the outputs and summary need. */
export interface SyncReport {
  application: string;
  requestedRevision: string;
  succeeded: boolean;
  failure?: { code: SyncFailureCode; message: string };
  /** The last state seen (after the rollback, when there was one). */
  final: RolloutAssessment;
  unhealthy: UnhealthyResource[];
  rollback?: RollbackReport;
  /** Times Argo CD answered "another operation is already in progress" before accepting. */
  conflictRetries: number;
  polls: number;
  elapsedMs: number;
}

/**
 * Syncs `application` to exactly `revision` and waits until every `argocd app wait` check holds:
 * operation finished with phase Succeeded and reconciled after it, sync status Synced at the revision,
 * health Healthy. Retries while another operation is in progress (within the timeout), explains auto-sync
 * conflicts, lists unhealthy resources with their messages, and optionally rolls back to the previous
 * history entry (with a fresh timeout) when the sync fails, degrades or times out.
 * Argo CD errors other than those (auth, permissions, unreachable) are thrown.
 */
export async function syncToRevision(
  client: ArgoCdClient,
  options: SyncOptions,
  runtime: Runtime,
): Promise<SyncReport> {
  const started = runtime.now();
  const deadline = started + options.timeoutMs;
  const target = { application: options.application, appNamespace: options.appNamespace };
  const before = await client.getApplication(options.application, target);
  const report = (
    fields: Omit<SyncReport, 'application' | 'requestedRevision' | 'elapsedMs'>,
  ): SyncReport => ({
    application: options.application,
    requestedRevision: options.revision,
    elapsedMs: runtime.now() - started,
    ...fields,
  });

  if (isAutomatedSyncEnabled(before) && !sameRevision(trackedRevision(before), options.revision)) {
    return report({
      succeeded: false,
      failure: { code: 'AUTO_SYNC_CONFLICT', message: autoSyncMessage(before, options) },
      final: assessRollout(before, options.revision),
      unhealthy: [],
      conflictRetries: 0,
      polls: 1,
    });
  }

  const requested = await requestWithRetry(
    () =>
      client.syncApplication(options.application, {
        revision: options.revision,
        prune: options.prune,
        strategy: { hook: {} },
        appNamespace: options.appNamespace,
      }),
    deadline,
    options.pollIntervalMs,
    runtime,
  );
  if (requested.kind !== 'accepted') {
    const app = await client.getApplication(options.application, target);
    const failure =
      requested.kind === 'auto-sync'
        ? {
            code: 'AUTO_SYNC_CONFLICT' as const,
            message: autoSyncMessage(app, options, requested.serverMessage),
          }
        : {
            code: 'OPERATION_IN_PROGRESS' as const,
            message: inProgressMessage(app, options, runtime.now() - started),
          };
    return report({
      succeeded: false,
      failure,
      final: assessRollout(app, options.revision),
      unhealthy: [],
      conflictRetries: requested.retries,
      polls: 1,
    });
  }
  runtime.log(`${options.application}: sync to ${options.revision} requested`);

  const waited = await waitForRollout(
    client,
    { ...target, revision: options.revision },
    deadline,
    options.pollIntervalMs,
    runtime,
  );
  if (waited.assessment.outcome === 'succeeded') {
    return report({
      succeeded: true,
      final: waited.assessment,
      unhealthy: [],
      conflictRetries: requested.retries,
      polls: waited.polls,
    });
  }
  const unhealthy = await unhealthyResources(client, waited.app, options);
  const failure = describeFailure(waited.app, waited.assessment, unhealthy, options);
  const base = {
    succeeded: false,
    failure,
    unhealthy,
    conflictRetries: requested.retries,
    polls: waited.polls,
  };
  if (!options.rollbackOnFailure) return report({ ...base, final: waited.assessment });
  const rolled = await rollBack(client, waited.app, options, runtime);
  return report({ ...base, final: rolled.final ?? waited.assessment, rollback: rolled.report });
}

type RequestResult =
  | { kind: 'accepted'; retries: number }
  | { kind: 'busy'; retries: number }
  | { kind: 'auto-sync'; retries: number; serverMessage: string };

/** Sends a sync/rollback; while Argo CD says another operation is in progress, waits and retries until `deadline`. */
async function requestWithRetry(
  send: () => Promise<unknown>,
  deadline: number,
  intervalMs: number,
  runtime: Runtime,
): Promise<RequestResult> {
  for (let retries = 0; ; retries += 1) {
    try {
      await send();
      return { kind: 'accepted', retries };
    } catch (error) {
      if (isArgoCdError(error, 'ARGOCD_AUTO_SYNC_CONFLICT')) {
        return { kind: 'auto-sync', retries, serverMessage: error.details.serverMessage ?? error.message };
      }
      if (!isArgoCdError(error, 'ARGOCD_OPERATION_IN_PROGRESS')) throw error;
      const left = deadline - runtime.now();
      if (left <= 0) return { kind: 'busy', retries };
      if (retries === 0)
        runtime.log('another operation is already in progress; waiting for it to finish before syncing');
      await runtime.sleep(Math.min(intervalMs, left));
    }
  }
}

async function unhealthyResources(
  client: ArgoCdClient,
  app: Application,
  options: SyncOptions,
): Promise<UnhealthyResource[]> {
  try {
    const tree = await client.getResourceTree(options.application, { appNamespace: options.appNamespace });
    return listUnhealthyResources(app, tree);
  } catch {
    // The tree only adds children's messages; the managed resources' health is in the app already.
    return listUnhealthyResources(app);
  }
}

function describeFailure(
  app: Application,
  a: RolloutAssessment,
  unhealthy: UnhealthyResource[],
  options: SyncOptions,
): { code: SyncFailureCode; message: string } {
  const resources =
    unhealthy.length > 0
      ? `\nResources not healthy:\n${unhealthy.map((r) => `  - ${formatUnhealthyResource(r)}`).join('\n')}`
      : '';
  if (a.outcome === 'failed') {
    const failedResults = (app.status?.operationState?.syncResult?.resources ?? [])
      .filter((r) => r.status && r.status !== 'Synced')
      .map(
        (r) =>
          `  - ${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}: ${r.status}${r.message ? ` - ${r.message}` : ''}`,
      );
    return {
      code: 'SYNC_FAILED',
      message:
        `Sync of ${options.application} to ${options.revision} ended with phase ${a.operationPhase}: ${a.operationMessage ?? 'no message'}` +
        (failedResults.length > 0 ? `\nResources that failed to sync:\n${failedResults.join('\n')}` : '') +
        resources,
    };
  }
  if (a.outcome === 'degraded') {
    return {
      code: 'DEGRADED',
      message: `${options.application} is Degraded after syncing to ${options.revision}${a.healthMessage ? ` (${a.healthMessage})` : ''}.${resources}`,
    };
  }
  return {
    code: 'TIMEOUT',
    message:
      `Timed out after ${Math.round(options.timeoutMs / 1000)}s waiting for ${options.application} to be Synced at ${options.revision} and Healthy.\n` +
      `Current state: ${describeAssessment(a)}${resources}`,
  };
}

async function rollBack(
  client: ArgoCdClient,
  failedApp: Application,
  options: SyncOptions,
  runtime: Runtime,
): Promise<{ report: RollbackReport; final?: RolloutAssessment }> {
  const target = { application: options.application, appNamespace: options.appNamespace };
  if (isAutomatedSyncEnabled(failedApp)) {
    return {
      report: {
        result: 'unavailable',
        message: 'Rollback skipped: Argo CD refuses rollbacks while automated sync is enabled.',
      },
    };
  }
  const deadline = runtime.now() + options.timeoutMs;
  let app = failedApp;
  if (app.operation) {
    // Our sync is still running (timeout): stop it, or the rollback would be refused as a concurrent operation.
    runtime.log(`${options.application}: terminating the running operation before rolling back`);
    await client.terminateOperation(options.application, target).catch(() => undefined);
    while (app.operation && runtime.now() < deadline) {
      await runtime.sleep(options.pollIntervalMs);
      app = await client.getApplication(options.application, target);
    }
  }
  const entry = findRollbackTarget(app.status?.history, expectedRevision(app, options.revision));
  if (!entry || entry.id === undefined) {
    return {
      report: {
        result: 'unavailable',
        message: `Rollback skipped: ${options.application} has no earlier deployment in its history.`,
      },
    };
  }
  const revision = entry.revision ?? '';
  runtime.log(`${options.application}: rolling back to history #${entry.id} (${revision})`);
  const requested = await requestWithRetry(
    () =>
      client.rollbackApplication(options.application, {
        id: entry.id!,
        prune: options.prune,
        appNamespace: options.appNamespace,
      }),
    deadline,
    options.pollIntervalMs,
    runtime,
  );
  if (requested.kind !== 'accepted') {
    const why =
      requested.kind === 'auto-sync' ? requested.serverMessage : 'another operation stayed in progress';
    return {
      report: {
        result: 'failed',
        historyId: entry.id,
        revision,
        message: `Rollback to history #${entry.id} was refused: ${why}.`,
      },
    };
  }
  const waited = await waitForRollout(
    client,
    { ...target, revision },
    deadline,
    options.pollIntervalMs,
    runtime,
  );
  const ok = waited.assessment.outcome === 'succeeded';
  return {
    final: waited.assessment,
    report: {
      result: ok ? 'succeeded' : 'failed',
      historyId: entry.id,
      revision,
      message: ok
        ? `Rolled back to history #${entry.id} (${revision}): Synced and Healthy.`
        : `Rollback to history #${entry.id} (${revision}) did not become healthy: ${describeAssessment(waited.assessment)}.`,
    },
  };
}

function autoSyncMessage(app: Application, options: SyncOptions, serverMessage?: string): string {
  const tracked = trackedRevision(app);
  return (
    `${options.application} has automated sync enabled and tracks "${tracked}", so Argo CD will not sync it to ${options.revision}` +
    `${serverMessage ? ` (Argo CD: "${serverMessage}")` : ''}. Either disable auto-sync on the Application ` +
    `(remove spec.syncPolicy.automated) so this action decides the revision, or keep auto-sync and deploy by ` +
    `moving "${tracked}" (merge/push to it, or set targetRevision to the commit) instead of passing a different revision.`
  );
}

function inProgressMessage(app: Application, options: SyncOptions, waitedMs: number): string {
  const op = app.status?.operationState;
  const who = app.operation?.initiatedBy ?? op?.operation?.initiatedBy;
  const by = who?.automated ? 'automated sync' : who?.username ? `user ${who.username}` : 'someone else';
  const what = op?.operation?.sync?.revision ?? app.operation?.sync?.revision;
  return (
    `Another operation on ${options.application} (started by ${by}${what ? `, syncing ${what}` : ''}` +
    `${op?.startedAt ? ` at ${op.startedAt}` : ''}, phase ${op?.phase ?? 'requested'}) was still in progress after ` +
    `waiting ${Math.round(waitedMs / 1000)}s, so the sync to ${options.revision} was not started. ` +
    `Wait for it to finish or stop it with \`argocd app terminate-op ${options.application}\`, then re-run this job.`
  );
}
