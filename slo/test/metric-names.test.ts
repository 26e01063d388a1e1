// Every PromQL expression that is generated (rules, dashboards, gate) selects only metrics a real
// Switchboard server exports, with label names those metrics have. Names are taken with
// Prometheus's own PromQL grammar, so functions, keywords, label values and strings never count;
// recording-rule names (slo:*) must be defined by the generated rules instead. The data stores' alerts
// and dashboards (slo/src/datastores.ts) select the exporters' metrics: datastore-metrics.test.ts
// checks those against the real exporters.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { startSwitchboard, type SwitchboardProcess } from '../../testkit/src/index.js';
import { metrics as catalogue } from '../../server/src/telemetry/metrics.js';
import { loadObjectives } from '../src/objectives.js';
import { repoRoot } from '../src/outputs/index.js';
import { metricNames, selectors } from '../src/promql.js';
import { datastoreGroupName, postgresDashboardUid, redisDashboardUid } from '../src/datastores.js';

interface Expression {
  where: string;
  expr: string;
}

function generatedExpressions(): Expression[] {
  const out: Expression[] = [];
  const rules = parse(readFileSync(join(repoRoot, 'slo/generated/rules.yaml'), 'utf8')) as {
    groups: { name: string; rules: { record?: string; alert?: string; expr: string }[] }[];
  };
  for (const g of rules.groups.filter((x) => x.name !== datastoreGroupName)) {
    for (const r of g.rules) out.push({ where: `rules ${g.name} ${r.record ?? r.alert}`, expr: r.expr });
  }
  const dir = join(repoRoot, 'slo/generated/dashboards');
  const datastoreFiles = [postgresDashboardUid, redisDashboardUid].map((uid) => `${uid}.json`);
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json') && !datastoreFiles.includes(n))) {
    const d = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
      templating: { list: { name: string; definition?: string }[] };
    };
    for (const p of d.panels)
      for (const t of p.targets) out.push({ where: `${f} "${p.title}"`, expr: t.expr });
    for (const v of d.templating.list) {
      // label_values(<selector>, <label>) is Grafana's, not PromQL: check its selector.
      const m = /^label_values\((.+),\s*\w+\)$/.exec(v.definition ?? '');
      if (m) out.push({ where: `${f} variable ${v.name}`, expr: m[1]! });
    }
  }
  const gate = JSON.parse(readFileSync(join(repoRoot, 'slo/generated/gate.json'), 'utf8')) as {
    objectives: { name: string; query: string }[];
  };
  for (const o of gate.objectives) out.push({ where: `gate ${o.name}`, expr: o.query });
  return out;
}

/** Metric names a /metrics page exposes: each family, plus _bucket/_count/_sum of histograms and summaries. */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(name! + s);
    if (type === 'summary') for (const s of ['_count', '_sum']) names.add(name! + s);
  }
  return names;
}

const expressions = generatedExpressions();
let server: SwitchboardProcess;
let exposition: string;

before(async () => {
  server = await startSwitchboard({ LOG_LEVEL: 'warn' }, { readyTimeoutMs: 60_000 });
  exposition = await fetch(`${server.metricsUrl}/metrics`).then((r) => r.text());
});

after(async () => {
  await server?.stop('SIGTERM', 5000);
});

test('the extractor skips functions, keywords, labels and strings', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (le) (rate(a_bucket{le="0.25", code=~"sum|rate"}[$window]))) / on(slo) group_left slo:x:ratio or vector(0) + {__name__="b_total"}',
    ),
    ['a_bucket', 'b_total', 'slo:x:ratio'],
  );
});

test('every metric a generated expression selects is exported by a real server', () => {
  const exported = exportedNames(exposition);
  assert.ok(exported.has('switchboard_joins_total') && exported.has('nodejs_eventloop_lag_seconds'));
  const recorded = new Set(
    (
      parse(readFileSync(join(repoRoot, 'slo/generated/rules.yaml'), 'utf8')) as {
        groups: { rules: { record?: string }[] }[];
      }
    ).groups
      .flatMap((g) => g.rules)
      .flatMap((r) => (r.record ? [r.record] : [])),
  );
  const unknown: string[] = [];
  let checked = 0;
  for (const { where, expr } of expressions) {
    for (const name of metricNames(expr)) {
      checked++;
      // `up` is written by Prometheus itself for every scrape, not exported by the server.
      const known = name.includes(':') ? recorded.has(name) : name === 'up' || exported.has(name);
      if (!known) unknown.push(`${where}: ${name}`);
    }
  }
  assert.ok(checked > 100, `only ${checked} metric references found`);
  assert.deepEqual(unknown, []);
});

test('every label a selector of a switchboard metric matches on is one of its labels', () => {
  // prom-client keeps label names on the metric object; its types do not expose them.
  const labelsOf = new Map<string, string[]>();
  for (const m of Object.values(catalogue)) {
    const { name, labelNames } = m as unknown as { name: string; labelNames: string[] };
    labelsOf.set(name, labelNames);
    for (const s of ['_bucket', '_count', '_sum'])
      labelsOf.set(name + s, s === '_bucket' ? [...labelNames, 'le'] : labelNames);
  }
  const targetLabels = ['namespace', 'pod', 'instance', 'job'];
  const wrong: string[] = [];
  for (const { where, expr } of expressions) {
    for (const s of selectors(expr)) {
      const own = s.name === undefined ? undefined : labelsOf.get(s.name);
      if (!own) continue;
      for (const l of s.labels)
        if (!own.includes(l) && !targetLabels.includes(l)) wrong.push(`${where}: ${s.name}{${l}}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('every latency threshold is a bucket boundary the server exports', () => {
  for (const o of loadObjectives(join(repoRoot, 'slo/objectives.yaml'))) {
    if (o.sli.kind !== 'latency') continue;
    const le = `${o.sli.histogram}_bucket{le="${o.sli.threshold}"}`;
    assert.ok(exposition.includes(le), `${o.name}: the server exports no ${le}`);
  }
});
