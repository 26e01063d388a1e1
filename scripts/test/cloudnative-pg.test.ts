// Issue 19 §2, last bullet: how CloudNativePG would take the history database over
// (docs/operations.md, "CloudNativePG"). Production turned over as the doc says -- the
// cloudnative-pg component instead of the backup CronJob, then the cutover component -- is rendered
// in a temporary copy and goes through `npm run validate`'s checks: the Cluster and ScheduledBackup
// against the CRD schemas of the pinned CloudNativePG tag (platform/versions.yaml, platform/schemas/),
// served API versions, every policy and the Argo CD project's whitelist.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { crdValidator } from '../../pipeline/src/validate/schema.js';
import {
  checkArgoCd,
  checkServedApis,
  validateObjects,
  type K8sObject,
} from '../../pipeline/src/validate/index.js';
import { ctx, find, scratchOverlays, rendered, repoRoot, where, type Loose } from './validate-fixtures.js';

const scratch = scratchOverlays('sb-cnpg-');

/** overlays/production with the backup component swapped for `components`. */
async function production(components: string[]): Promise<K8sObject[]> {
  const name = `production-${components.join('-')}`;
  const dir = scratch.copy('production', name);
  const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Loose;
  const listed = kustomization.components as string[];
  assert.ok(listed.includes('../../base/postgres/backup'), 'production takes nightly dumps today');
  kustomization.components = [
    ...listed.filter((c) => c !== '../../base/postgres/backup'),
    ...components.map((c) => `../../base/postgres/${c}`),
  ];
  // At the cutover the StatefulSet's own sizing patches go with it (the Cluster has its own).
  if (components.includes('cloudnative-pg-cutover')) {
    kustomization.patches = (kustomization.patches as { path: string }[]).filter(
      (p) => !p.path.startsWith('postgres-'),
    );
  }
  writeFileSync(join(dir, 'kustomization.yaml'), stringify(kustomization));
  return scratch.render(name);
}

const databaseUrl = (objects: K8sObject[], kind: string, name: string) =>
  (find(objects, kind, name).spec.template.spec.containers as Loose[])
    .flatMap((c) => c.env as Loose[])
    .find((e) => e.name === 'DATABASE_URL');

describe('CloudNativePG takes over the history database (base/postgres/cloudnative-pg)', () => {
  test('the schemas are the pinned release', () => {
    for (const kind of ['Cluster', 'ScheduledBackup']) {
      const schema = JSON.parse(
        readFileSync(join(repoRoot, `platform/schemas/postgresql.cnpg.io_${kind}_v1.json`), 'utf8'),
      ) as { source: { repository: string; tag: string } };
      assert.equal(schema.source.repository, 'cloudnative-pg/cloudnative-pg');
      assert.equal(schema.source.tag, 'v1.30.0');
      assert.ok(crdValidator(`postgresql.cnpg.io/v1/${kind}`), `no validator for ${kind}`);
    }
  });

  test('step 1 (import) and step 2 (cutover) validate: CRD schemas, served APIs, every policy', async () => {
    for (const step of [['cloudnative-pg'], ['cloudnative-pg', 'cloudnative-pg-cutover']]) {
      const objects = await production(step);
      const c = ctx(objects);
      assert.deepEqual(where([...(await validateObjects(c)), ...checkServedApis(c)]), [], step.join('+'));
      // Argo CD's project allows what the step renders.
      const argo = (await rendered('argocd')).filter(
        (o) => o.kind !== 'Application' || o.metadata.name === 'switchboard-production',
      );
      const overlays = new Map([['overlays/production', objects]]);
      assert.deepEqual(where(checkArgoCd(ctx(argo, 'argocd', false), overlays)), [], step.join('+'));
      const cluster = find(objects, 'Cluster', 'switchboard-pg');
      assert.equal(cluster.metadata.namespace, 'switchboard-production');
      assert.equal(cluster.spec.bootstrap.initdb.import.source.externalCluster, 'legacy');
      assert.equal(
        find(objects, 'ScheduledBackup', 'switchboard-pg-nightly').spec.cluster.name,
        'switchboard-pg',
      );
      for (const [kind, name] of [
        ['Deployment', 'switchboard'],
        ['Job', 'switchboard-migrate'],
      ] as const) {
        assert.deepEqual(
          databaseUrl(objects, kind, name),
          { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'switchboard-pg-app', key: 'uri' } } },
          `${kind} reads the operator's connection string`,
        );
      }
      assert.equal(
        objects.some((o) => o.kind === 'CronJob'),
        false,
        'no nightly dump beside the operator',
      );
      // The server reaches the Cluster's instances; after the cutover nothing reaches the old pods.
      const egressTo = (policy: string, labels: Record<string, string>) =>
        (find(objects, 'NetworkPolicy', policy).spec.egress as Loose[]).some((r) =>
          (r.to as Loose[] | undefined)?.some(
            (p) => JSON.stringify(p.podSelector?.matchLabels) === JSON.stringify(labels),
          ),
        );
      for (const policy of ['switchboard', 'switchboard-migrate']) {
        assert.ok(egressTo(policy, { 'cnpg.io/cluster': 'switchboard-pg' }), `${policy} reaches the Cluster`);
        assert.equal(egressTo(policy, { 'app.kubernetes.io/name': 'postgres' }), step.length === 1, policy);
      }
      const statefulSet = objects.some((o) => o.kind === 'StatefulSet' && o.metadata.name === 'postgres');
      assert.equal(
        statefulSet,
        step.length === 1,
        'the StatefulSet stays for the import, goes at the cutover',
      );
    }
  });

  test('a Cluster field the pinned CRD does not allow is a schema error', async () => {
    const objects = await production(['cloudnative-pg']);
    const cluster = find(objects, 'Cluster', 'switchboard-pg');
    cluster.spec.instances = 'three';
    cluster.spec.backup.barmanObjectStore.destinationPaht = 's3://x';
    const problems = await validateObjects(ctx(objects));
    assert.deepEqual(problems.map((p) => `${p.check} ${p.object} ${p.field}`).sort(), [
      'schema Cluster/switchboard-pg spec.instances',
      'unknown-field Cluster/switchboard-pg spec.backup.barmanObjectStore.destinationPaht',
    ]);
  });
});
