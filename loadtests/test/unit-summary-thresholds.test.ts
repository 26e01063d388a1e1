// The end-of-test summary (JSON and the table people read) and k6 threshold expressions, exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readConfig } from '../lib/config.js';
import { formatValues, renderSummaryTable, toLoadSummary, type EndOfTestData } from '../lib/summary.js';
import {
  ThresholdError,
  assertFits,
  compare,
  evaluateThreshold,
  parseThreshold,
  type MetricType,
} from '../lib/thresholds.js';

const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';
const config = readConfig('fanout', { TOKEN: jwt, VUS: '4', DURATION: '1m' });

const data: EndOfTestData = {
  state: { testRunDurationMs: 61_234.6 },
  metrics: {
    ws_connect_success: {
      type: 'rate',
      contains: 'default',
      values: { rate: 0.75, passes: 3, fails: 1 },
      thresholds: { 'rate>=0.99': { ok: false } },
    },
    phx_join_duration: {
      type: 'trend',
      contains: 'time',
      values: { avg: 12.345, 'p(99)': 150.25, count: 40 },
      thresholds: { 'p(99)<=250': { ok: true }, 'odd one': { ok: true } },
    },
    phx_pushes_sent: {
      type: 'counter',
      contains: 'default',
      values: { count: 120, rate: 1.96 },
      thresholds: {},
    },
    data_received: { type: 'counter', contains: 'data', values: { count: 2048, rate: 33.5 } },
    vus: { type: 'gauge', contains: 'default', values: { value: 4, min: 0, max: 4 } },
  },
};

test('the summary sorts metrics, keeps each threshold with the value it judged, and fails on any failure', () => {
  const s = toLoadSummary('fanout', 'node', config, data);
  assert.deepEqual(Object.keys(s.metrics), [
    'data_received',
    'phx_join_duration',
    'phx_pushes_sent',
    'vus',
    'ws_connect_success',
  ]);
  assert.deepEqual(s.thresholds, [
    { metric: 'phx_join_duration', expression: 'p(99)<=250', ok: true, value: 150.25 },
    { metric: 'phx_join_duration', expression: 'odd one', ok: true },
    { metric: 'ws_connect_success', expression: 'rate>=0.99', ok: false, value: 0.75 },
  ]);
  assert.deepEqual(s.metrics['phx_join_duration']!.thresholds, {
    'p(99)<=250': { ok: true },
    'odd one': { ok: true },
  });
  assert.equal('thresholds' in s.metrics['phx_pushes_sent']!, false, 'no empty thresholds object');
  assert.deepEqual(
    [s.version, s.scenario, s.engine, s.testRunDurationMs, s.ok, s.config.tokens, s.config.vus],
    [1, 'fanout', 'node', 61_235, false, 1, 4],
  );
  const passing = toLoadSummary('x', 'k6', config, { ...data, metrics: { vus: data.metrics['vus']! } });
  assert.equal(passing.ok, true);
});

test('the table people read', () => {
  assert.equal(
    renderSummaryTable(toLoadSummary('fanout', 'node', config, data)),
    [
      'scenario fanout (node): 4 VUs, 1m, ran 61.2s against ws://127.0.0.1:4000/socket',
      '',
      'METRIC                  TYPE     VALUES',
      'data_received           counter  2048B (33.50/s)',
      'phx_join_duration       trend    avg=12.35ms p(99)=150.3ms count=40',
      'phx_pushes_sent         counter  120 (1.96/s)',
      'vus                     gauge    4 (min 0, max 4)',
      'ws_connect_success      rate     75% (3 of 4)',
      '',
      'THRESHOLD                                 VALUE       RESULT',
      'phx_join_duration       p(99)<=250        150.3       pass',
      'phx_join_duration       odd one           -           pass',
      'ws_connect_success      rate>=0.99        0.75        FAIL',
      '',
      '1 of 3 thresholds FAILED',
      '',
    ].join('\n'),
  );
  const long = 'a_metric_name_longer_than_the_column';
  const table = renderSummaryTable(
    toLoadSummary('x', 'k6', config, {
      state: { testRunDurationMs: 0 },
      metrics: { [long]: data.metrics['vus']! },
    }),
  );
  assert.match(table, new RegExp(`^${long}  gauge    4 \\(min 0, max 4\\)$`, 'm'));
  assert.match(table, /^\(no thresholds\)$/m);
  assert.match(table, /^all 0 thresholds passed$/m);
});

test('values: units, missing and non-finite numbers, empty rates', () => {
  assert.equal(formatValues({ type: 'rate', contains: 'default', values: {} }), '0% (- of 0)');
  assert.equal(
    formatValues({ type: 'gauge', contains: 'time', values: { value: Infinity, min: -0.5, max: 1 } }),
    '- (min -0.50ms, max 1ms)',
  );
  assert.equal(
    formatValues({ type: 'counter', contains: 'default', values: { count: NaN, rate: -120.44 } }),
    '- (-120.4/s)',
  );
  assert.equal(
    formatValues({ type: 'trend', contains: 'data', values: { max: 99.999, count: 3 } }),
    'max=100.00B count=3',
  );
  assert.equal(
    formatValues({ type: 'rate', contains: 'default', values: { rate: 1, passes: 5 } }),
    '100% (5 of 5)',
  );
});

test('threshold expressions: every aggregation and operator, spaces, case, exponents', () => {
  assert.deepEqual(parseThreshold(' P( 99.5 ) <= 2.5e2 '), {
    source: ' P( 99.5 ) <= 2.5e2 ',
    aggregation: 'p(99.5)',
    percentile: 99.5,
    operator: '<=',
    target: 250,
  });
  assert.deepEqual(parseThreshold('RATE>-1'), {
    source: 'RATE>-1',
    aggregation: 'rate',
    operator: '>',
    target: -1,
  });
  for (const agg of ['rate', 'count', 'value', 'avg', 'min', 'max', 'med'])
    for (const op of ['<', '<=', '>', '>=', '=='])
      assert.deepEqual(
        [parseThreshold(`${agg}${op}1`).aggregation, parseThreshold(`${agg}${op}1`).operator],
        [agg, op],
      );
  assert.equal(parseThreshold('p(0)<1').percentile, 0);
  assert.equal(parseThreshold('p(100)<1').percentile, 100);
  const grammar =
    'is not understood: write <aggregation><operator><number> with aggregation rate, count, value, avg, min, max, med or p(N) and operator <, <=, >, >= or ==, e.g. "p(99)<=250"';
  for (const bad of ['p99<1', 'rate=<1', 'rate<', 'rate<1 x', 'x rate<1', 'rate<1e', 'sum<1']) {
    assert.throws(
      () => parseThreshold(bad),
      (err: unknown) => {
        assert.ok(err instanceof ThresholdError);
        assert.equal(err.code, 'ERR_THRESHOLD');
        assert.equal(err.name, 'ThresholdError');
        assert.equal(err.message, `threshold ${JSON.stringify(bad)} ${grammar}`);
        return true;
      },
    );
  }
  assert.throws(() => parseThreshold('p(100.5)<1'), {
    message: 'threshold "p(100.5)<1": p(N) needs N from 0 to 100',
  });
});

test('aggregations must fit the metric type, as k6 requires', () => {
  const fits: [MetricType, string][] = [
    ['counter', 'count>0'],
    ['counter', 'rate>0'],
    ['gauge', 'value>0'],
    ['rate', 'rate>0'],
    ['trend', 'avg>0'],
    ['trend', 'min>0'],
    ['trend', 'max>0'],
    ['trend', 'med>0'],
    ['trend', 'p(95)>0'],
  ];
  for (const [type, expr] of fits) assertFits('m', type, parseThreshold(expr));
  assert.throws(() => assertFits('phx_errors', 'rate', parseThreshold('count<5')), {
    message: 'threshold "count<5" on rate metric phx_errors: rate metrics take rate',
  });
  assert.throws(() => assertFits('t', 'trend', parseThreshold('rate<5')), {
    message: /trend metrics take avg, min, max, med, p\(N\)$/,
  });
  assert.throws(() => assertFits('g', 'gauge', parseThreshold('p(50)<5')), /gauge metrics take value$/);
  assert.throws(
    () => assertFits('c', 'counter', parseThreshold('value<5')),
    /counter metrics take count, rate$/,
  );
});

test('comparisons at, below and above the target', () => {
  const at = (op: '<' | '<=' | '>' | '>=' | '==') => [
    compare(1, op, 2),
    compare(2, op, 2),
    compare(3, op, 2),
  ];
  assert.deepEqual(at('<'), [true, false, false]);
  assert.deepEqual(at('<='), [true, true, false]);
  assert.deepEqual(at('>'), [false, false, true]);
  assert.deepEqual(at('>='), [false, true, true]);
  assert.deepEqual(at('=='), [false, true, false]);
  assert.deepEqual(
    evaluateThreshold(parseThreshold('p(99)<=250'), (t) => (t.aggregation === 'p(99)' ? 251 : 0)),
    {
      ok: false,
      actual: 251,
    },
  );
});
