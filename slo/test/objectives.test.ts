// objectives.yaml is validated with a schema (ajv) plus PromQL checks; every problem names the
// objective, the field and the fix.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadObjectives, parseObjectives, parseSloSource } from '../src/objectives.js';
import { repoRoot } from '../src/outputs/index.js';
import { problems, validObjectives as valid } from './support/objectives-text.js';

test('the committed objectives are valid: eight objectives, four with k6 metrics, two of the load test only', () => {
  const objectives = loadObjectives(join(repoRoot, 'slo/objectives.yaml'));
  assert.deepEqual(
    objectives.map((o) => [o.name, o.target, o.sli.kind, o.k6?.metric]),
    [
      ['ws-connect-success', 0.999, 'ratio', 'ws_connect_success'],
      ['join-success', 0.999, 'ratio', 'phx_join_success'],
      ['delivery-latency', 0.99, 'latency', 'phx_delivery_latency'],
      ['server-errors', 0.999, 'ratio', 'phx_errors'],
      ['server-availability', 0.999, 'availability', undefined],
      ['cross-node-delivery', 0.999, 'ratio', undefined],
      ['slow-consumer-closes', 0.999, 'ratio', undefined],
      ['recovery-success', 0.999, 'ratio', undefined],
    ],
  );
  assert.deepEqual(
    parseSloSource(readFileSync(join(repoRoot, 'slo/objectives.yaml'), 'utf8')).loadTest.map((o) => [
      o.name,
      o.k6.metric,
      `${o.k6.aggregation}<=${o.max}`,
      o.optional,
    ]),
    [
      ['messages-lost', 'continuity_messages_lost', 'count<=0', false],
      ['reconnect-p99', 'continuity_reconnect_time', 'p(99)<=5000', true],
    ],
  );
});

test('a valid file normalises good events into a ratio SLI', () => {
  const [o] = parseObjectives(valid);
  assert.deepEqual(o?.sli, {
    kind: 'ratio',
    counts: 'good',
    events: ['switchboard_joins_total{result="ok"}'],
    total: ['switchboard_joins_total'],
  });
});

test('an availability SLI takes one gauge selector; k6 may be left out', () => {
  const availability = valid
    .replace(/ratio:\n.*\n.*\n/, 'availability: { up: \'up{job="switchboard"}\' }\n')
    .replace('    k6: { metric: phx_join_success }\n', '');
  const [o] = parseObjectives(availability);
  assert.deepEqual(o?.sli, { kind: 'availability', up: 'up{job="switchboard"}' });
  assert.equal(o?.k6, undefined);
  assert.deepEqual(
    problems(availability.replace("up: 'up{", "up: 'avg_over_time(up{").replace("}' }", "}[5m])' }")),
    [
      'objectives[0] (join-success) field "sli.availability.up": "avg_over_time(up{job=\\"switchboard\\"}[5m])" is not one series selector; write a gauge name with optional label matchers, e.g. up{job="switchboard"}',
    ],
  );
});

test('a target given in percent is rejected, naming objective, field and the expected form', () => {
  assert.deepEqual(problems(valid.replace('0.999', '99.9')), [
    'objectives[0] (join-success) field "target": must be < 1; expected the share of good events as a ratio, e.g. 0.999 for 99.9 %',
  ]);
});

test('a missing field and a misspelt one are both reported, with what belongs there', () => {
  assert.deepEqual(problems(valid.replace('    window: 30d\n', '').replace('k6: { metric', 'k6: { metirc')), [
    'objectives[0] (join-success) field "window": is missing; expected the compliance window; the burn-rate alert windows are tuned for 30d',
    'objectives[0] (join-success) field "k6.metric": is missing; expected a k6 custom metric name in snake_case, e.g. phx_join_success',
    'objectives[0] (join-success) field "k6.metirc": is not a known field (check its spelling); expected one of metric',
  ]);
});

test('an SLI with both good and bad, or neither ratio nor latency, is rejected', () => {
  const both = problems(valid.replace('        total:', '        bad: [x_total]\n        total:'));
  assert.ok(
    both.some((p) => p.includes('field "sli.ratio"') && p.includes('exactly one of `good` or `bad`')),
    both.join('\n'),
  );
  const neither = problems(valid.replace(/ {4}sli:\n(?: {6}.*\n)+/, '    sli: {}\n'));
  assert.ok(
    neither.some((p) => p.includes('field "sli"') && p.includes('exactly one of `ratio`')),
    neither.join('\n'),
  );
});

test('a PromQL expression where a series selector belongs is rejected with an example', () => {
  const found = problems(
    valid.replace('[\'switchboard_joins_total{result="ok"}\']', "['rate(switchboard_joins_total[5m])']"),
  );
  assert.deepEqual(found, [
    'objectives[0] (join-success) field "sli.ratio.good[0]": "rate(switchboard_joins_total[5m])" is not one series selector; write a counter name with optional label matchers, e.g. switchboard_joins_total{result="ok"}',
  ]);
});

test('a latency histogram named with its _bucket suffix is rejected', () => {
  const latency = valid.replace(
    /ratio:\n.*\n.*\n/,
    'latency: { histogram: switchboard_delivery_latency_seconds_bucket, threshold: 0.25 }\n',
  );
  const found = problems(latency);
  assert.ok(
    found.some((p) => p.includes('field "sli.latency.histogram"') && p.includes('without the _bucket')),
    found.join('\n'),
  );
});

test('duplicate names and duplicate k6 metrics are rejected', () => {
  const twice = valid + valid.split('objectives:\n')[1];
  assert.deepEqual(problems(twice), [
    'objectives[1] (join-success) field "name": duplicates objectives[0]; names must be unique',
    'objectives[1] (join-success) field "k6.metric": already used by objectives[0]; give each objective its own',
  ]);
});

test('broken YAML is reported with its line, not thrown as a crash', () => {
  const found = problems('version: 1\nobjectives: [\n');
  assert.match(found[0] ?? '', /^YAML syntax: .*line 3/s);
});

const withLoadTest = `${valid}loadTestObjectives:
  - name: messages-lost
    description: Messages a client was owed and never received.
    k6: { metric: continuity_messages_lost, aggregation: count }
    max: 0
  - name: reconnect-p99
    description: Time from a close to the rejoin, p99.
    k6: { metric: continuity_reconnect_time, aggregation: p(99) }
    max: 5000
    unit: ms
    optional: true
`;

test('load-test objectives: a k6 statistic and its bound, count by default, required unless optional', () => {
  const source = parseSloSource(withLoadTest);
  assert.equal(source.objectives.length, 1);
  assert.deepEqual(source.loadTest, [
    {
      name: 'messages-lost',
      description: 'Messages a client was owed and never received.',
      k6: { metric: 'continuity_messages_lost', aggregation: 'count' },
      max: 0,
      unit: 'count',
      optional: false,
    },
    {
      name: 'reconnect-p99',
      description: 'Time from a close to the rejoin, p99.',
      k6: { metric: 'continuity_reconnect_time', aggregation: 'p(99)' },
      max: 5000,
      unit: 'ms',
      optional: true,
    },
  ]);
});

test('a load-test objective shares names and k6 metrics with no other objective, and says what is wrong', () => {
  const clash = withLoadTest
    .replace('name: messages-lost', 'name: join-success')
    .replace('metric: continuity_reconnect_time', 'metric: phx_join_success');
  assert.deepEqual(problems(clash), [
    'loadTestObjectives[0] (join-success) field "name": duplicates objectives[0]; names must be unique',
    'loadTestObjectives[1] (reconnect-p99) field "k6.metric": already used by objectives[0]; give each objective its own',
  ]);
  assert.deepEqual(problems(withLoadTest.replace('aggregation: count', 'aggregation: total')), [
    'loadTestObjectives[0] (messages-lost) field "k6.aggregation": must match pattern "^(count|rate|value|avg|min|max|med|p\\(\\d{1,2}(\\.\\d+)?\\))$"; expected the k6 statistic compared with max, as the k6 threshold names it: count (Counter), rate (Rate), or avg/min/max/med/p(N) (Trend, in ms)',
  ]);
  assert.deepEqual(problems(withLoadTest.replace('    max: 0\n', '')), [
    'loadTestObjectives[0] (messages-lost) field "max": is missing; expected the largest value that passes, in the metric\'s unit (a count, a ratio, or ms for time Trends)',
  ]);
});

test('optional: an event SLI may be optional (no events: not exercised); an availability SLI may not', () => {
  const [o] = parseObjectives(valid.replace('    window: 30d\n', '    window: 30d\n    optional: true\n'));
  assert.equal(o?.optional, true);
  const availability = valid
    .replace(/ratio:\n.*\n.*\n/, 'availability: { up: \'up{job="switchboard"}\' }\n')
    .replace('    window: 30d\n', '    window: 30d\n    optional: true\n');
  assert.deepEqual(problems(availability), [
    'objectives[0] (join-success) field "optional": an availability SLI always has scrapes to judge; leave optional out',
  ]);
});
