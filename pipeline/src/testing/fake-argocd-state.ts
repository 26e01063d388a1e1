import type {
  Application,
  HealthStatusCode,
  Operation,
  ResourceNode,
  ResourceStatus,
  RevisionHistory,
} from '../argocd/types.js';

/** A managed resource the fake reports, with its health once the sync has settled. */
export interface FakeResource {
  kind: string;
  name: string;
  group?: string;
  version?: string;
  namespace?: string;
  /** Default: the script's `health`. */
  health?: HealthStatusCode;
  message?: string;
  /** Live children shown only in the resource tree (Pods...), with the messages people need. */
  children?: {
    kind: string;
    name: string;
    group?: string;
    version?: string;
    health: HealthStatusCode;
    message?: string;
  }[];
}

/** How the next sync or rollback on an app plays out; every field has a happy default. */
export interface FakeOperationScript {
  /** GETs during which the operation still shows Running after it was picked up. Default 1; Infinity = never ends. */
  runningPolls?: number;
  /** Final phase. Default `Succeeded`. */
  phase?: 'Succeeded' | 'Failed' | 'Error';
  /** `operationState.message` when finished. */
  message?: string;
  /** App health once settled. Default `Healthy`; `Progressing` = never settles. */
  health?: HealthStatusCode;
  /** GETs the app shows Progressing after the post-operation reconcile. Default 1. */
  progressingPolls?: number;
  /** Managed resources after the sync. Default: Deployment + Service named after the app. */
  resources?: FakeResource[];
  /** The controller never reconciles after the operation (reconciledAt stays before finishedAt). */
  neverReconcile?: boolean;
  /**
   * App health shown while the operation runs and until the post-operation reconcile. Default
   * `Progressing`; `Healthy` models stale health that only a reconcile after the operation corrects.
   */
  healthDuringOperation?: HealthStatusCode;
}

/** An application to seed the fake with. */
export interface FakeAppSeed {
  name: string;
  /** Namespace of the Application object. Default `argocd`. */
  namespace?: string;
  project?: string;
  repoURL?: string;
  path?: string;
  /** Default `main`. */
  targetRevision?: string;
  destinationNamespace?: string;
  /** Turns on `spec.syncPolicy.automated`. */
  automated?: boolean;
  /** Revisions already deployed, oldest first: history ids 1..n; the last one is live. */
  history?: string[];
}

type Stage = 'requested' | 'running' | 'terminating' | 'finished' | 'settling' | 'done';

/** One application's state plus the operation in flight. */
export interface AppRecord {
  app: Application;
  queue: FakeOperationScript[];
  /** Resources of the last settled operation (the resource tree is built from them). */
  resources: FakeResource[];
  run?: {
    script: FakeOperationScript;
    revision: string;
    stage: Stage;
    runningLeft: number;
    progressingLeft: number;
  };
}

/** Seconds-resolution timestamps like Kubernetes `metav1.Time`; advanced by the fake per request. */
export class FakeClock {
  #ms: number;
  constructor(start = Date.parse('2025-01-01T00:00:00Z')) {
    this.#ms = start;
  }
  tick(): string {
    this.#ms += 1000;
    return this.now();
  }
  now(): string {
    return new Date(this.#ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

/** Builds the record for a seeded app: Synced and Healthy at its last history revision. */
export function seedRecord(seed: FakeAppSeed, clock: FakeClock): AppRecord {
  const namespace = seed.destinationNamespace ?? seed.name;
  const source = {
    repoURL: seed.repoURL ?? 'https://github.com/acme/switchboard.git',
    path: seed.path ?? 'overlays/staging',
    targetRevision: seed.targetRevision ?? 'main',
  };
  const history: RevisionHistory[] = (seed.history ?? []).map((revision, i) => ({
    id: i + 1,
    revision,
    deployStartedAt: clock.now(),
    deployedAt: clock.now(),
    source,
    initiatedBy: { username: 'admin' },
  }));
  const resources = defaultResources(seed.name, namespace);
  const live = history.at(-1)?.revision ?? '';
  const app: Application = {
    metadata: {
      name: seed.name,
      namespace: seed.namespace ?? 'argocd',
      resourceVersion: '1',
      uid: `uid-${seed.name}`,
    },
    spec: {
      project: seed.project ?? 'default',
      source,
      destination: { server: 'https://kubernetes.default.svc', namespace },
      ...(seed.automated ? { syncPolicy: { automated: { prune: true, selfHeal: true } } } : {}),
    },
    status: {
      sync: { status: live ? 'Synced' : 'OutOfSync', revision: live },
      health: { status: live ? 'Healthy' : 'Missing' },
      reconciledAt: clock.now(),
      history,
      resources: resourceStatuses(resources, 'Healthy', live ? 'Synced' : 'OutOfSync'),
      ...(live
        ? {
            operationState: {
              operation: { sync: { revision: live }, initiatedBy: { username: 'admin' } },
              phase: 'Succeeded',
              message: 'successfully synced (all tasks run)',
              startedAt: clock.now(),
              finishedAt: clock.now(),
              syncResult: { revision: live, source },
            },
          }
        : {}),
    },
  };
  return { app, queue: [], resources };
}

/** Starts an operation the way Argo CD's API does: `app.operation` is set until the operation completes. */
export function requestOperation(
  record: AppRecord,
  operation: Operation,
  revision: string,
  script: FakeOperationScript,
) {
  record.app.operation = operation;
  record.run = {
    script,
    revision,
    stage: 'requested',
    runningLeft: script.runningPolls ?? 1,
    progressingLeft: 0,
  };
}

/** The controller's next step for `record`; the fake applies one per request that concerns the app. */
export function advance(record: AppRecord, clock: FakeClock): void {
  const run = record.run;
  const app = record.app;
  const status = (app.status ??= {});
  if (!run) return;
  const script = run.script;
  switch (run.stage) {
    case 'requested':
      status.operationState = {
        operation: app.operation,
        phase: 'Running',
        message: 'one or more tasks are running',
        startedAt: clock.now(),
      };
      if (!sameRev(status.sync?.revision, run.revision))
        status.sync = { ...status.sync, status: 'OutOfSync' };
      status.health = { status: script.healthDuringOperation ?? 'Progressing' };
      run.stage = 'running';
      return;
    case 'running':
      if (run.runningLeft > 0) {
        run.runningLeft -= 1;
        return;
      }
      return finish(record, script.phase ?? 'Succeeded', script.message, clock);
    case 'terminating':
      return finish(record, 'Failed', 'Operation terminated', clock);
    case 'finished':
      if (script.neverReconcile) return;
      status.reconciledAt = clock.now();
      if (status.operationState?.phase !== 'Succeeded') {
        run.stage = 'done';
        return;
      }
      run.progressingLeft = script.progressingPolls ?? 1;
      run.stage = 'settling';
      return settle(record);
    case 'settling':
      return settle(record);
    case 'done':
      return;
  }
}

/** `DELETE .../operation`: the controller terminates the running operation. */
export function terminate(record: AppRecord): boolean {
  if (!record.run || !['requested', 'running'].includes(record.run.stage)) return false;
  record.run.stage = 'terminating';
  if (record.app.status?.operationState) record.app.status.operationState.phase = 'Terminating';
  return true;
}

function finish(record: AppRecord, phase: string, message: string | undefined, clock: FakeClock): void {
  const run = record.run!;
  const app = record.app;
  const status = (app.status ??= {});
  const state = (status.operationState ??= { startedAt: clock.now() });
  const source = app.operation?.sync?.source ?? app.spec?.source;
  state.phase = phase;
  state.finishedAt = clock.now();
  state.message =
    message ??
    (phase === 'Succeeded' ? 'successfully synced (all tasks run)' : 'one or more objects failed to apply');
  state.operation = app.operation ?? state.operation;
  state.syncResult = { revision: run.revision, source };
  delete app.operation;
  run.stage = 'finished';
  if (phase !== 'Succeeded') return;
  status.sync = {
    status: 'Synced',
    revision: run.revision,
    comparedTo: { source, destination: app.spec?.destination },
  };
  const history = (status.history ??= []);
  const id = Math.max(0, ...history.map((h) => h.id ?? 0)) + 1;
  history.push({
    id,
    revision: run.revision,
    deployStartedAt: state.startedAt,
    deployedAt: clock.now(),
    source,
    initiatedBy: { username: 'admin' },
  });
  const namespace = app.spec?.destination?.namespace ?? '';
  record.resources = run.script.resources ?? defaultResources(app.metadata?.name ?? 'app', namespace);
  status.resources = resourceStatuses(
    record.resources,
    run.script.healthDuringOperation ?? 'Progressing',
    'Synced',
  );
}

function settle(record: AppRecord): void {
  const run = record.run!;
  const status = record.app.status!;
  if (run.progressingLeft > 0) {
    run.progressingLeft -= 1;
    status.health = { status: 'Progressing', message: 'Waiting for rollout to finish' };
    status.resources = resourceStatuses(record.resources, 'Progressing', 'Synced');
    return;
  }
  const health = run.script.health ?? 'Healthy';
  status.health = { status: health };
  status.resources = resourceStatuses(record.resources, health, 'Synced');
  if (health !== 'Progressing') run.stage = 'done';
}

/** Whether a sync/rollback is still underway in the sense of Argo CD's API (operation field set). */
export function operationPending(record: AppRecord): boolean {
  return record.app.operation !== undefined;
}

/** The resource tree: managed resources plus their scripted children. */
export function resourceTree(record: AppRecord, clock: FakeClock): { nodes: ResourceNode[] } {
  const nodes: ResourceNode[] = [];
  const statuses = record.app.status?.resources ?? [];
  for (const resource of record.resources) {
    const live = statuses.find((s) => s.kind === resource.kind && s.name === resource.name);
    const uid = `uid-${resource.kind}-${resource.name}`;
    const ref = {
      group: resource.group ?? '',
      version: resource.version ?? 'v1',
      kind: resource.kind,
      namespace: resource.namespace ?? '',
      name: resource.name,
    };
    nodes.push({ ...ref, uid, health: live?.health, createdAt: clock.now(), resourceVersion: '1' });
    const settled = record.run?.stage === 'done' || !record.run;
    for (const child of resource.children ?? []) {
      nodes.push({
        group: child.group ?? '',
        version: child.version ?? 'v1',
        kind: child.kind,
        namespace: resource.namespace ?? '',
        name: child.name,
        uid: `uid-${child.kind}-${child.name}`,
        parentRefs: [{ ...ref, uid }],
        health: settled ? { status: child.health, message: child.message } : { status: 'Progressing' },
        createdAt: clock.now(),
        resourceVersion: '1',
      });
    }
  }
  return { nodes };
}

function defaultResources(name: string, namespace: string): FakeResource[] {
  return [
    { group: 'apps', kind: 'Deployment', name, namespace },
    { kind: 'Service', name, namespace, health: 'Healthy' },
  ];
}

function resourceStatuses(resources: FakeResource[], health: string, sync: string): ResourceStatus[] {
  return resources.map((r) => {
    const settledHealth = health === 'Progressing' ? 'Progressing' : (r.health ?? health);
    return {
      group: r.group ?? '',
      version: r.version ?? 'v1',
      kind: r.kind,
      namespace: r.namespace ?? '',
      name: r.name,
      status: sync,
      health: {
        status: settledHealth,
        ...(health !== 'Progressing' && r.message ? { message: r.message } : {}),
      },
    };
  });
}

function sameRev(a: string | undefined, b: string): boolean {
  return (a ?? '').toLowerCase() === b.toLowerCase();
}
