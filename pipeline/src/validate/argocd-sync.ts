// Argo CD's sync order, checked against what each object needs (dependencies.ts). The semantics are
// Argo CD v3.5.1's (platform/versions.yaml), from docs/user-guide/sync-waves.md and
// gitops-engine/pkg/sync (common/types.go, sync_context.go) at that tag:
//   - phases run in order PreSync -> Sync -> PostSync; PreSync runs "prior to the application of the
//     manifests", so a PreSync hook sees only earlier PreSync waves (on a first sync, nothing else);
//   - PostSync runs only after a successful apply "and all resources in a Healthy state";
//   - within a phase, waves run lowest first, and the next wave starts only when every resource of
//     the current one is in sync and Healthy ("it may be that the app can never get to healthy");
//   - a rendered Namespace is a Sync-phase resource like any other (CreateNamespace only creates one
//     the manifests do not contain);
//   - hook types: PreSync, Sync, PostSync, SyncFail, Skip (+ PreDelete, PostDelete); delete policies:
//     HookSucceeded, HookFailed, BeforeHookCreation (the default when none is given).
import { dependenciesOf, RenderIndex, type Dependency } from './dependencies.js';
import { objectId, problem, type K8sObject, type Policy, type Problem, type TargetContext } from './types.js';

export const hookAnnotation = 'argocd.argoproj.io/hook';
export const waveAnnotation = 'argocd.argoproj.io/sync-wave';
export const deletePolicyAnnotation = 'argocd.argoproj.io/hook-delete-policy';

const hookTypes = ['PreSync', 'Sync', 'PostSync', 'SyncFail', 'Skip', 'PreDelete', 'PostDelete'];
const deletePolicies = ['HookSucceeded', 'HookFailed', 'BeforeHookCreation'];
const phases = ['PreSync', 'Sync', 'PostSync'] as const;
type Phase = (typeof phases)[number];

/** When a sync applies an object: its phase and wave; `undefined` phase: never in a sync. */
export interface Placement {
  phase?: Phase;
  wave: number;
  hook: boolean;
}

/**
 * What each workload's readiness probe needs, as the environment variables naming it. Workloads
 * not listed are assumed to need every Service they connect to. The server's /readyz is 200 when
 * the broker is connected (server/src/transport/http-routes.ts), not the database.
 */
export const defaultReadinessNeeds = new Map<string, string[]>([
  ['Deployment/switchboard', ['REDIS_URL', 'REDIS_CLUSTER_NODES']],
]);

/** The phase and wave of `obj` (invalid annotations are reported by checkSyncOrder, not here). */
export function placement(obj: K8sObject): Placement {
  const a = obj.metadata.annotations ?? {};
  const wave = Number.parseInt(a[waveAnnotation] ?? '0', 10);
  const hooks = (a[hookAnnotation] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (hooks.length === 0) return { phase: 'Sync', wave: Number.isNaN(wave) ? 0 : wave, hook: false };
  // A hook in several phases first runs in the earliest; Skip is never applied.
  const phase = hooks.includes('Skip') ? undefined : phases.find((p) => hooks.includes(p));
  return { phase, wave: Number.isNaN(wave) ? 0 : wave, hook: true };
}

function rank(p: Placement): number {
  return p.phase === undefined ? Infinity : phases.indexOf(p.phase) * 1e6 + p.wave;
}

function describe(p: Placement): string {
  return p.phase === undefined
    ? 'never (not a sync hook)'
    : `${p.phase}${p.hook ? ' hook' : ''}, wave ${p.wave}`;
}

function annotationProblems(ctx: TargetContext, obj: K8sObject): Problem[] {
  const out: Problem[] = [];
  const a = obj.metadata.annotations ?? {};
  const field = (k: string) => `metadata.annotations[${k}]`;
  for (const h of (a[hookAnnotation] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    if (!hookTypes.includes(h)) {
      out.push(
        problem(
          ctx,
          'argocd-sync',
          obj,
          field(hookAnnotation),
          `"${h}" is not a hook type (${hookTypes.join(', ')})`,
        ),
      );
    }
  }
  const policies = (a[deletePolicyAnnotation] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const p of policies.filter((x) => !deletePolicies.includes(x))) {
    out.push(
      problem(
        ctx,
        'argocd-sync',
        obj,
        field(deletePolicyAnnotation),
        `"${p}" is not a delete policy (${deletePolicies.join(', ')})`,
      ),
    );
  }
  if (a[waveAnnotation] !== undefined && !/^-?\d+$/.test(a[waveAnnotation])) {
    out.push(
      problem(ctx, 'argocd-sync', obj, field(waveAnnotation), `"${a[waveAnnotation]}" is not an integer`),
    );
  }
  // A named hook that outlives a failed run blocks the next sync's create (a Job's template is
  // immutable) unless BeforeHookCreation deletes it first.
  if (
    a[hookAnnotation] &&
    policies.length > 0 &&
    !policies.includes('BeforeHookCreation') &&
    obj.metadata.name
  ) {
    out.push(
      problem(
        ctx,
        'argocd-sync',
        obj,
        field(deletePolicyAnnotation),
        `a hook with a fixed metadata.name needs BeforeHookCreation (${policies.join(', ')} leaves a failed run in place and the next sync cannot re-create it)`,
      ),
    );
  }
  return out;
}

/** The dependencies that decide whether `obj` becomes Healthy (hooks: everything they use). */
function healthDependencies(
  index: RenderIndex,
  obj: K8sObject,
  readiness: Map<string, string[]>,
): Dependency[] {
  const all = dependenciesOf(index, obj);
  const needs = placement(obj).hook ? undefined : readiness.get(objectId(obj));
  if (!needs) return all;
  // Declared readiness: plain references always count, Services only through the named variables.
  return all.filter((d) => d.env === undefined || needs.includes(d.env));
}

/** Every sync-order problem of one render target. */
export function checkSyncOrder(
  ctx: TargetContext,
  readiness: Map<string, string[]> = defaultReadinessNeeds,
): Problem[] {
  const out: Problem[] = [];
  const index = new RenderIndex(ctx.objects);
  for (const obj of ctx.objects) {
    out.push(...annotationProblems(ctx, obj));
    const mine = placement(obj);
    if (mine.phase === undefined) continue;
    for (const d of healthDependencies(index, obj, readiness)) {
      const theirs = placement(d.object);
      const needsEarlier = mine.hook && d.mustBeHealthy;
      const late = needsEarlier ? rank(theirs) >= rank(mine) : rank(theirs) > rank(mine);
      if (!late) continue;
      const what = `${objectId(d.object)} (${d.via})`;
      const message =
        mine.phase === 'PreSync' && theirs.phase !== 'PreSync'
          ? `this PreSync hook needs ${what}, which is applied in ${describe(theirs)}: PreSync hooks run before the manifests are applied, so on a first sync it does not exist yet`
          : `${describe(mine)} needs ${what}, applied at ${describe(theirs)}: Argo CD starts a wave only when the previous ones are Healthy${needsEarlier ? ', and a hook needs it running first' : ''}`;
      const field = `metadata.annotations[${mine.hook ? hookAnnotation : waveAnnotation}]`;
      out.push(problem(ctx, 'argocd-sync', obj, field, message));
    }
  }
  out.push(...initialiserProblems(ctx, index, readiness));
  return out;
}

/**
 * A hook that talks to a Service initialises what is behind it (a cluster-create Job, a schema
 * migration). A resource whose health needs that Service and that is applied before the hook
 * waits for the hook, which waits for it: the sync never finishes.
 */
function initialiserProblems(
  ctx: TargetContext,
  index: RenderIndex,
  readiness: Map<string, string[]>,
): Problem[] {
  const out: Problem[] = [];
  const hooks = ctx.objects.filter((o) => placement(o).hook && placement(o).phase !== undefined);
  for (const hook of hooks) {
    const at = placement(hook);
    for (const used of dependenciesOf(index, hook).filter((d) => d.object.kind === 'Service')) {
      const service = used.object;
      const backends = index.backends(service);
      for (const consumer of ctx.objects) {
        if (consumer === hook || backends.includes(consumer) || placement(consumer).hook) continue;
        if (rank(placement(consumer)) >= rank(at)) continue;
        const need = healthDependencies(index, consumer, readiness).find((d) => d.object === service);
        if (!need) continue;
        const why =
          at.phase === 'PostSync'
            ? 'PostSync starts only after every resource is Healthy'
            : `${describe(at)} starts only after ${describe(placement(consumer))} is Healthy`;
        out.push(
          problem(
            ctx,
            'argocd-sync',
            hook,
            `metadata.annotations[${hookAnnotation}]`,
            `initialises ${objectId(service)}, which ${objectId(consumer)} needs to become Healthy (${need.via}); ${why}, so on a first sync ${objectId(consumer)} never does: run it in an earlier phase or wave than ${objectId(consumer)}`,
          ),
        );
      }
    }
  }
  return out;
}

export const argoSyncPolicy: Policy = {
  name: 'argocd-sync',
  description:
    "Argo CD's phases and waves apply what each object needs before it (PreSync hooks need only earlier PreSync waves; nothing Healthy may wait on a later hook); hook annotations are valid",
  check: (ctx) => (ctx.argoCd === false ? [] : checkSyncOrder(ctx)),
};
