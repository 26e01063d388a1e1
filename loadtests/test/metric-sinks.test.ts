import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summaryTrendStats } from '../lib/scenario.js';
import { parseThreshold } from '../lib/thresholds.js';
import { MetricRegistry, MetricTypeConflictError } from '../src/metric-sinks.js';

describe('Node metric sinks', () => {
  it('aggregate counters, gauges and rates like k6', () => {
    const r = new MetricRegistry();
    const c = r.define('c', 'counter');
    c.add(2);
    c.add(3);
    assert.deepEqual(c.values(2000, []), { count: 5, rate: 2.5 });
    const g = r.define('g', 'gauge');
    for (const v of [5, 1, 9, 4]) g.add(v);
    assert.deepEqual(g.values(1, []), { value: 4, min: 1, max: 9 });
    const rate = r.define('r', 'rate');
    for (let i = 0; i < 999; i++) rate.add(true);
    rate.add(false);
    assert.deepEqual(rate.values(1, []), { rate: 0.999, passes: 999, fails: 1 });
    assert.equal(r.aggregate('r', parseThreshold('rate>=0.999'), 1), 0.999);
    assert.equal(r.aggregate('c', parseThreshold('count>0'), 1000), 5);
  });

  it('an empty rate is 0 and an empty trend reports zeros, as in k6', () => {
    const r = new MetricRegistry();
    assert.equal(r.define('r', 'rate').values(1, [])['rate'], 0);
    assert.deepEqual(r.define('t', 'trend', 'time').values(1, ['avg', 'p(99)', 'count']), {
      avg: 0,
      'p(99)': 0,
      count: 0,
    });
  });

  it('trend percentiles from the HDR histogram are within 0.1% of the exact values', () => {
    const r = new MetricRegistry();
    const t = r.define('t', 'trend', 'time');
    const samples: number[] = [];
    // Deterministic, skewed samples: most fast, a long tail.
    for (let i = 0; i < 20_000; i++) {
      const x = ((i * 7919) % 20_000) / 20_000;
      const v = 0.2 + 1000 * x ** 6;
      samples.push(v);
      t.add(v);
    }
    samples.sort((a, b) => a - b);
    const exact = (p: number) => samples[Math.ceil((p / 100) * samples.length) - 1] ?? NaN;
    const values = t.values(1, summaryTrendStats);
    for (const p of [50, 90, 95, 99]) {
      const key = p === 50 ? 'med' : `p(${p})`;
      const got = values[key] ?? NaN;
      assert.ok(Math.abs(got - exact(p)) <= exact(p) * 0.001 + 0.001, `${key}: ${got} vs ${exact(p)}`);
    }
    assert.equal(values.min, samples[0]);
    assert.equal(values.max, samples[samples.length - 1]);
    assert.equal(values.count, 20_000);
    const avg = samples.reduce((a, b) => a + b, 0) / samples.length;
    assert.ok(Math.abs((values.avg ?? 0) - avg) < 1e-9);
  });

  it('refuses one name with two types, and returns the same sink for the same type', () => {
    const r = new MetricRegistry();
    const a = r.define('m', 'counter');
    assert.equal(r.define('m', 'counter'), a);
    assert.throws(() => r.define('m', 'rate'), MetricTypeConflictError);
  });
});
