// The generated Grafana dashboards: every one passes a schema of what Grafana needs, every panel
// has the templated Prometheus data source and a parseable query, and the ConfigMaps the Grafana
// sidecar loads hold exactly the JSON files.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../src/outputs/index.js';
import { promqlSyntaxErrors } from '../src/promql.js';

interface Panel {
  id: number;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { expr: string; refId: string }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string }[] };
}

const dir = join(repoRoot, 'slo/generated/dashboards');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const dashboards = new Map(
  files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Dashboard]),
);
const schema = JSON.parse(
  readFileSync(join(repoRoot, 'slo/test/grafana-dashboard.schema.json'), 'utf8'),
) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

test('there is a dashboard for SLOs, connections, latency, errors, runtime, the backends and each data store', () => {
  assert.deepEqual([...dashboards.values()].map((d) => d.uid).sort(), [
    'switchboard-backends',
    'switchboard-connections',
    'switchboard-errors',
    'switchboard-latency',
    'switchboard-postgres',
    'switchboard-redis',
    'switchboard-runtime',
    'switchboard-slo',
  ]);
});

test('every dashboard passes the Grafana schema', () => {
  for (const [file, d] of dashboards) assert.ok(validate(d), `${file}: ${JSON.stringify(validate.errors)}`);
});

test('the schema rejects a panel without a datasource or a query', () => {
  const [first] = dashboards.values();
  const broken = structuredClone(first!) as unknown as { panels: Record<string, unknown>[] };
  delete broken.panels[0]!.datasource;
  assert.equal(validate(broken), false);
  const empty = structuredClone(first!);
  empty.panels[0]!.targets = [];
  assert.equal(validate(empty), false);
});

test('every panel has a unique id, unique refIds, parseable queries and no overlap', () => {
  for (const [file, d] of dashboards) {
    assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length, `${file}: duplicate panel ids`);
    const cells = new Set<string>();
    for (const p of d.panels) {
      const where = `${file} panel "${p.title}"`;
      assert.equal(
        new Set(p.targets.map((t) => t.refId)).size,
        p.targets.length,
        `${where}: duplicate refId`,
      );
      for (const t of p.targets) assert.deepEqual(promqlSyntaxErrors(t.expr), [], `${where}: ${t.expr}`);
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${where} is wider than the grid`);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `${where} overlaps another panel`);
          cells.add(`${x},${y}`);
        }
      }
    }
  }
});

test('every $variable a query uses is defined in the dashboard', () => {
  const builtIn = new Set(['__rate_interval', '__interval', '__range']);
  for (const [file, d] of dashboards) {
    const defined = new Set(d.templating.list.map((v) => v.name));
    for (const p of d.panels) {
      for (const t of p.targets) {
        for (const [, name] of t.expr.matchAll(/\$\{?(\w+)\}?/g)) {
          assert.ok(builtIn.has(name!) || defined.has(name!), `${file} "${p.title}" uses undefined $${name}`);
        }
      }
    }
  }
});

test('the ConfigMaps carry grafana_dashboard: "1" and exactly the dashboard files', () => {
  const docs = parseAllDocuments(
    readFileSync(join(repoRoot, 'base/monitoring/generated/grafana-dashboards.yaml'), 'utf8'),
  ).map((d) => new ConfigMap(d.toJS() as ConstructorParameters<typeof ConfigMap>[0]));
  assert.equal(docs.length, dashboards.size);
  for (const cm of docs) {
    cm.validate();
    assert.equal(cm.metadata?.labels?.grafana_dashboard, '1');
    assert.equal(cm.metadata?.namespace, undefined);
    const entries = Object.entries(cm.data ?? {});
    assert.equal(entries.length, 1);
    const [key, json] = entries[0]!;
    assert.deepEqual(JSON.parse(json), dashboards.get(key), `${cm.metadata?.name} differs from ${key}`);
  }
});

test('kustomize builds base/monitoring/generated into the dashboards only (deployed once per cluster)', () => {
  const out = execFileSync('kubectl', ['kustomize', join(repoRoot, 'base/monitoring/generated')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const kinds = parseAllDocuments(out)
    .map((d) => (d.toJS() as { kind: string }).kind)
    .sort();
  assert.deepEqual(kinds, Array(dashboards.size).fill('ConfigMap'));
});
