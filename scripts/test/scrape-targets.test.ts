// The rehearsal's Prometheus labels each pod as the Prometheus Operator's ServiceMonitor relabelling
// does (scrape-targets.ts), read from the rendered staging and production overlays: their namespaces
// tell the environments apart, and the gate file's selectors match those labels.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Replica } from '../lib/rehearse/replicas.js';
import { environmentSelector, ruleFileName, serviceMonitorTargets } from '../lib/rehearse/scrape-targets.js';
import { ManifestError } from '../lib/rehearse/manifests.js';
import { renderObjects } from '../../pipeline/src/validate/index.js';
import { zxRunner } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

const staging = await renderObjects('overlays/staging', repoRoot, zxRunner);
const production = await renderObjects('overlays/production', repoRoot, zxRunner);

const pod = (name: string, metricsPort: number) => ({ name, metricsPort }) as Replica;

describe('the stand-in Prometheus labels targets like the ServiceMonitor relabelling', () => {
  test('one target per pod with namespace, service, pod, container, job and endpoint', () => {
    const targets = serviceMonitorTargets({
      objects: staging,
      replicas: [pod('switchboard-a-0', 9001), pod('switchboard-a-1', 9002)],
    });
    assert.deepEqual(targets, [
      {
        targets: ['127.0.0.1:9001'],
        labels: {
          namespace: 'switchboard-staging',
          service: 'switchboard',
          pod: 'switchboard-a-0',
          container: 'server',
          job: 'switchboard',
          endpoint: 'metrics',
        },
      },
      {
        targets: ['127.0.0.1:9002'],
        labels: {
          namespace: 'switchboard-staging',
          service: 'switchboard',
          pod: 'switchboard-a-1',
          container: 'server',
          job: 'switchboard',
          endpoint: 'metrics',
        },
      },
    ]);
    const [prod] = serviceMonitorTargets({ objects: production, replicas: [pod('p-0', 9003)] });
    assert.equal(prod!.labels.namespace, 'switchboard-production');
  });

  test("each environment's selector and rule file differ; the gate's selectors match the labels", () => {
    assert.equal(environmentSelector(staging), 'namespace="switchboard-staging"');
    assert.equal(environmentSelector(production), 'namespace="switchboard-production"');
    assert.equal(ruleFileName(staging), 'switchboard-staging-switchboard-slo.yaml');
    assert.equal(ruleFileName(production), 'switchboard-production-switchboard-slo.yaml');
    // server-availability selects up{job="switchboard"}: the job label is the Service's name.
    const gate = JSON.parse(readFileSync(join(repoRoot, 'slo/generated/gate.json'), 'utf8')) as {
      objectives: { name: string; query: string }[];
    };
    const up = gate.objectives.find((o) => o.name === 'server-availability')!;
    assert.match(up.query, /up\{job="switchboard",\$selector\}/);
  });

  test('a ServiceMonitor that selects no Service is an error naming it', () => {
    const objects = structuredClone(staging);
    const sm = objects.find((o) => o.kind === 'ServiceMonitor')!;
    (sm.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels = {
      'app.kubernetes.io/name': 'other',
    };
    assert.throws(
      () => serviceMonitorTargets({ objects, replicas: [] }),
      (e: unknown) =>
        e instanceof ManifestError && /ServiceMonitor\/switchboard selects no Service/.test(e.message),
    );
  });
});
