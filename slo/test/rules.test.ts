// The generated Prometheus rules: promtool accepts them, the promtool unit tests in slo/test/rules/
// make every objective's page and ticket alerts fire and stay silent under budget, and the
// Kubernetes form is a valid PrometheusRule holding the same groups.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { parse, parseAllDocuments } from 'yaml';
import { loadObjectives } from '../src/objectives.js';
import { repoRoot } from '../src/outputs/index.js';
import { datastoreGroupName, datastoreRules } from '../src/datastores.js';

const rulesFile = join(repoRoot, 'slo/generated/rules.yaml');
const unitDir = join(repoRoot, 'slo/test/rules');
const objectives = loadObjectives(join(repoRoot, 'slo/objectives.yaml'));

function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}

test('promtool check rules accepts the generated rule file', () => {
  const { status, output } = promtool(['check', 'rules', rulesFile]);
  assert.equal(status, 0, output);
  assert.match(output, /SUCCESS: \d+ rules found/);
});

test('promtool unit tests: each objective pages, tickets, and stays silent under budget', () => {
  const files = readdirSync(unitDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const { status, output } = promtool(['test', 'rules', ...files.map((f) => join(unitDir, f))]);
  assert.equal(status, 0, output);
  assert.doesNotMatch(output, /FAILED/);
});

test('every objective has promtool cases for page, ticket and silence', () => {
  for (const o of objectives) {
    const file = join(unitDir, `${o.name}.yaml`);
    const suite = parse(readFileSync(file, 'utf8')) as {
      tests: {
        alert_rule_test?: { exp_alerts: { exp_labels: Record<string, string> }[] }[];
      }[];
    };
    const cases = suite.tests.flatMap((t) => t.alert_rule_test ?? []);
    const fired = cases.flatMap((c) => c.exp_alerts.map((a) => a.exp_labels));
    for (const severity of ['page', 'ticket']) {
      assert.ok(
        fired.some((l) => l.severity === severity && l.slo === o.name),
        `${file} never expects a ${severity} alert for ${o.name}`,
      );
    }
    assert.ok(
      suite.tests.some((t) => (t.alert_rule_test ?? []).every((c) => c.exp_alerts.length === 0)),
      `${file} has no test in which nothing fires`,
    );
  }
});

test('every recording rule over raw series keeps one series per namespace (environment)', () => {
  const plain = parse(readFileSync(rulesFile, 'utf8')) as {
    groups: { rules: { record?: string; expr: string }[] }[];
  };
  const raw = plain.groups
    .flatMap((g) => g.rules)
    .filter((r) => r.record && /switchboard_|\bup\{/.test(r.expr));
  assert.ok(raw.length >= objectives.length * 7, `${raw.length} rules`);
  for (const r of raw) {
    const aggregations = [...r.expr.matchAll(/\b(sum|avg)\b(?: by \(([^)]*)\))?/g)];
    assert.ok(aggregations.length > 0, r.expr);
    // The per-version records keep one series per namespace and server version.
    const by = r.record!.startsWith('slo:sli_error_by_version:') ? 'namespace, version' : 'namespace';
    for (const a of aggregations) assert.equal(a[2], by, `${r.record}: ${a[0]} in ${r.expr}`);
  }
  // And a promtool case with two environments in one Prometheus (two-namespaces.yaml) runs above.
  const twoEnvironments = readFileSync(join(unitDir, 'two-namespaces.yaml'), 'utf8');
  assert.match(twoEnvironments, /namespace="switchboard-staging"/);
  assert.match(twoEnvironments, /namespace="switchboard-production"/);
});

test('the PrometheusRule is valid, namespace- and selector-label-less, and holds the same groups', () => {
  const docs = parseAllDocuments(
    readFileSync(join(repoRoot, 'base/monitoring/generated/prometheus-rule.yaml'), 'utf8'),
  ).map((d) => d.toJS() as Record<string, unknown>);
  assert.equal(docs.length, 1);
  const rule = new PrometheusRule(docs[0] as ConstructorParameters<typeof PrometheusRule>[0]);
  rule.validate();
  assert.equal(rule.metadata?.namespace, undefined);
  // base/monitoring's `labels:` adds the label Prometheus selects by (switchboard.config.yaml).
  assert.equal(rule.metadata?.labels?.release, undefined);
  const plain = parse(readFileSync(rulesFile, 'utf8')) as { groups: unknown[] };
  assert.deepEqual(rule.spec?.groups, plain.groups);
  assert.deepEqual(
    rule.spec?.groups.map((g) => g.name),
    [...objectives.map((o) => `switchboard-slo-${o.name}`), datastoreGroupName],
  );
});

test('every data store alert has a promtool case that fires it and one in which it stays silent, and a runbook entry', () => {
  const suite = parse(readFileSync(join(unitDir, 'datastores.yaml'), 'utf8')) as {
    tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
  };
  const cases = suite.tests.flatMap((t) => t.alert_rule_test ?? []);
  const operations = readFileSync(join(repoRoot, 'docs/operations.md'), 'utf8');
  for (const rule of datastoreRules().rules) {
    if (!('alert' in rule)) continue;
    const mine = cases.filter((c) => c.alertname === rule.alert);
    assert.ok(
      mine.some((c) => c.exp_alerts.length > 0),
      `no promtool case fires ${rule.alert}`,
    );
    assert.ok(
      mine.some((c) => c.exp_alerts.length === 0),
      `no promtool case keeps ${rule.alert} silent`,
    );
    // The runbook link is docs/operations.md#<alert, lower case>: GitHub's anchor of a "### <alert>" heading.
    assert.equal(rule.annotations.runbook, `docs/operations.md#${rule.alert.toLowerCase()}`);
    assert.match(
      operations,
      new RegExp(`^### ${rule.alert}$`, 'm'),
      `docs/operations.md has no ${rule.alert} entry`,
    );
    for (const part of ['Symptom', 'Confirm', 'Act']) {
      const entry = operations.split(/^### /m).find((e) => e.startsWith(`${rule.alert}\n`)) ?? '';
      assert.match(
        entry,
        new RegExp(`^\\*\\*${part}\\*\\*`, 'm'),
        `${rule.alert}: no **${part}** in its runbook entry`,
      );
    }
  }
});
