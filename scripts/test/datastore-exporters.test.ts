// The data store exporters in the rendered overlays (issue 19, section 1): one `exporter` container
// beside every PostgreSQL and Redis pod, with its port named `metrics`, credentials from the Secret
// only, a PodMonitor per store that scrapes exactly that port with the job the alerts select on, and
// NetworkPolicies that admit Prometheus -- and nothing else -- on the exporter port.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labelSelectorMatches, podTemplates } from '../../pipeline/src/validate/workloads.js';
import type { K8sObject } from '../../pipeline/src/validate/index.js';
import { container, find, rendered, type Loose } from './validate-fixtures.js';

const prometheusPeer = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
};

/** Per overlay: the data store StatefulSets, and the job each one's series get (its app.kubernetes.io/name). */
const postgres = { sts: 'postgres', port: 9187, job: 'postgres', monitor: 'postgres' };
const withCluster = [postgres, { sts: 'redis-cluster', port: 9121, job: 'redis-cluster', monitor: 'redis' }];
const withStandalone = [postgres, { sts: 'redis', port: 9121, job: 'redis', monitor: 'redis' }];
const stores: Record<string, { sts: string; port: number; job: string; monitor: string }[]> = {
  'overlays/production': withCluster,
  'overlays/staging': withCluster,
  'overlays/dev': withStandalone,
  'overlays/preview': withStandalone,
};

/** Ingress rules of every NetworkPolicy selecting `labels` that name `port`. */
function ingressRulesFor(objects: K8sObject[], labels: Record<string, string>, port: number): Loose[] {
  return objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .filter((np) => labelSelectorMatches((np as Loose).spec.podSelector, labels))
    .flatMap((np) => ((np as Loose).spec.ingress ?? []) as Loose[])
    .filter((rule) => (rule.ports ?? []).some((p: Loose) => p.port === port || p.port === 'metrics'));
}

describe('data store exporters in the rendered overlays', () => {
  for (const [overlay, expected] of Object.entries(stores)) {
    test(`${overlay}: an exporter beside every store, scraped by its PodMonitor, reachable by Prometheus only`, async () => {
      const objects = await rendered(overlay);
      for (const { sts, port, job, monitor } of expected) {
        const workload = find(objects, 'StatefulSet', sts);
        const exporter = container(workload, 'exporter');
        assert.deepEqual(exporter.ports, [{ name: 'metrics', containerPort: port, protocol: 'TCP' }], sts);
        // Credentials: every env value that is a secret comes from switchboard-secrets; no literal
        // password, no URL with user info, nothing on argv.
        for (const e of exporter.env as Loose[]) {
          if (/PASS/.test(e.name)) {
            assert.equal(e.value, undefined, `${sts}: ${e.name} is a literal`);
            assert.equal(e.valueFrom.secretKeyRef.name, 'switchboard-secrets', `${sts}: ${e.name}`);
          }
          assert.doesNotMatch(String(e.value ?? ''), /\/\/[^/]*@/, `${sts}: ${e.name} carries credentials`);
        }
        assert.doesNotMatch(JSON.stringify(exporter.args ?? []), /pass|@/i, `${sts}: credentials on argv`);
        // Never takes the store out of its Service: the probes ask the exporter, not the store.
        assert.equal(exporter.readinessProbe.httpGet.port, 'metrics');
        // Least privilege beyond the policy minimum: a non-root uid of its own, a memory limit.
        assert.ok(exporter.securityContext.runAsUser > 0, `${sts}: runAsUser`);
        assert.ok(exporter.resources.limits.memory, `${sts}: memory limit`);

        // The PodMonitor selects these pods, on the exporter's port, with job = app.kubernetes.io/name.
        const labels = workload.spec.template.metadata.labels as Record<string, string>;
        const pm = find(objects, 'PodMonitor', monitor);
        assert.ok(labelSelectorMatches(pm.spec.selector, labels), `${monitor} does not select ${sts}`);
        assert.equal(pm.spec.jobLabel, 'app.kubernetes.io/name');
        assert.equal(labels['app.kubernetes.io/name'], job);
        assert.deepEqual(
          pm.spec.podMetricsEndpoints.map((e: Loose) => e.port),
          ['metrics'],
        );
        assert.equal(pm.metadata.labels?.release, 'prometheus', 'the label kube-prometheus-stack selects by');

        // Exactly one rule admits the exporter port, from Prometheus only, on that port only.
        const rules = ingressRulesFor(objects, labels, port);
        assert.deepEqual(
          rules.map((r) => ({ from: r.from, ports: r.ports })),
          [{ from: [prometheusPeer], ports: [{ port, protocol: 'TCP' }] }],
          `${sts}: ingress to the exporter port`,
        );
        // And Prometheus reaches nothing else of the store.
        const all = objects
          .filter((o) => o.kind === 'NetworkPolicy')
          .filter((np) => labelSelectorMatches((np as Loose).spec.podSelector, labels))
          .flatMap((np) => ((np as Loose).spec.ingress ?? []) as Loose[]);
        for (const r of all) {
          if (JSON.stringify(r.from).includes('"prometheus"')) {
            assert.deepEqual(
              r.ports,
              [{ port, protocol: 'TCP' }],
              `${sts}: Prometheus reaches more than the exporter`,
            );
          }
        }
      }
      // Every pod a PodMonitor selects is a data store pod with an exporter.
      for (const pm of objects.filter((o) => o.kind === 'PodMonitor')) {
        for (const pod of podTemplates(objects)) {
          if (!labelSelectorMatches((pm as Loose).spec.selector, pod.labels)) continue;
          assert.ok(
            (pod.spec.containers ?? []).some((c) => c.name === 'exporter'),
            `${pm.metadata.name} selects ${pod.owner.metadata.name}, which has no exporter`,
          );
        }
      }
    });
  }

  test('a second rule opening the exporter port to another peer is caught', async () => {
    const objects = await rendered('overlays/production');
    const np = find(objects, 'NetworkPolicy', 'postgres');
    np.spec.ingress.push({
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'switchboard' } } }],
      ports: [{ port: 9187, protocol: 'TCP' }],
    });
    const labels = find(objects, 'StatefulSet', 'postgres').spec.template.metadata.labels;
    assert.equal(ingressRulesFor(objects, labels, 9187).length, 2);
  });
});
