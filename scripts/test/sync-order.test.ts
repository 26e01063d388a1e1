// Argo CD's sync order and wave rules as the rehearsal plays them (scripts/lib/rehearse/sync-order.ts,
// sync-run.ts), on fixtures and on the rendered staging overlay, against a model cluster with
// Kubernetes' dependencies: a pod needs its Secret, the migration needs PostgreSQL, the server's
// readiness needs a migrated database and a formed Redis Cluster, an HPA needs its Deployment.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { K8sObject } from '../../pipeline/src/validate/index.js';
import { renderObjects } from '../../pipeline/src/validate/index.js';
import { syncSteps, syncTasks, taskName, type SyncTask } from '../lib/rehearse/sync-order.js';
import { runSync, type Health, type SyncTarget } from '../lib/rehearse/sync-run.js';
import { zxRunner } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

const ns = 'switchboard-staging';

function obj(
  kind: string,
  name: string,
  annotations?: Record<string, string>,
  extra: object = {},
): K8sObject {
  return {
    apiVersion: kind === 'Namespace' ? 'v1' : kind === 'Job' ? 'batch/v1' : 'apps/v1',
    kind,
    metadata: {
      name,
      ...(kind === 'Namespace' ? {} : { namespace: ns }),
      ...(annotations ? { annotations } : {}),
    },
    ...extra,
  } as K8sObject;
}

const hook = (phase: string, wave?: number) => ({
  'argocd.argoproj.io/hook': phase,
  ...(wave === undefined ? {} : { 'argocd.argoproj.io/sync-wave': String(wave) }),
});

/** The rendered staging objects with the hook and wave annotations main had before the fix. */
function asOnMain(objects: K8sObject[]): K8sObject[] {
  return objects.map((o) => {
    const copy = structuredClone(o);
    const a = copy.metadata.annotations;
    if (a) delete a['argocd.argoproj.io/sync-wave'];
    if (o.kind === 'Job' && o.metadata.name === 'switchboard-migrate')
      a!['argocd.argoproj.io/hook'] = 'PreSync';
    if (o.kind === 'Job' && o.metadata.name === 'redis-cluster-create')
      a!['argocd.argoproj.io/hook'] = 'PostSync';
    return copy;
  });
}

/** A model cluster: what each object needs before it is Healthy, and the order things happened in. */
class ModelCluster implements SyncTarget {
  readonly events: string[] = [];
  private readonly applied = new Set<string>();
  private secret = false;
  private migrated = false;
  private clusterFormed = false;
  constructor(bootstrapped = false) {
    // The documented selective sync of main's docs/kubernetes.md: Secret and PostgreSQL first.
    if (bootstrapped) {
      this.secret = true;
      this.applied.add('StatefulSet/postgres');
    }
  }
  async apply(task: SyncTask): Promise<void> {
    this.events.push(`apply ${task.phase}/${task.wave} ${taskName(task)}`);
    this.applied.add(taskName(task));
    if (task.object.kind === 'ExternalSecret') this.secret = true;
  }
  async settle(task: SyncTask): Promise<Health | undefined> {
    const name = taskName(task);
    const result = this.health(name);
    this.events.push(`${result?.status ?? 'no health'} ${name}`);
    return result;
  }
  private health(name: string): Health | undefined {
    const waiting = (message: string): Health => ({ status: 'Progressing', message });
    switch (name) {
      case 'StatefulSet/postgres':
        return this.secret ? { status: 'Healthy' } : waiting('secret "switchboard-secrets" not found');
      case 'StatefulSet/redis-cluster':
        return { status: 'Healthy' };
      case 'Job/switchboard-migrate':
        if (!this.secret) return waiting('secret "switchboard-secrets" not found');
        if (!this.applied.has('StatefulSet/postgres'))
          return { status: 'Degraded', message: 'postgres: no such host' };
        this.migrated = true;
        return { status: 'Healthy' };
      case 'Job/redis-cluster-create':
        if (!this.applied.has('StatefulSet/redis-cluster'))
          return { status: 'Degraded', message: 'no nodes' };
        this.clusterFormed = true;
        return { status: 'Healthy' };
      case 'Deployment/switchboard':
        if (!this.secret) return waiting('secret "switchboard-secrets" not found');
        if (!this.migrated) return waiting('/readyz 503: schema not migrated');
        if (!this.clusterFormed) return waiting('/readyz 503: Redis Cluster not formed (CLUSTERDOWN)');
        return { status: 'Healthy' };
      case 'HorizontalPodAutoscaler/switchboard':
        return this.applied.has('Deployment/switchboard')
          ? { status: 'Healthy' }
          : { status: 'Degraded', message: 'FailedGetScale' };
      default:
        return undefined;
    }
  }
}

const staging = await renderObjects('overlays/staging', repoRoot, zxRunner);

const stepNames = (objects: K8sObject[]) =>
  syncSteps(objects).map((s) => `${s.phase} ${s.wave}: ${s.tasks.map(taskName).join(' ')}`);

describe("Argo CD's sync order (gitops-engine v3.5.1)", () => {
  test('phase, then wave, then kind (Namespace first, custom resources last), then name', () => {
    const objects = [
      obj('ExternalSecret', 's'),
      obj('Deployment', 'b'),
      obj('Deployment', 'a'),
      obj('StatefulSet', 'db'),
      obj('Job', 'late', hook('Sync', 1)),
      obj('Job', 'post', hook('PostSync')),
      obj('Job', 'pre', hook('PreSync', -5)),
      obj('ConfigMap', 'c', { 'argocd.argoproj.io/sync-wave': 'not-a-number' }),
    ];
    assert.deepEqual(stepNames(objects), [
      'PreSync -5: Job/pre',
      'Sync 0: ConfigMap/c Deployment/a Deployment/b StatefulSet/db ExternalSecret/s',
      'Sync 1: Job/late',
      'PostSync 0: Job/post',
    ]);
  });

  test('a Namespace moves ahead of the first object in it and takes its phase and wave', () => {
    const objects = [obj('Job', 'migrate', hook('PreSync')), obj('Deployment', 'd'), obj('Namespace', ns)];
    const moved = syncTasks(objects).map((t) => `${t.phase} ${t.wave} ${taskName(t)}`);
    assert.deepEqual(moved, [
      'PreSync 0 Namespace/switchboard-staging',
      'PreSync 0 Job/migrate',
      'Sync 0 Deployment/d',
    ]);
    // With its own earlier wave it stays where it is.
    const early = [obj('Namespace', ns, { 'argocd.argoproj.io/sync-wave': '-1' }), obj('Deployment', 'd')];
    assert.deepEqual(stepNames(early), ['Sync -1: Namespace/switchboard-staging', 'Sync 0: Deployment/d']);
  });

  test('Skip is never applied; a hook with two phases runs in both; SyncFail hooks are not a step', () => {
    const objects = [
      obj('Job', 'skipped', hook('Skip')),
      obj('Job', 'twice', hook('PreSync,PostSync')),
      obj('Job', 'on-fail', hook('SyncFail')),
      obj('Deployment', 'd'),
    ];
    assert.deepEqual(stepNames(objects), [
      'PreSync 0: Job/twice',
      'Sync 0: Deployment/d',
      'PostSync 0: Job/twice',
    ]);
  });
});

describe('runSync plays the waves with Argo CD health rules', () => {
  test('a wave starts only when the previous one is Healthy; Jobs count when complete', async () => {
    const objects = [
      obj('Namespace', ns, { 'argocd.argoproj.io/sync-wave': '-1' }),
      obj('ExternalSecret', 'switchboard-secrets'),
      obj('StatefulSet', 'postgres'),
      obj('StatefulSet', 'redis-cluster'),
      obj('Job', 'switchboard-migrate', hook('Sync', 1)),
      obj('Job', 'redis-cluster-create', hook('Sync', 1)),
      obj('Deployment', 'switchboard', { 'argocd.argoproj.io/sync-wave': '2' }),
    ];
    const model = new ModelCluster();
    const result = await runSync(objects, model);
    assert.equal(result.phase, 'Succeeded', result.message);
    const at = (e: string) => model.events.indexOf(e);
    assert.ok(at('Healthy Job/switchboard-migrate') < at('apply Sync/2 Deployment/switchboard'));
    assert.ok(at('Healthy StatefulSet/postgres') < at('apply Sync/1 Job/switchboard-migrate'));
  });

  test('PostSync hooks run only after every Sync object is Healthy: never, when they are what it waits for', async () => {
    const objects = [
      obj('ExternalSecret', 'switchboard-secrets'),
      obj('StatefulSet', 'postgres'),
      obj('StatefulSet', 'redis-cluster'),
      obj('Job', 'switchboard-migrate', hook('PreSync')),
      obj('Job', 'redis-cluster-create', hook('PostSync')),
      obj('Deployment', 'switchboard'),
    ];
    const result = await runSync(objects, new ModelCluster(true));
    assert.equal(result.phase, 'Failed');
    assert.match(
      result.message,
      /^Sync wave 0 did not complete: Deployment\/switchboard Running: .*Redis Cluster not formed/,
    );
    assert.deepEqual(result.notRun, [{ phase: 'PostSync', wave: 0, task: 'Job/redis-cluster-create' }]);
  });

  test('SyncFail hooks run only when a step fails', async () => {
    const onFail = obj('Job', 'notify', hook('SyncFail'));
    const failing = await runSync(
      [obj('Job', 'switchboard-migrate', hook('PreSync')), onFail],
      new ModelCluster(),
    );
    assert.deepEqual(
      failing.syncFail.map((t) => t.task),
      ['Job/notify'],
    );
    const model = new ModelCluster();
    const passing = await runSync([obj('StatefulSet', 'redis-cluster'), onFail], model);
    assert.equal(passing.phase, 'Succeeded');
    assert.deepEqual(passing.syncFail, []);
    assert.ok(!model.events.some((e) => e.includes('Job/notify')), model.events.join('\n'));
  });

  test('a failed hook ends the sync: later phases never run', async () => {
    const objects = [obj('Job', 'switchboard-migrate', hook('PreSync')), obj('Deployment', 'switchboard')];
    const result = await runSync(objects, new ModelCluster(false));
    assert.equal(result.phase, 'Failed');
    assert.equal(result.steps.length, 1);
    assert.match(
      result.message,
      /PreSync wave 0 did not complete: Job\/switchboard-migrate Running: .*secret/,
    );
  });
});

describe('the first sync of an empty staging namespace (issue 13, item 5)', () => {
  test('the rendered overlay converges by itself: namespace, backing services, Jobs, then the server', async () => {
    assert.deepEqual(
      syncSteps(staging).map((s) => `${s.phase} ${s.wave}`),
      ['Sync -1', 'Sync 0', 'Sync 1', 'Sync 2'],
    );
    assert.deepEqual(stepNames(staging).slice(2), [
      'Sync 1: Job/redis-cluster-create Job/switchboard-migrate',
      'Sync 2: Deployment/switchboard HorizontalPodAutoscaler/switchboard',
    ]);
    const result = await runSync(staging, new ModelCluster(false));
    assert.equal(result.phase, 'Succeeded', result.message);
  });

  test("main's hooks (PreSync migration, PostSync cluster creation) cannot finish, bootstrapped or not", async () => {
    const empty = await runSync(asOnMain(staging), new ModelCluster(false));
    assert.equal(empty.phase, 'Failed');
    assert.match(empty.message, /^PreSync wave 0 did not complete: Job\/switchboard-migrate/);
    const bootstrapped = await runSync(asOnMain(staging), new ModelCluster(true));
    assert.equal(bootstrapped.phase, 'Failed');
    assert.match(bootstrapped.message, /Deployment\/switchboard Running: .*Redis Cluster not formed/);
    assert.deepEqual(bootstrapped.notRun, [{ phase: 'PostSync', wave: 0, task: 'Job/redis-cluster-create' }]);
  });
});
