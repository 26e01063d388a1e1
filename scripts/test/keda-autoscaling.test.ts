// Issue 19 §3, first bullet: the opt-in KEDA components (base/autoscaling/keda, keda-latency). An
// overlay turned over to KEDA the way docs/kubernetes.md says (the components added, hpa.yaml's patch
// made a ScaledObject patch) is rendered in a temporary copy and goes through the validation
// `npm run validate` runs: the ScaledObject against the KEDA CRD schema of the pinned tag
// (platform/schemas/, platform/versions.yaml cluster.keda), served API versions, every policy and
// the Argo CD project's whitelist. The ScaledObject must keep the HPA's CPU and memory targets, its
// replica bounds and its behaviour: a drift from the overlay's own HPA fails here.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { configFile, loadAdopterConfig } from '../../pipeline/src/configure/config.js';
import { crdValidator } from '../../pipeline/src/validate/schema.js';
import {
  checkArgoCd,
  checkServedApis,
  replicaCeiling,
  validateObjects,
  type K8sObject,
} from '../../pipeline/src/validate/index.js';
import { podTemplates } from '../../pipeline/src/validate/workloads.js';
import { ctx, find, scratchOverlays, rendered, repoRoot, where, type Loose } from './validate-fixtures.js';

const scratch = scratchOverlays('sb-keda-');

/**
 * overlays/<env> turned over to KEDA as docs/kubernetes.md says: the components added after the
 * others, and hpa.yaml patching the ScaledObject with the HPA's own minReplicas/maxReplicas.
 */
async function kedaRender(env: string, components = ['keda']): Promise<K8sObject[]> {
  const name = `${env}-${components.join('-')}`;
  const dir = scratch.copy(env, name);
  const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Loose;
  kustomization.components = [
    ...((kustomization.components as string[] | undefined) ?? []),
    ...components.map((c) => `../../base/autoscaling/${c}`),
  ];
  writeFileSync(join(dir, 'kustomization.yaml'), stringify(kustomization));
  const hpa = parse(readFileSync(join(dir, 'hpa.yaml'), 'utf8')) as Loose;
  writeFileSync(
    join(dir, 'hpa.yaml'),
    stringify({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'switchboard' },
      spec: { minReplicaCount: hpa.spec.minReplicas, maxReplicaCount: hpa.spec.maxReplicas },
    }),
  );
  return scratch.render(name);
}

/** Where a ScaledObject differs from the HPA it replaces: bounds, CPU/memory targets, behaviour. */
export function driftFromHpa(hpa: Loose, so: Loose): string[] {
  const out: string[] = [];
  const same = (what: string, a: unknown, b: unknown) => {
    try {
      assert.deepStrictEqual(a, b);
    } catch {
      out.push(`${what}: HPA ${JSON.stringify(a)}, ScaledObject ${JSON.stringify(b)}`);
    }
  };
  same('minReplicas', hpa.spec.minReplicas, so.spec.minReplicaCount);
  same('maxReplicas', hpa.spec.maxReplicas, so.spec.maxReplicaCount);
  same('behavior', hpa.spec.behavior, so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior);
  const triggers = so.spec.triggers as Loose[];
  for (const m of hpa.spec.metrics as Loose[]) {
    const resource = m.resource.name as string;
    const t = triggers.filter((x) => x.type === resource);
    same(
      `${resource} target`,
      [{ metricType: m.resource.target.type, value: String(m.resource.target.averageUtilization) }],
      t.map((x) => ({ metricType: x.metricType, value: x.metadata?.value })),
    );
  }
  // Resource triggers the HPA does not have would be a change of targets too.
  const resources = new Set((hpa.spec.metrics as Loose[]).map((m) => m.resource.name as string));
  for (const t of triggers.filter((x) => ['cpu', 'memory'].includes(x.type) && !resources.has(x.type)))
    out.push(`${t.type}: a trigger the HPA does not have`);
  return out;
}

describe('KEDA autoscaling (base/autoscaling/keda)', () => {
  test('production with KEDA validates: the ScaledObject against the CRD schema at the pinned tag, served APIs, every policy', async () => {
    // The schema is the pinned release's: platform/schemas/ extracted from kedacore/keda v2.20.2.
    const schemaFile = JSON.parse(
      readFileSync(join(repoRoot, 'platform/schemas/keda.sh_ScaledObject_v1alpha1.json'), 'utf8'),
    ) as { source: { repository: string; tag: string; path: string } };
    assert.deepEqual(
      { ...schemaFile.source, commit: undefined },
      {
        repository: 'kedacore/keda',
        tag: 'v2.20.2',
        path: 'config/crd/bases/keda.sh_scaledobjects.yaml',
        commit: undefined,
      },
    );
    assert.ok(crdValidator('keda.sh/v1alpha1/ScaledObject'), 'no validator for the ScaledObject');
    for (const components of [['keda'], ['keda', 'keda-latency']]) {
      const objects = await kedaRender('production', components);
      const c = ctx(objects);
      assert.deepEqual(
        where([...(await validateObjects(c)), ...checkServedApis(c)]),
        [],
        components.join('+'),
      );
      assert.equal(
        objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').length,
        0,
        'KEDA owns the HPA',
      );
      find(objects, 'ScaledObject', 'switchboard');
    }
  });

  test('a ScaledObject field the pinned CRD does not allow is a schema error', async () => {
    const objects = await kedaRender('production');
    const so = find(objects, 'ScaledObject', 'switchboard');
    so.spec.minReplicaCount = 'three';
    so.spec.triggers[2].metadata.threshold = 10000;
    so.spec.advanced.horizontalPodAutoscalerConfig.behaviour = {};
    const problems = await validateObjects(ctx(objects));
    assert.deepEqual(problems.map((p) => `${p.check} ${p.object} ${p.field}`).sort(), [
      'schema ScaledObject/switchboard spec.minReplicaCount',
      'schema ScaledObject/switchboard spec.triggers[2].metadata.threshold',
      'unknown-field ScaledObject/switchboard spec.advanced.horizontalPodAutoscalerConfig.behaviour',
    ]);
  });

  test("the ScaledObject keeps each overlay's HPA: CPU 70 %, memory 80 %, bounds and behaviour", async () => {
    for (const env of ['dev', 'staging', 'production']) {
      const hpa = find(await rendered(`overlays/${env}`), 'HorizontalPodAutoscaler', 'switchboard');
      const so = find(await kedaRender(env), 'ScaledObject', 'switchboard');
      assert.deepEqual(driftFromHpa(hpa, so), [], env);
      assert.deepEqual(so.spec.scaleTargetRef, hpa.spec.scaleTargetRef, env);
      // KEDA takes the running HPA over (its webhook rejects a second autoscaler of the Deployment).
      assert.equal(so.spec.advanced.horizontalPodAutoscalerConfig.name, hpa.metadata.name);
      assert.equal(so.metadata.annotations?.['scaledobject.keda.sh/transfer-hpa-ownership'], 'true');
      assert.equal(
        so.metadata.annotations?.['argocd.argoproj.io/sync-wave'],
        hpa.metadata.annotations?.['argocd.argoproj.io/sync-wave'],
      );
    }
    // The comparison sees a changed target, a changed bound and a changed behaviour.
    const hpa = find(await rendered('overlays/production'), 'HorizontalPodAutoscaler', 'switchboard');
    const so = find(await kedaRender('production'), 'ScaledObject', 'switchboard');
    so.spec.triggers.find((t: Loose) => t.type === 'cpu').metadata.value = '75';
    so.spec.maxReplicaCount = 10;
    so.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds = 300;
    assert.deepEqual(
      driftFromHpa(hpa, so).map((d) => d.split(':')[0]),
      ['maxReplicas', 'behavior', 'cpu target'],
    );
  });

  test('it scales on connections per pod from Prometheus (10,000 a pod), and on p99 delivery latency only with keda-latency', async () => {
    const config = loadAdopterConfig(join(repoRoot, configFile));
    const ns = config.environments.production.namespace;
    const server = `http://prometheus-operated.${config.prometheus.namespace}.svc:9090`;
    const plain = find(await kedaRender('production'), 'ScaledObject', 'switchboard');
    assert.deepEqual(
      plain.spec.triggers.map((t: Loose) => t.name),
      ['cpu', 'memory', 'connections'],
    );
    assert.deepEqual(plain.spec.triggers[2], {
      type: 'prometheus',
      name: 'connections',
      metricType: 'AverageValue',
      metadata: {
        serverAddress: server,
        query: `sum(switchboard_connections{job="switchboard",namespace="${ns}"})`,
        threshold: '10000',
      },
    });
    const latency = find(
      await kedaRender('production', ['keda', 'keda-latency']),
      'ScaledObject',
      'switchboard',
    );
    const p99 = latency.spec.triggers.find((t: Loose) => t.name === 'delivery-latency');
    assert.equal(p99.metricType, 'Value');
    assert.equal(p99.metadata.serverAddress, server);
    assert.match(
      p99.metadata.query,
      /^histogram_quantile\(0\.99, .*switchboard_delivery_latency_seconds_bucket/,
    );
    assert.ok(p99.metadata.query.includes(`namespace="${ns}"`));
    // The SLO's threshold (slo/objectives.yaml, delivery-latency: 250 ms).
    assert.equal(p99.metadata.threshold, '0.25');
  });

  test("the PodDisruptionBudget policy reads the ScaledObject's maximum; Argo CD's project allows the kind", async () => {
    const objects = await kedaRender('production');
    const server = podTemplates(objects).find((p) => p.owner.metadata.name === 'switchboard');
    assert.ok(server);
    assert.equal(replicaCeiling(ctx(objects), server), 30);
    const argo = await rendered('argocd');
    const overlays = new Map([['overlays/production', objects]]);
    const production = argo.filter(
      (o) => o.kind !== 'Application' || o.metadata.name === 'switchboard-production',
    );
    assert.deepEqual(where(checkArgoCd(ctx(production, 'argocd', false), overlays)), []);
    const project = find(production, 'AppProject', 'switchboard');
    project.spec.namespaceResourceWhitelist = project.spec.namespaceResourceWhitelist.filter(
      (k: Loose) => k.kind !== 'ScaledObject',
    );
    const found = checkArgoCd(ctx(production, 'argocd', false), overlays);
    assert.deepEqual(
      found.map((p) => p.message),
      ['overlays/production renders keda.sh/ScaledObject but the project does not allow it'],
    );
  });
});
