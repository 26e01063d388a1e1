// Every generated file (rules, gate, dashboards, k6 thresholds) holds what the committed objectives
// generate, compared as data (YAML and JSON parsed, the TypeScript module evaluated): the contract of
// `npm run slo:check` without prettier, fast enough to run against every mutant of slo/src.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { transformSync } from 'esbuild';
import { parseAllDocuments } from 'yaml';
import { dashboards } from '../src/dashboards/index.js';
import { loadSloSource } from '../src/objectives.js';
import { renderGate } from '../src/outputs/gate.js';
import { dashboardFiles, renderDashboardConfigMaps } from '../src/outputs/grafana.js';
import { repoRoot } from '../src/outputs/index.js';
import { renderK6Thresholds } from '../src/outputs/k6.js';
import {
  renderKustomization,
  renderPrometheusRule,
  renderRulesFile,
} from '../src/outputs/prometheus-rule.js';
import { ruleGroups } from '../src/rules.js';
import { datastoreRules } from '../src/datastores.js';

const source = loadSloSource(join(repoRoot, 'slo/objectives.yaml'));
const objectives = source.objectives;
const committed = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const yaml = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as unknown);

test('Prometheus rules: the rules file and the PrometheusRule object', () => {
  const groups = [...ruleGroups(objectives), datastoreRules()];
  assert.deepEqual(yaml(renderRulesFile(groups)), yaml(committed('slo/generated/rules.yaml')));
  assert.deepEqual(
    yaml(renderPrometheusRule(groups)),
    yaml(committed('base/monitoring/generated/prometheus-rule.yaml')),
  );
  assert.deepEqual(
    yaml(renderKustomization()),
    yaml(committed('base/monitoring/generated/kustomization.yaml')),
  );
});

test('the gate file', () => {
  assert.deepEqual(JSON.parse(renderGate(source)), JSON.parse(committed('slo/generated/gate.json')));
});

test('every dashboard, as JSON and as ConfigMaps', () => {
  const boards = dashboards(objectives);
  const files = dashboardFiles(boards);
  assert.equal(files.length, 8); // six of the server, then PostgreSQL and Redis
  for (const f of files)
    assert.deepEqual(JSON.parse(f.json), JSON.parse(committed(`slo/generated/dashboards/${f.name}`)), f.name);
  const maps = (text: string) =>
    (yaml(text) as { data: Record<string, string> }[]).map((m) => ({
      ...m,
      data: Object.fromEntries(Object.entries(m.data).map(([k, v]) => [k, JSON.parse(v) as unknown])),
    }));
  assert.deepEqual(
    maps(renderDashboardConfigMaps(boards)),
    maps(committed('base/monitoring/generated/grafana-dashboards.yaml')),
  );
});

test('the k6 thresholds module exports what the committed one does', async () => {
  const load = async (ts: string) =>
    (await import(
      `data:text/javascript,${encodeURIComponent(transformSync(ts, { loader: 'ts', format: 'esm' }).code)}`
    )) as Record<string, unknown>;
  const fresh = await load(renderK6Thresholds(source));
  const old = await load(committed('loadtests/lib/thresholds.generated.ts'));
  assert.deepEqual({ ...fresh }, { ...old });
  assert.ok(Object.keys(fresh['thresholds'] as object).length > 0);
});
