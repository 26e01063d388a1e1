/**
 * The subset of Argo CD's REST API types this client reads and writes, named after and shaped like
 * the `definitions` in argocd-swagger.json (v3.6). Every field is optional there, so it is here too:
 * code must not assume a field is present just because Argo CD usually sends it.
 */

/** `v1alpha1HealthStatus.status` values (gitops-engine health codes). */
export type HealthStatusCode = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
/** `v1alpha1SyncStatus.status` values. */
export type SyncStatusCode = 'Synced' | 'OutOfSync' | 'Unknown';
/** `v1alpha1OperationState.phase` values. */
export type OperationPhase = 'Running' | 'Terminating' | 'Failed' | 'Error' | 'Succeeded';

/** `v1ObjectMeta` (the fields used here). */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

/** `v1alpha1ApplicationSourceKustomize` (the fields used here). */
export interface ApplicationSourceKustomize {
  images?: string[];
  namespace?: string;
  namePrefix?: string;
  nameSuffix?: string;
  commonLabels?: Record<string, string>;
  commonAnnotations?: Record<string, string>;
  patches?: KustomizePatch[];
}

/** `v1alpha1KustomizePatch`: an inline patch and the objects it targets. */
export interface KustomizePatch {
  patch?: string;
  path?: string;
  target?: { group?: string; version?: string; kind?: string; name?: string; namespace?: string };
}

/** `v1alpha1ApplicationSource`. */
export interface ApplicationSource {
  repoURL?: string;
  path?: string;
  targetRevision?: string;
  chart?: string;
  ref?: string;
  kustomize?: ApplicationSourceKustomize;
}

/** `v1alpha1ApplicationDestination`. */
export interface ApplicationDestination {
  server?: string;
  name?: string;
  namespace?: string;
}

/** `v1alpha1SyncPolicyAutomated`. `enabled: false` switches automation off while keeping the block. */
export interface SyncPolicyAutomated {
  prune?: boolean;
  selfHeal?: boolean;
  allowEmpty?: boolean;
  enabled?: boolean;
}

/** `v1alpha1SyncPolicy`. */
export interface SyncPolicy {
  automated?: SyncPolicyAutomated;
  syncOptions?: string[];
}

/** `v1alpha1ApplicationSpec`. */
export interface ApplicationSpec {
  project?: string;
  source?: ApplicationSource;
  sources?: ApplicationSource[];
  destination?: ApplicationDestination;
  syncPolicy?: SyncPolicy;
  revisionHistoryLimit?: number;
}

/** `v1alpha1HealthStatus` / `v1alpha1AppHealthStatus`. */
export interface HealthStatus {
  status?: HealthStatusCode | string;
  message?: string;
  lastTransitionTime?: string;
}

/** `applicationv1alpha1ResourceStatus`: one managed resource in `status.resources`. */
export interface ResourceStatus {
  group?: string;
  version?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  status?: SyncStatusCode | string;
  health?: HealthStatus;
  hook?: boolean;
  requiresPruning?: boolean;
  syncWave?: number;
}

/** `v1alpha1SyncStrategy`: `hook` is what `argocd app sync` sends by default. */
export interface SyncStrategy {
  apply?: { force?: boolean };
  hook?: { syncStrategyApply?: { force?: boolean } };
}

/** `v1alpha1SyncOperation`. */
export interface SyncOperation {
  revision?: string;
  prune?: boolean;
  dryRun?: boolean;
  syncStrategy?: SyncStrategy;
  syncOptions?: string[];
  source?: ApplicationSource;
}

/** `v1alpha1OperationInitiator`. */
export interface OperationInitiator {
  username?: string;
  automated?: boolean;
}

/** `v1alpha1Operation`: a requested operation, present on the app until the controller picks it up. */
export interface Operation {
  sync?: SyncOperation;
  initiatedBy?: OperationInitiator;
  info?: { name?: string; value?: string }[];
}

/** `v1alpha1ResourceResult`: what the sync did to one resource. */
export interface ResourceResult {
  group?: string;
  version?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  status?: string;
  message?: string;
  hookPhase?: string;
  syncPhase?: string;
}

/** `v1alpha1OperationState`. `finishedAt` is absent while the operation runs. */
export interface OperationState {
  operation?: Operation;
  phase?: OperationPhase | string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  retryCount?: number;
  syncResult?: { revision?: string; resources?: ResourceResult[]; source?: ApplicationSource };
}

/** `v1alpha1RevisionHistory`: one successful deployment; `id` is what rollback takes. */
export interface RevisionHistory {
  id?: number;
  revision?: string;
  deployedAt?: string;
  deployStartedAt?: string;
  source?: ApplicationSource;
  initiatedBy?: OperationInitiator;
}

/** `v1alpha1ApplicationCondition`. */
export interface ApplicationCondition {
  type?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** `v1alpha1SyncStatus`. */
export interface SyncStatus {
  status?: SyncStatusCode | string;
  revision?: string;
  comparedTo?: { source?: ApplicationSource; destination?: ApplicationDestination };
}

/** `v1alpha1ApplicationStatus`. */
export interface ApplicationStatus {
  sync?: SyncStatus;
  health?: HealthStatus;
  operationState?: OperationState;
  reconciledAt?: string;
  observedAt?: string;
  history?: RevisionHistory[];
  resources?: ResourceStatus[];
  conditions?: ApplicationCondition[];
  sourceType?: string;
}

/** `v1alpha1Application`. */
export interface Application {
  metadata?: ObjectMeta;
  spec?: ApplicationSpec;
  status?: ApplicationStatus;
  operation?: Operation;
}

/** `v1alpha1ResourceRef`. */
export interface ResourceRef {
  group?: string;
  version?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
}

/** `v1alpha1ResourceNode`: a live resource, managed or a child of one (Pods, ReplicaSets, ...). */
export interface ResourceNode extends ResourceRef {
  parentRefs?: ResourceRef[];
  health?: HealthStatus;
  info?: { name?: string; value?: string }[];
  resourceVersion?: string;
  createdAt?: string;
  images?: string[];
}

/** `v1alpha1ApplicationTree`. */
export interface ApplicationTree {
  nodes?: ResourceNode[];
  orphanedNodes?: ResourceNode[];
}

/** `applicationApplicationSyncRequest` (the fields used here). */
export interface SyncRequest {
  name?: string;
  revision?: string;
  prune?: boolean;
  dryRun?: boolean;
  strategy?: SyncStrategy;
  appNamespace?: string;
  project?: string;
  syncOptions?: { items?: string[] };
}

/** `applicationApplicationRollbackRequest`. */
export interface RollbackRequest {
  name?: string;
  id?: number;
  prune?: boolean;
  dryRun?: boolean;
  appNamespace?: string;
  project?: string;
}

/** `runtimeError`: the body of every non-2xx answer (grpc-gateway). */
export interface RuntimeError {
  error?: string;
  code?: number;
  message?: string;
  details?: unknown[];
}
