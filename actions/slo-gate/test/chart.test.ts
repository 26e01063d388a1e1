// The chart text: numbers the xychart grammar accepts (fixed notation), labels that cannot end a
// string or start a directive, and no chart (with the reason) for an objective without points.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixed, objectiveChart } from '../src/chart.js';
import type { ObjectiveSeries } from '../src/series.js';
import { chartResolution, MAX_CHART_POINTS } from '../src/series.js';
import { gateSummary } from '../src/summary.js';

const series = (over: Partial<ObjectiveSeries> = {}): ObjectiveSeries => ({
  name: 'server-errors',
  unit: 'ratio',
  comparator: '<=',
  limit: 0.001,
  startMs: 0,
  endMs: 60_000,
  stepSeconds: 2,
  window: '60s',
  points: [
    { t: 2_000, value: 0.0000004 },
    { t: 4_000, value: 0.0021 },
  ],
  dropped: 0,
  note: '',
  ...over,
});

describe('slo-gate charts', () => {
  test('numbers are fixed notation: 4e-7 is never written with an exponent', () => {
    assert.equal(String(0.0000004), '4e-7');
    assert.equal(fixed(0.0000004, 6), '0');
    assert.equal(fixed(0.0000004, 7), '0.0000004');
    assert.equal(fixed(0.0021, 6), '0.0021');
    assert.equal(fixed(1, 6), '1');
    assert.equal(fixed(-0.0000001, 3), '0');
    const chart = objectiveChart(series())!;
    assert.match(chart, /^ {4}line \[0, 0\.0021\]$/m);
    assert.match(chart, /^ {4}line \[0\.001, 0\.001\]$/m);
    assert.match(chart, /x-axis "[^"]*" \["0:02", "0:04"\]/);
    assert.doesNotMatch(chart, /\de-\d/);
  });

  test('seconds are charted in ms, and the y-axis holds both the values and the limit', () => {
    const chart = objectiveChart(
      series({ name: 'delivery-latency', unit: 'seconds', limit: 0.25, points: [{ t: 2_000, value: 0.01 }] }),
    )!;
    assert.match(chart, /title "delivery-latency: at most 250 ms"/);
    assert.match(chart, /y-axis "ms" 0 --> 274/);
    assert.match(chart, /^ {4}line \[10\]$/m);
  });

  test('a name with a quote or a % cannot end the title string or start a directive', () => {
    const chart = objectiveChart(series({ name: 'evil" %%{init: {}}%%\nline [1]' }))!;
    const title = chart.split('\n').find((l) => l.includes('title'))!;
    assert.equal((title.match(/"/g) ?? []).length, 2, title);
    assert.doesNotMatch(title, /%/);
    assert.equal(chart.split('\n').filter((l) => l.trimStart().startsWith('line')).length, 2);
  });

  test('no points: no chart, and the summary says why', () => {
    assert.equal(objectiveChart(series({ points: [] })), undefined);
    const report = {
      verdict: 'pass' as const,
      window: '60s',
      results: [],
      startedAt: 0,
      evaluatedAt: 0,
      queriedAt: 60_000,
      polls: 0,
    };
    const sections = gateSummary(report, 'http://prometheus', [
      series(),
      series({ name: 'join-success', points: [], note: 'Prometheus at x is unreachable: ECONNREFUSED' }),
    ]);
    const charts = sections.at(-1)!;
    assert.equal(charts.heading, 'Objectives over the load test');
    assert.equal(charts.mermaid?.length, 1);
    assert.deepEqual(charts.list, ['join-success: no chart: Prometheus at x is unreachable: ECONNREFUSED']);
    assert.equal(gateSummary(report, 'http://prometheus').length, 2, 'no series, no chart section');
  });

  test(`at most ${MAX_CHART_POINTS} points, each window at least 4 scrapes`, () => {
    assert.deepEqual(chartResolution(420, 15), { stepSeconds: 14, windowSeconds: 60 });
    assert.deepEqual(chartResolution(45, 1), { stepSeconds: 2, windowSeconds: 4 });
    assert.deepEqual(chartResolution(7200, 15), { stepSeconds: 240, windowSeconds: 240 });
  });
});
