// Reading an Argo CD Application's status the way `argocd app wait` does: when a rollout has
// succeeded, failed, degraded or is still pending (and on what), which resources are unhealthy, and
// which revision a rollback returns to.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assessRollout,
  expectedRevision,
  findRollbackTarget,
  formatUnhealthyResource,
  isAutomatedSyncEnabled,
  isOperationInProgress,
  listUnhealthyResources,
  sameRevision,
  trackedRevision,
  type Application,
} from '../src/argocd/index.js';

const SHA = 'abcdef0123456789abcdef0123456789abcdef01';
const finished = '2026-12-05T10:00:00Z';

function app(status: NonNullable<Application['status']>, extra: Partial<Application> = {}): Application {
  return { metadata: { name: 'web' }, status, ...extra } as Application;
}
const synced = { sync: { status: 'Synced', revision: SHA }, health: { status: 'Healthy' } } as const;
const done = (phase: string, reconciledAt = '2026-12-05T10:00:05Z') =>
  app({
    ...synced,
    reconciledAt,
    operationState: { phase, finishedAt: finished, operation: { sync: {} } },
  } as never);

test('an operation is in progress until the controller has reconciled after it finished', () => {
  assert.equal(isOperationInProgress(app({}, { operation: { sync: {} } } as never)), true, 'requested');
  assert.equal(isOperationInProgress(app({})), false, 'nothing happened');
  assert.equal(isOperationInProgress(app({ operationState: { phase: 'Running' } } as never)), true);
  assert.equal(isOperationInProgress(done('Succeeded')), false);
  assert.equal(
    isOperationInProgress(done('Succeeded', '2026-12-05T09:59:59Z')),
    true,
    'reconciled before it finished',
  );
  assert.equal(isOperationInProgress(done('Succeeded', finished)), false, 'reconciled at the same second');
  assert.equal(
    isOperationInProgress(app({ operationState: { phase: 'Succeeded', finishedAt: finished } } as never)),
    true,
    'never reconciled',
  );
  const dryRun = app({
    operationState: { phase: 'Succeeded', finishedAt: finished, operation: { sync: { dryRun: true } } },
  } as never);
  assert.equal(isOperationInProgress(dryRun), false, 'a dry run changes nothing to wait for');
});

test('succeeded: operation done, synced to the revision, healthy', () => {
  assert.deepEqual(assessRollout(done('Succeeded'), SHA.slice(0, 7)), {
    outcome: 'succeeded',
    syncStatus: 'Synced',
    healthStatus: 'Healthy',
    healthMessage: undefined,
    revision: SHA,
    operationPhase: 'Succeeded',
    operationMessage: undefined,
    operationInProgress: false,
    waitingFor: [],
  });
});

test('failed and degraded are final; pending says what it waits for', () => {
  for (const phase of ['Failed', 'Error']) {
    const a = assessRollout(done(phase), SHA);
    assert.deepEqual([a.outcome, a.waitingFor], ['failed', []], phase);
  }
  const degraded = done('Succeeded');
  degraded.status!.health = { status: 'Degraded', message: 'CrashLoopBackOff' };
  const d = assessRollout(degraded, SHA);
  assert.deepEqual(
    [d.outcome, d.healthMessage, d.waitingFor],
    ['degraded', 'CrashLoopBackOff', ['health Healthy (is Degraded)']],
  );

  const requested = assessRollout(app({ ...synced } as never, { operation: { sync: {} } } as never), SHA);
  assert.deepEqual(
    [requested.outcome, requested.waitingFor],
    ['pending', ['the requested operation to be picked up by the controller']],
  );
  const failedButRequested = done('Failed');
  failedButRequested.operation = { sync: {} } as never;
  assert.equal(
    assessRollout(failedButRequested, SHA).outcome,
    'pending',
    'a new operation replaces the failed one',
  );

  const running = assessRollout(app({ operationState: { phase: 'Running' } } as never), SHA);
  assert.deepEqual(running.waitingFor, [
    'the operation to finish (phase Running)',
    'sync status Synced (is Unknown)',
    `revision ${SHA} (is none)`,
    'health Healthy (is Unknown)',
  ]);
  assert.deepEqual(
    assessRollout(app({ operationState: {} } as never), SHA).waitingFor[0],
    'the operation to finish (phase unknown)',
  );
  const unreconciled = assessRollout(done('Succeeded', '2026-12-05T09:00:00Z'), SHA);
  assert.deepEqual(unreconciled.waitingFor, [
    'the controller to reconcile the app after the operation finished',
  ]);
  assert.equal(unreconciled.outcome, 'pending');
  const degradedUnreconciled = done('Succeeded', '2026-12-05T09:00:00Z');
  degradedUnreconciled.status!.health = { status: 'Degraded' };
  assert.equal(
    assessRollout(degradedUnreconciled, SHA).outcome,
    'pending',
    'not final before reconciliation',
  );

  const never = assessRollout(app({ ...synced } as never), SHA);
  assert.deepEqual(never.waitingFor, ['operation phase Succeeded (is none)']);
  const other = assessRollout(done('Succeeded'), '1234567');
  assert.deepEqual(other.waitingFor, [`revision 1234567 (is ${SHA})`]);
  const outOfSync = done('Succeeded');
  outOfSync.status!.sync = { status: 'OutOfSync', revision: SHA };
  assert.deepEqual(assessRollout(outOfSync, SHA).waitingFor, ['sync status Synced (is OutOfSync)']);
  const terminating = done('Terminating');
  assert.deepEqual(assessRollout(terminating, SHA).waitingFor, [
    'operation phase Succeeded (is Terminating)',
  ]);
});

test('revisions: case, spaces and abbreviated SHAs; branch names must match exactly', () => {
  assert.equal(sameRevision(` ${SHA.toUpperCase()} `, SHA), true);
  assert.equal(sameRevision(SHA, SHA.slice(0, 7)), true);
  assert.equal(sameRevision(SHA.slice(0, 7), SHA), true);
  assert.equal(sameRevision(SHA.slice(0, 6), SHA), false, 'fewer than 7 hex digits is not a SHA');
  assert.equal(sameRevision('main', 'main'), true);
  assert.equal(sameRevision('main', 'mainline'), false);
  assert.equal(sameRevision('', ''), false);
  assert.equal(sameRevision(SHA, ''), false);
  assert.equal(sameRevision('', SHA), false);
  assert.equal(sameRevision(`${SHA}0`, SHA), false, '41 characters is not a SHA');
  assert.equal(sameRevision('1234567', '1234568'), false);
});

test('unhealthy resources: managed first, children after, messages filled from the tree', () => {
  const a = app({
    resources: [
      {
        group: 'apps',
        kind: 'Deployment',
        namespace: 'prod',
        name: 'web',
        health: { status: 'Progressing' },
      },
      { kind: 'Service', namespace: 'prod', name: 'web', health: { status: 'Healthy' } },
      { kind: 'ConfigMap', name: 'cm' },
      { kind: 'Secret', namespace: 'prod', name: 's', health: { status: 'Missing', message: 'gone' } },
    ],
  } as never);
  const tree = {
    nodes: [
      {
        group: 'apps',
        kind: 'ReplicaSet',
        namespace: 'prod',
        name: 'web-1',
        health: { status: 'Degraded', message: 'bad' },
        parentRefs: [{}],
      },
      {
        group: 'apps',
        kind: 'Deployment',
        namespace: 'prod',
        name: 'web',
        health: { status: 'Progressing', message: 'rolling' },
      },
      { kind: 'Secret', namespace: 'prod', name: 's', health: { status: 'Missing', message: 'other' } },
      { kind: 'Pod', namespace: 'prod', name: 'ok', health: { status: 'Healthy' } },
      { kind: 'Pod', namespace: 'prod', name: 'none' },
      { kind: 'Job', name: 'j', health: { status: 'Degraded' }, parentRefs: [] },
    ],
  };
  const list = listUnhealthyResources(a, tree as never);
  assert.deepEqual(list, [
    {
      group: 'apps',
      kind: 'Deployment',
      namespace: 'prod',
      name: 'web',
      health: 'Progressing',
      message: 'rolling',
      origin: 'managed',
    },
    {
      group: '',
      kind: 'Secret',
      namespace: 'prod',
      name: 's',
      health: 'Missing',
      message: 'gone',
      origin: 'managed',
    },
    { group: '', kind: 'Job', namespace: '', name: 'j', health: 'Degraded', message: '', origin: 'managed' },
    {
      group: 'apps',
      kind: 'ReplicaSet',
      namespace: 'prod',
      name: 'web-1',
      health: 'Degraded',
      message: 'bad',
      origin: 'child',
    },
  ]);
  assert.deepEqual(listUnhealthyResources(app({})), []);
  assert.equal(formatUnhealthyResource(list[0]!), 'Deployment prod/web: Progressing - rolling');
  assert.equal(formatUnhealthyResource(list[2]!), 'Job j: Degraded');
});

test('auto-sync, the tracked revision, and the rollback target', () => {
  const spec = (s: object) => app({}, { spec: s } as never);
  assert.equal(isAutomatedSyncEnabled(spec({ syncPolicy: { automated: {} } })), true);
  assert.equal(isAutomatedSyncEnabled(spec({ syncPolicy: { automated: { enabled: false } } })), false);
  assert.equal(isAutomatedSyncEnabled(spec({ syncPolicy: { automated: null } })), false);
  assert.equal(isAutomatedSyncEnabled(spec({ syncPolicy: {} })), false);
  assert.equal(trackedRevision(spec({ source: { targetRevision: 'deploy/prod' } })), 'deploy/prod');
  assert.equal(
    trackedRevision(spec({ sources: [{ targetRevision: 'v2' }, { targetRevision: 'v3' }] })),
    'v2',
  );
  assert.equal(trackedRevision(spec({ source: { targetRevision: '' } })), 'HEAD');
  const history = [
    { id: 1, revision: '1'.repeat(40) },
    { id: 3, revision: SHA },
    { revision: '9'.repeat(40) },
    { id: 2, revision: '2'.repeat(40) },
  ];
  assert.equal(findRollbackTarget(history as never, SHA.slice(0, 8))?.id, 2, 'the newest other revision');
  assert.equal(findRollbackTarget(history as never, '2'.repeat(40))?.id, 3);
  assert.equal(findRollbackTarget([{ id: 1, revision: SHA }] as never, SHA), undefined);
  assert.equal(findRollbackTarget(undefined, SHA), undefined);
});

test('the expected revision: a SHA as given, a branch as the commit our finished sync resolved it to', () => {
  const resolved = (extra: Partial<Application> = {}, running = false) =>
    app(
      {
        operationState: {
          phase: running ? 'Running' : 'Succeeded',
          finishedAt: running ? undefined : finished,
          syncResult: { revision: SHA },
        },
      } as never,
      extra,
    );
  assert.equal(expectedRevision(resolved(), '1234567'), '1234567', 'a short SHA is taken as given');
  assert.equal(expectedRevision(resolved(), 'ABCDEF0123'), 'ABCDEF0123', 'in either case');
  assert.equal(expectedRevision(resolved(), 'main'), SHA);
  assert.equal(expectedRevision(resolved(), '123456'), SHA, 'six hex digits are a name, not a SHA');
  assert.equal(expectedRevision(resolved(), `v${'1'.repeat(40)}`), SHA);
  assert.equal(expectedRevision(resolved(), `${'1'.repeat(40)}0`), SHA, '41 hex digits are not a SHA');
  assert.equal(
    expectedRevision(resolved({ operation: { sync: {} } } as never), 'main'),
    'main',
    'a requested operation has not resolved it yet',
  );
  assert.equal(expectedRevision(resolved({}, true), 'main'), 'main', 'still running');
  assert.equal(
    expectedRevision(app({ operationState: { phase: 'Succeeded', finishedAt: finished } } as never), 'main'),
    'main',
    'no sync result',
  );
  assert.equal(expectedRevision(app({}), 'main'), 'main');
});

test('an application without status, spec or history fields reads as nothing to wait for', () => {
  const bare: Application = { metadata: { name: 'web' } };
  assert.equal(isOperationInProgress(bare), false);
  assert.equal(expectedRevision(bare, 'main'), 'main');
  assert.deepEqual(listUnhealthyResources(bare, { nodes: [] }), []);
  assert.equal(isAutomatedSyncEnabled(bare), false);
  assert.equal(isAutomatedSyncEnabled(app({}, { spec: {} } as never)), false);
  assert.equal(trackedRevision(bare), 'HEAD');
  assert.equal(trackedRevision(app({}, { spec: { sources: [] } } as never)), 'HEAD');
  assert.equal(
    findRollbackTarget([{ revision: '1'.repeat(40) }, { id: 1, revision: SHA }] as never, SHA),
    undefined,
    'an entry without an id cannot be rolled back to',
  );
  assert.equal(
    findRollbackTarget([{ id: 2 }, { id: 1, revision: SHA }] as never, SHA)?.id,
    2,
    'an entry without a revision is another revision',
  );
});

test('a running operation is in progress even when the app was reconciled during it', () => {
  const running = app({ reconciledAt: finished, operationState: { phase: 'Running' } } as never);
  assert.equal(isOperationInProgress(running), true);
  const finishedWithoutSync = app({
    reconciledAt: finished,
    operationState: { phase: 'Succeeded', finishedAt: finished, operation: {} },
  } as never);
  assert.equal(isOperationInProgress(finishedWithoutSync), false);
});

test('only a Succeeded operation makes Degraded final', () => {
  const neverSynced = app({
    sync: { status: 'Synced', revision: SHA },
    health: { status: 'Degraded' },
  } as never);
  assert.equal(assessRollout(neverSynced, SHA).outcome, 'pending');
  const terminated = done('Terminating');
  terminated.status!.health = { status: 'Degraded' };
  assert.equal(assessRollout(terminated, SHA).outcome, 'pending');
  assert.equal(sameRevision(SHA, ` ${SHA.toUpperCase()}\n`), true, 'the expected revision is trimmed too');
});

test('unhealthy resources are told apart by group, kind, namespace and name', () => {
  const managed = app({
    resources: [
      { group: 'apps', kind: 'Deployment', namespace: 'prod', name: 'web', health: { status: 'Degraded' } },
      { kind: 'Pod', namespace: 'a', name: 'bc', health: { status: 'Degraded' } },
      { health: { status: 'Missing' } },
    ],
  } as never);
  const nodes = [
    // the same resource as a managed one, group given as '' instead of left out: merged
    { group: '', kind: 'Pod', namespace: 'a', name: 'bc', health: { status: 'Degraded', message: 'm0' } },
    // each differs from the managed Deployment in one field
    { kind: 'Deployment', namespace: 'prod', name: 'web', health: { status: 'Degraded', message: 'm1' } },
    { group: 'apps', kind: 'StatefulSet', namespace: 'prod', name: 'web', health: { status: 'Degraded' } },
    { group: 'apps', kind: 'Deployment', namespace: 'dev', name: 'web', health: { status: 'Degraded' } },
    { group: 'apps', kind: 'Deployment', namespace: 'prod', name: 'api', health: { status: 'Degraded' } },
    // the same letters as the managed Pod, split differently between namespace and name
    { kind: 'Pod', namespace: 'ab', name: 'c', health: { status: 'Degraded' } },
    { namespace: 'x', health: { status: 'Unknown' }, parentRefs: [{ kind: 'ReplicaSet' }] },
  ];
  const list = listUnhealthyResources(managed, { nodes } as never);
  assert.deepEqual(
    list.map((r) => [r.group, r.kind, r.namespace, r.name, r.health, r.message, r.origin].join('|')),
    [
      'apps|Deployment|prod|web|Degraded||managed',
      '|Pod|a|bc|Degraded|m0|managed',
      '||||Missing||managed',
      '|Deployment|prod|web|Degraded|m1|managed',
      'apps|StatefulSet|prod|web|Degraded||managed',
      'apps|Deployment|dev|web|Degraded||managed',
      'apps|Deployment|prod|api|Degraded||managed',
      '|Pod|ab|c|Degraded||managed',
      '||x||Unknown||child',
    ],
  );
});
