// Grafana dashboards once per cluster (issue 13 item 11): no overlay renders them, the dashboards
// target does, and the check catches them back in an overlay, a missing uid and a shared uid.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkDashboards, dashboardsTarget, type K8sObject } from '../../pipeline/src/validate/index.js';
import { rendered } from './validate-fixtures.js';

const overlays = ['overlays/dev', 'overlays/preview', 'overlays/staging', 'overlays/production'];

async function cluster(): Promise<Map<string, K8sObject[]>> {
  const out = new Map<string, K8sObject[]>();
  for (const dir of [...overlays, dashboardsTarget, 'argocd']) out.set(dir, await rendered(dir));
  return out;
}

describe('Grafana dashboards', () => {
  test('the overlays render none; base/monitoring/dashboards renders each uid once', async () => {
    const targets = await cluster();
    assert.deepEqual(checkDashboards(targets), []);
    for (const dir of overlays) {
      assert.deepEqual(
        (targets.get(dir) ?? [])
          .filter((o) => o.metadata.labels?.grafana_dashboard === '1')
          .map((o) => o.metadata.name),
        [],
        dir,
      );
    }
    const boards = targets.get(dashboardsTarget) ?? [];
    assert.ok(boards.length >= 5);
    assert.ok(boards.every((o) => o.metadata.namespace === 'monitoring'));
  });

  test('dashboards back in the environments (as before) are reported for every overlay, uid named', async () => {
    const targets = await cluster();
    const boards = targets.get(dashboardsTarget) ?? [];
    for (const dir of ['overlays/staging', 'overlays/production']) {
      targets.get(dir)?.push(...structuredClone(boards));
    }
    const found = checkDashboards(targets);
    const staging = found.filter(
      (p) => p.target === 'overlays/staging' && p.object === 'ConfigMap/grafana-dashboard-switchboard-slo',
    );
    assert.deepEqual(
      staging.map((p) => p.message.replace(/ \S+ ConfigMap\/.*$/, '')),
      [
        'a Grafana dashboard in overlays/staging: deployed with every environment and preview, its uid switchboard-slo is duplicated for the sidecar; render it in base/monitoring/dashboards (once per cluster)',
        'uid switchboard-slo is also the uid of',
      ],
    );
    assert.equal(new Set(found.map((p) => p.target)).size, 2);
  });

  test('a dashboard without uid, or not JSON, is reported', async () => {
    const targets = new Map([[dashboardsTarget, await rendered(dashboardsTarget)]]);
    const [first, second] = targets.get(dashboardsTarget) as Array<
      K8sObject & { data: Record<string, string> }
    >;
    assert.ok(first && second);
    const file = Object.keys(first.data)[0] ?? '';
    first.data[file] = JSON.stringify({ ...JSON.parse(first.data[file] ?? '{}'), uid: undefined });
    second.data[Object.keys(second.data)[0] ?? ''] = '{ not json';
    const [noUid, notJson, ...rest] = checkDashboards(targets).map((p) => p.message);
    assert.deepEqual(rest, []);
    assert.match(noUid ?? '', /^has no uid: Grafana gives each copy a new one/);
    assert.match(notJson ?? '', /^is not JSON \(.+\): the sidecar cannot load it$/);
  });
});
