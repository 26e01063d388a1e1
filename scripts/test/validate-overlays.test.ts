// The repository's own manifests: every overlay renders and validates clean, the Argo CD project
// is checked against what the overlays render, and a broken kustomization is a clear problem.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  checkArgoCd,
  formatProblem,
  renderObjects,
  renderTargets,
  validateRepository,
  type K8sObject,
} from '../../pipeline/src/validate/index.js';
import { zxRunner } from '../lib/zx.js';
import { ctx, find, rendered, repoRoot, where } from './validate-fixtures.js';
import type { Loose } from './validate-fixtures.js';

describe('repository manifests', () => {
  test('all overlays, the load test and the Argo CD objects validate clean', async () => {
    const { problems, counts } = await validateRepository(repoRoot, zxRunner);
    assert.deepEqual(problems.map(formatProblem), []);
    for (const env of ['local', 'dev', 'preview', 'staging', 'production', 'production-canary']) {
      assert.ok(
        (counts.get(`overlays/${env}`) ?? 0) > 20,
        `overlays/${env} rendered ${counts.get(`overlays/${env}`)}`,
      );
    }
    // Every render target, and the k6 bundles checked against the pinned k6's modules.
    assert.equal(counts.size, renderTargets.length + 1);
    assert.equal(counts.get('base/loadtest/generated'), 5);
  });

  test('overlays differ where they should: Redis mode, secret source, image pinning, namespace', async () => {
    const dev = await rendered('overlays/dev');
    const prod = await rendered('overlays/production');
    const local = await rendered('overlays/local');
    const config = (objs: K8sObject[]) =>
      (
        objs.find(
          (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('switchboard-config'),
        ) as Record<string, Loose>
      ).data;
    assert.equal(config(dev).BROKER, 'redis');
    assert.equal(config(prod).BROKER, 'redis-cluster');
    assert.equal(config(prod).REDIS_CLUSTER_NODES.split(',').length, 6);
    assert.equal(find(prod, 'StatefulSet', 'redis-cluster').spec.replicas, 6);
    assert.ok(prod.some((o) => o.kind === 'ExternalSecret') && !prod.some((o) => o.kind === 'Secret'));
    assert.ok(local.some((o) => o.kind === 'Secret' && o.metadata.name.startsWith('switchboard-secrets-')));
    assert.match(
      find(prod, 'Deployment', 'switchboard').spec.template.spec.containers[0].image,
      /^ghcr\.io\/switchboard\/server@sha256:[0-9a-f]{64}$/,
    );
    assert.ok(prod.every((o) => o.kind === 'Namespace' || o.metadata.namespace === 'switchboard-production'));
  });

  test("production-canary: production plus the canary's move Job (PostSync), its policies and the stable pods' Service", async () => {
    const prod = await rendered('overlays/production');
    const canary = await rendered('overlays/production-canary');
    const id = (o: K8sObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
    const added = canary.map(id).filter((i) => !prod.map(id).includes(i));
    assert.deepEqual(added.sort(), [
      'Job/switchboard-production/switchboard-canary-move',
      'NetworkPolicy/switchboard-production/switchboard-canary-move',
      'NetworkPolicy/switchboard-production/switchboard-canary-move-in',
      'Service/switchboard-production/switchboard-stable',
    ]);
    const job = find(canary, 'Job', 'switchboard-canary-move');
    assert.equal(job.metadata.annotations?.['argocd.argoproj.io/hook'], 'PostSync');
    assert.match(
      job.spec.template.spec.containers[0].image,
      /^ghcr\.io\/switchboard\/server@sha256:[0-9a-f]{64}$/,
    );
    // The stable pods carry track: stable (not in the immutable selector); the headless Service picks only them.
    const deployment = find(prod, 'Deployment', 'switchboard');
    assert.equal(deployment.spec.template.metadata.labels.track, 'stable');
    assert.equal(deployment.spec.selector.matchLabels.track, undefined);
    const stable = find(canary, 'Service', 'switchboard-stable');
    assert.equal(stable.spec.clusterIP, 'None');
    assert.equal(stable.spec.selector.track, 'stable');
    // One Service for the ServiceMonitor, or Prometheus scrapes every pod twice (two `job` labels).
    const monitored = find(canary, 'ServiceMonitor', 'switchboard').spec.selector.matchLabels as Record<
      string,
      string
    >;
    const scraped = canary.filter(
      (o) =>
        o.kind === 'Service' && Object.entries(monitored).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    assert.deepEqual(
      scraped.map((o) => o.metadata.name),
      ['switchboard'],
    );
  });

  test('argocd: a rendered kind the project does not allow, a destination outside it, an unknown overlay', async () => {
    const argo = await rendered('argocd');
    const project = find(argo, 'AppProject', 'switchboard');
    project.spec.namespaceResourceWhitelist = project.spec.namespaceResourceWhitelist.filter(
      (gk: { kind: string }) => gk.kind !== 'NetworkPolicy',
    );
    find(argo, 'Application', 'switchboard-dev').spec.destination.namespace = 'kube-system';
    find(argo, 'Application', 'switchboard-staging').spec.source.path = 'rendered/stagin';
    const overlays = new Map<string, K8sObject[]>();
    for (const env of ['dev', 'preview', 'staging', 'production']) {
      overlays.set(`overlays/${env}`, await rendered(`overlays/${env}`));
    }
    overlays.set('base/monitoring/dashboards', await rendered('base/monitoring/dashboards'));
    const found = checkArgoCd(ctx(argo, 'argocd', false), overlays);
    const lines = [...new Set(where(found))].sort();
    assert.deepEqual(lines, [
      'AppProject/switchboard spec.namespaceResourceWhitelist',
      'Application/switchboard-dev spec.destination',
      'Application/switchboard-dev spec.destination.namespace',
      'Application/switchboard-staging spec.source.path',
    ]);
    assert.ok(found.some((p) => /renders networking.k8s.io\/NetworkPolicy/.test(p.message)));
  });

  test("a kustomization that does not build is reported with kustomize's reason", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-validate-'));
    try {
      writeFileSync(join(dir, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
      await assert.rejects(
        renderObjects(dir, process.cwd(), zxRunner),
        /kubectl kustomize .* failed: .*missing\.yaml/s,
      );
      const { problems } = await validateRepository(repoRoot, zxRunner, [
        { name: 'broken', dirs: [dir], requireDigests: false },
      ]);
      assert.equal(problems.length, 1);
      assert.equal(problems[0]?.check, 'render');
      assert.match(formatProblem(problems[0]!), /^broken: \(render\) -: kubectl kustomize/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
