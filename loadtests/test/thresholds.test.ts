import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertFits, compare, evaluateThreshold, parseThreshold, ThresholdError } from '../lib/thresholds.js';
import { thresholds } from '../lib/thresholds.generated.js';

describe('threshold grammar', () => {
  it('parses every aggregation and operator of the supported subset', () => {
    const cases: [string, string, string, number][] = [
      ['rate>=0.999', 'rate', '>=', 0.999],
      ['rate<=0.001', 'rate', '<=', 0.001],
      ['count>0', 'count', '>', 0],
      ['avg < 200', 'avg', '<', 200],
      ['min>=1', 'min', '>=', 1],
      ['max<=1000', 'max', '<=', 1000],
      ['med==5', 'med', '==', 5],
      ['value>-1', 'value', '>', -1],
      ['p(99)<=250', 'p(99)', '<=', 250],
      ['p( 99.9 ) < 1e3', 'p(99.9)', '<', 1000],
      ['p(90.0)<1', 'p(90)', '<', 1],
    ];
    for (const [expr, aggregation, operator, target] of cases) {
      const t = parseThreshold(expr);
      assert.equal(t.aggregation, aggregation, expr);
      assert.equal(t.operator, operator, expr);
      assert.equal(t.target, target, expr);
      assert.equal(t.source, expr);
    }
    assert.equal(parseThreshold('p(99)<=250').percentile, 99);
  });

  it('rejects what it does not understand, naming the expression and the grammar', () => {
    for (const bad of [
      '',
      'rate',
      'rate>>1',
      'p99<250',
      'p(101)<1',
      'avg<abc',
      'sum>1',
      'rate!=1',
      'rate>=0.9 extra',
    ]) {
      assert.throws(
        () => parseThreshold(bad),
        (err: unknown) => err instanceof ThresholdError && err.message.includes(JSON.stringify(bad)),
        bad,
      );
    }
  });

  it('allows only the aggregations k6 allows for each metric type', () => {
    assert.doesNotThrow(() => assertFits('x', 'trend', parseThreshold('p(99)<1')));
    assert.doesNotThrow(() => assertFits('x', 'counter', parseThreshold('count>1')));
    assert.doesNotThrow(() => assertFits('x', 'gauge', parseThreshold('value>1')));
    assert.throws(
      () => assertFits('phx_errors', 'rate', parseThreshold('p(99)<1')),
      /rate metric phx_errors/,
    );
    assert.throws(() => assertFits('x', 'trend', parseThreshold('rate<1')), /trend metrics take avg/);
    assert.throws(() => assertFits('x', 'counter', parseThreshold('avg<1')), ThresholdError);
  });

  it('compares at the boundary exactly as written', () => {
    assert.equal(compare(250, '<=', 250), true);
    assert.equal(compare(250, '<', 250), false);
    assert.equal(compare(250.01, '<=', 250), false);
    assert.equal(compare(0.999, '>=', 0.999), true);
    assert.equal(compare(0.998, '>=', 0.999), false);
    assert.equal(compare(1, '>', 1), false);
    assert.equal(compare(1, '==', 1), true);
    assert.deepEqual(
      evaluateThreshold(parseThreshold('p(99)<=250'), (t) => (t.aggregation === 'p(99)' ? 300 : 0)),
      { ok: false, actual: 300 },
    );
    // A value an engine could not compute fails rather than passes.
    assert.equal(evaluateThreshold(parseThreshold('rate>=0'), () => NaN).ok, false);
  });

  it('understands every threshold of the generated SLO module', () => {
    assert.deepEqual(Object.keys(thresholds).sort(), [
      'continuity_messages_lost',
      'continuity_reconnect_time',
      'phx_delivery_latency',
      'phx_errors',
      'phx_join_success',
      'ws_connect_success',
    ]);
    const types: Record<string, 'counter' | 'rate' | 'trend'> = {
      continuity_messages_lost: 'counter',
      continuity_reconnect_time: 'trend',
      ws_connect_success: 'rate',
      phx_join_success: 'rate',
      phx_errors: 'rate',
      phx_delivery_latency: 'trend',
    };
    for (const [metric, list] of Object.entries(thresholds)) {
      for (const expr of list) assertFits(metric, types[metric] ?? 'rate', parseThreshold(expr));
    }
  });
});
