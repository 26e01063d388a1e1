import {
  assessRollout,
  expectedRevision,
  isArgoCdError,
  type ArgoCdClient,
} from '../../../pipeline/src/argocd/index.js';

/** Time, injected so tests control it. */
export interface WaitRuntime {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** How the wait for a preview ended. */
export interface PreviewHealth {
  healthy: boolean;
  /** One sentence: what Argo CD last said. */
  detail: string;
}

/**
 * Asks Argo CD to sync the preview at its revision now (instead of within the next poll), then waits the
 * way `argocd app wait` does: operation Succeeded, Synced at `revision`, Healthy. An operation that
 * automated sync already started is waited for, not fought.
 */
export async function waitForPreview(
  argocd: ArgoCdClient,
  name: string,
  revision: string,
  options: { timeoutMs: number; pollIntervalMs: number; appNamespace?: string },
  runtime: WaitRuntime,
): Promise<PreviewHealth> {
  try {
    await argocd.syncApplication(name, { revision, prune: true, appNamespace: options.appNamespace });
  } catch (error) {
    // "another operation is already in progress": automated sync got there first.
    if (!isArgoCdError(error)) throw error;
  }
  const deadline = runtime.now() + options.timeoutMs;
  for (;;) {
    const app = await argocd.getApplication(name, { appNamespace: options.appNamespace });
    // A branch or tag (target-revision refs/pull/{number}/head) is Synced at the commit Argo CD resolved it to.
    const a = assessRollout(app, expectedRevision(app, revision));
    if (a.outcome === 'succeeded')
      return { healthy: true, detail: `Synced at ${(a.revision || revision).slice(0, 12)}, Healthy` };
    const last =
      a.outcome === 'pending'
        ? `waiting for ${a.waitingFor.join(', ')}`
        : `${a.outcome}: ${a.operationMessage ?? a.healthMessage ?? a.healthStatus}`;
    if (a.outcome === 'failed' || a.outcome === 'degraded') return { healthy: false, detail: last };
    if (runtime.now() >= deadline) {
      return {
        healthy: false,
        detail: `not Healthy after ${Math.round(options.timeoutMs / 1000)} s (${last})`,
      };
    }
    await runtime.sleep(Math.min(options.pollIntervalMs, Math.max(0, deadline - runtime.now())));
  }
}
