import type { Application, ApplicationTree, RevisionHistory } from './types.js';

/** Where an application stands relative to a sync we asked for. */
export type RolloutOutcome =
  /** Every `argocd app wait` check holds: nothing left to wait for. */
  | 'succeeded'
  /** Still converging: keep polling. */
  | 'pending'
  /** The operation finished with phase Failed or Error. */
  | 'failed'
  /** The operation succeeded and the controller reconciled after it, but the app is Degraded. */
  | 'degraded';

/** The result of {@link assessRollout}: the current state and why it is not done yet. */
export interface RolloutAssessment {
  outcome: RolloutOutcome;
  syncStatus: string;
  healthStatus: string;
  healthMessage?: string;
  /** `status.sync.revision`: what the live state was compared against. */
  revision: string;
  operationPhase?: string;
  operationMessage?: string;
  /** The argocd CLI's "operation in progress" test (see {@link isOperationInProgress}). */
  operationInProgress: boolean;
  /** Human-readable checks that do not hold yet (empty when succeeded). */
  waitingFor: string[];
}

/**
 * The argocd CLI's own test (`waitOnApplicationStatus` in cmd/argocd/commands/app.go): an operation is
 * in progress while it is requested (`app.operation` set), while it runs (`finishedAt` unset), and until
 * the controller has reconciled the app once after it finished (`reconciledAt` before `finishedAt`),
 * because sync and health status lag behind the operation until then.
 */
export function isOperationInProgress(app: Application): boolean {
  if (app.operation) return true;
  const state = app.status?.operationState;
  if (!state) return false;
  if (!state.finishedAt) return true;
  if (state.operation?.sync?.dryRun) return false;
  const reconciledAt = app.status?.reconciledAt;
  return !reconciledAt || Date.parse(reconciledAt) < Date.parse(state.finishedAt);
}

/**
 * Checks an application against everything `argocd app sync --revision R` + `argocd app wait` require:
 * no operation in progress (incl. reconciled after it), operation phase Succeeded, sync status Synced
 * at `expectedRevision`, health Healthy. `expectedRevision` is compared case-insensitively (Git SHAs).
 */
export function assessRollout(app: Application, expectedRevision: string): RolloutAssessment {
  const status = app.status ?? {};
  const syncStatus = status.sync?.status ?? 'Unknown';
  const healthStatus = status.health?.status ?? 'Unknown';
  const revision = status.sync?.revision ?? '';
  const state = status.operationState;
  const operationInProgress = isOperationInProgress(app);
  const base = {
    syncStatus,
    healthStatus,
    healthMessage: status.health?.message,
    revision,
    operationPhase: state?.phase,
    operationMessage: state?.message,
    operationInProgress,
  };
  const waitingFor: string[] = [];

  if (app.operation) waitingFor.push('the requested operation to be picked up by the controller');
  else if (state && !state.finishedAt)
    waitingFor.push(`the operation to finish (phase ${state.phase ?? 'unknown'})`);
  else if (operationInProgress)
    waitingFor.push('the controller to reconcile the app after the operation finished');

  if (!app.operation && state?.finishedAt && (state.phase === 'Failed' || state.phase === 'Error')) {
    return { ...base, outcome: 'failed', waitingFor: [] };
  }
  if (!operationInProgress && state?.phase !== 'Succeeded') {
    waitingFor.push(`operation phase Succeeded (is ${state?.phase ?? 'none'})`);
  }
  if (syncStatus !== 'Synced') waitingFor.push(`sync status Synced (is ${syncStatus})`);
  if (!sameRevision(revision, expectedRevision)) {
    waitingFor.push(`revision ${expectedRevision} (is ${revision || 'none'})`);
  }
  if (healthStatus !== 'Healthy') waitingFor.push(`health Healthy (is ${healthStatus})`);

  if (!operationInProgress && state?.phase === 'Succeeded' && healthStatus === 'Degraded') {
    return { ...base, outcome: 'degraded', waitingFor };
  }
  return { ...base, outcome: waitingFor.length === 0 ? 'succeeded' : 'pending', waitingFor };
}

/** Compares Git revisions; a 7+ character SHA prefix matches its full SHA. */
export function sameRevision(actual: string, expected: string): boolean {
  const a = actual.trim().toLowerCase();
  const e = expected.trim().toLowerCase();
  if (!a || !e) return false;
  if (a === e) return true;
  const isSha = (x: string) => /^[0-9a-f]{7,40}$/.test(x);
  return isSha(a) && isSha(e) && (a.startsWith(e) || e.startsWith(a));
}

/**
 * The revision the app must be Synced at. A commit SHA is taken as given. A branch or tag is resolved by
 * Argo CD when the sync starts: once our operation has finished (nothing requested, `finishedAt` set),
 * its `syncResult.revision` is the commit it resolved to.
 */
export function expectedRevision(app: Application, requested: string): string {
  if (/^[0-9a-f]{7,40}$/i.test(requested)) return requested;
  const state = app.status?.operationState;
  return !app.operation && state?.finishedAt && state.syncResult?.revision
    ? state.syncResult.revision
    : requested;
}

/** A resource whose health is not Healthy, with Argo CD's message for it. */
export interface UnhealthyResource {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  health: string;
  message: string;
  /** `managed`: from `status.resources`; `child`: from the resource tree (Pods, ReplicaSets, ...). */
  origin: 'managed' | 'child';
}

/**
 * Lists every resource that is not Healthy, managed ones (from `status.resources`) first, then live
 * children from the resource tree, which carry the messages people need ("Back-off restarting failed
 * container"). Resources without a health assessment (ConfigMaps...) are not listed.
 */
export function listUnhealthyResources(app: Application, tree?: ApplicationTree): UnhealthyResource[] {
  const out = new Map<string, UnhealthyResource>();
  const key = (r: { group?: string; kind?: string; namespace?: string; name?: string }) =>
    [r.group ?? '', r.kind ?? '', r.namespace ?? '', r.name ?? ''].join('/');
  for (const resource of app.status?.resources ?? []) {
    const health = resource.health?.status;
    if (!health || health === 'Healthy') continue;
    out.set(key(resource), {
      group: resource.group ?? '',
      kind: resource.kind ?? '',
      namespace: resource.namespace ?? '',
      name: resource.name ?? '',
      health,
      message: resource.health?.message ?? '',
      origin: 'managed',
    });
  }
  for (const node of tree?.nodes ?? []) {
    const health = node.health?.status;
    if (!health || health === 'Healthy') continue;
    const existing = out.get(key(node));
    if (existing) {
      if (!existing.message && node.health?.message) existing.message = node.health.message;
      continue;
    }
    out.set(key(node), {
      group: node.group ?? '',
      kind: node.kind ?? '',
      namespace: node.namespace ?? '',
      name: node.name ?? '',
      health,
      message: node.health?.message ?? '',
      origin: node.parentRefs?.length ? 'child' : 'managed',
    });
  }
  return [...out.values()].sort((a, b) => (a.origin === b.origin ? 0 : a.origin === 'managed' ? -1 : 1));
}

/** `Deployment pr-7/api: Degraded - Deployment "api" exceeded its progress deadline`. */
export function formatUnhealthyResource(r: UnhealthyResource): string {
  const where = r.namespace ? `${r.namespace}/${r.name}` : r.name;
  return `${r.kind} ${where}: ${r.health}${r.message ? ` - ${r.message}` : ''}`;
}

/** Argo CD's `IsAutomatedSyncEnabled`: an `automated` block that is not explicitly disabled. */
export function isAutomatedSyncEnabled(app: Application): boolean {
  const automated = app.spec?.syncPolicy?.automated;
  return automated !== undefined && automated !== null && automated.enabled !== false;
}

/** The revision Argo CD tracks for a single-source app (`HEAD` when unset, as Argo CD defaults it). */
export function trackedRevision(app: Application): string {
  return app.spec?.source?.targetRevision || app.spec?.sources?.[0]?.targetRevision || 'HEAD';
}

/**
 * The history entry to roll back to: the newest deployment of a revision other than the failed one
 * (`deployedRevision`). Normally that is the entry before the current one; when the failed sync never
 * made it into the history, it is the newest entry. Undefined when there is none.
 */
export function findRollbackTarget(
  history: RevisionHistory[] | undefined,
  deployedRevision: string,
): RevisionHistory | undefined {
  const entries = [...(history ?? [])].filter((h) => typeof h.id === 'number').sort((a, b) => b.id! - a.id!);
  return entries.find((entry) => !sameRevision(entry.revision ?? '', deployedRevision));
}
