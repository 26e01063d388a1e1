import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readConfig } from '../lib/config.js';
import { summaryTrendStats } from '../lib/scenario.js';
import { renderSummaryTable, toLoadSummary, type EndOfTestData } from '../lib/summary.js';
import { MetricRegistry } from '../src/metric-sinks.js';

const config = readConfig('fanout', { TOKEN: 'a.b.c', VUS: '4', DURATION: '10s' });

/** What k6 passes to handleSummary (shape as in k6's docs), with summaryTrendStats set by the options. */
const k6Data = {
  root_group: { name: '', path: '', id: 'd41d8cd98f00b204e9800998ecf8427e', groups: [], checks: [] },
  options: { summaryTrendStats: summaryTrendStats, summaryTimeUnit: '', noColor: false },
  state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: 10123.4 },
  metrics: {
    phx_delivery_latency: {
      type: 'trend',
      contains: 'time',
      values: { avg: 2.5, min: 1, med: 2, max: 400, 'p(90)': 3, 'p(95)': 4, 'p(99)': 300, count: 1000 },
      thresholds: { 'p(99)<=250': { ok: false } },
    },
    phx_join_success: {
      type: 'rate',
      contains: 'default',
      values: { rate: 1, passes: 4, fails: 0 },
      thresholds: { 'rate>=0.999': { ok: true } },
    },
    phx_pushes_sent: { type: 'counter', contains: 'default', values: { count: 200, rate: 19.76 } },
    vus: { type: 'gauge', contains: 'default', values: { value: 4, min: 0, max: 4 } },
  },
} as const;

describe('summary JSON', () => {
  it('keeps k6 metric values and thresholds, drops root_group, and flattens the thresholds', () => {
    const s = toLoadSummary('fanout', 'k6', config, k6Data as unknown as EndOfTestData);
    assert.deepEqual(Object.keys(s), [
      'version',
      'scenario',
      'engine',
      'testRunDurationMs',
      'config',
      'ok',
      'thresholds',
      'metrics',
    ]);
    assert.equal(s.ok, false);
    assert.equal(s.testRunDurationMs, 10123);
    assert.deepEqual(s.metrics.phx_delivery_latency?.values, k6Data.metrics.phx_delivery_latency.values);
    assert.deepEqual(s.metrics.phx_join_success?.thresholds, { 'rate>=0.999': { ok: true } });
    assert.equal(s.metrics.vus?.thresholds, undefined);
    assert.deepEqual(s.thresholds, [
      { metric: 'phx_delivery_latency', expression: 'p(99)<=250', ok: false, value: 300 },
      { metric: 'phx_join_success', expression: 'rate>=0.999', ok: true, value: 1 },
    ]);
    assert.equal(JSON.stringify(s).includes('root_group'), false);
    assert.equal(s.config.tokens, 1);
    assert.equal(JSON.stringify(s).includes('a.b.c'), false);
  });

  it('prints a table of metrics and of thresholds with pass and FAIL', () => {
    const table = renderSummaryTable(
      toLoadSummary('fanout', 'k6', config, k6Data as unknown as EndOfTestData),
    );
    assert.match(table, /phx_delivery_latency\s+trend\s+avg=2\.50ms min=1ms med=2ms max=400ms p\(90\)=3ms/);
    assert.match(table, /phx_join_success\s+rate\s+100% \(4 of 4\)/);
    assert.match(table, /phx_pushes_sent\s+counter\s+200 \(19\.76\/s\)/);
    assert.match(table, /phx_delivery_latency\s+p\(99\)<=250\s+300\s+FAIL/);
    assert.match(table, /phx_join_success\s+rate>=0\.999\s+1\s+pass/);
    assert.match(table, /1 of 2 thresholds FAILED/);
  });

  it('the Node sinks report the same value keys k6 reports for each metric type', () => {
    const r = new MetricRegistry();
    const t = r.define('t', 'trend', 'time');
    for (let i = 1; i <= 1000; i++) t.add(i / 10);
    r.define('c', 'counter').add(3);
    r.define('g', 'gauge').add(2);
    const rate = r.define('r', 'rate');
    rate.add(true);
    rate.add(false);
    for (const name of ['t', 'c', 'g', 'r']) {
      const sink = r.get(name);
      assert.ok(sink);
      const key =
        name === 't'
          ? 'phx_delivery_latency'
          : name === 'c'
            ? 'phx_pushes_sent'
            : name === 'g'
              ? 'vus'
              : 'phx_join_success';
      const k6Keys = Object.keys(k6Data.metrics[key].values).sort();
      assert.deepEqual(Object.keys(sink.values(1000, summaryTrendStats)).sort(), k6Keys, name);
    }
  });
});
