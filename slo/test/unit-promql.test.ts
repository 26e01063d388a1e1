// PromQL reading with Prometheus's own grammar: syntax errors with their place, series selectors,
// metric names and the labels each selector matches on, with the gate's template variables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSeriesSelector, metricNames, promqlSyntaxErrors, selectors } from '../src/promql.js';

test('syntax errors name the offset and the text around it', () => {
  assert.deepEqual(promqlSyntaxErrors('sum(rate(a_total[$window]))'), []);
  assert.deepEqual(promqlSyntaxErrors('sum(rate(a_total[5m])'), ['at offset 21: near "total[5m])"']);
  assert.deepEqual(promqlSyntaxErrors('a_total{'), ['at offset 8: near "a_total{"']);
  assert.deepEqual(
    promqlSyntaxErrors('rate(x[${__rate_interval}])'),
    [],
    'Grafana variables stand for a duration',
  );
  assert.deepEqual(promqlSyntaxErrors('up{$selector}'), [], 'the gate selector stands for a matcher');
  assert.deepEqual(promqlSyntaxErrors('up{${selector}}'), []);
});

test('a series selector is one vector selector, nothing else', () => {
  assert.equal(isSeriesSelector('switchboard_joins_total{result="ok"}'), true);
  assert.equal(isSeriesSelector('up'), true);
  assert.equal(isSeriesSelector('rate(up[5m])'), false);
  assert.equal(isSeriesSelector('up or up'), false);
  assert.equal(isSeriesSelector('up[5m]'), false);
  assert.equal(isSeriesSelector('up{'), false);
  assert.equal(isSeriesSelector(''), false);
});

test('selectors: names (also through __name__), labels, and whether the gate selector scopes them', () => {
  assert.deepEqual(selectors('sum(rate(a_total{code="500",$selector}[$window])) / sum(b_total)'), [
    { name: 'a_total', labels: ['code'], scoped: true },
    { name: 'b_total', labels: [], scoped: false },
  ]);
  assert.deepEqual(
    selectors(`{__name__="c_total", job="x"} + {__name__='d'} + {job="y"} + {__name__=~"e.*"}`),
    [
      { name: 'c_total', labels: ['job'], scoped: false },
      { name: 'd', labels: [], scoped: false },
      { name: undefined, labels: ['job'], scoped: false },
      { name: undefined, labels: [], scoped: false },
    ],
  );
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (le) (rate(z_bucket{le="0.25", code=~"sum|rate"}[$window]))) / on(slo) group_left slo:x:ratio or vector(0) + {__name__="b_total"} + z_bucket',
    ),
    ['b_total', 'slo:x:ratio', 'z_bucket'],
  );
});
