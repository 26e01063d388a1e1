import { formatValues } from '../../../loadtests/lib/summary.js';
import type { CombinedResult, LoadSummary } from '../../../pipeline/src/k6/index.js';
import { code, keyValueTable, table, type SummarySection } from '../../../pipeline/src/summary/index.js';
import type { LoadTestConfig } from './config.js';

function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  return String(Number(value.toPrecision(5)));
}

/** The metrics worth a row: the ones with thresholds first, then the SLO-related ones. */
const shownMetrics = [
  'ws_connect_success',
  'phx_join_success',
  'phx_delivery_latency',
  'phx_errors',
  'phx_join_duration',
  'phx_reply_duration',
  'ws_sessions',
  'iterations',
];

/** Job summary: the run, every threshold (metric, threshold, value, result), and the main metrics. */
export function loadTestSummary(
  config: LoadTestConfig,
  combined: CombinedResult,
  summaries: LoadSummary[],
  extra: { testRun?: string } = {},
): SummarySection[] {
  const first = summaries[0]!;
  const metrics = shownMetrics.filter((name) => first.metrics[name]);
  const multi = combined.runners > 1;
  return [
    {
      heading: `Load test ${config.scenario}: ${combined.passed ? 'passed' : 'FAILED'}`,
      level: 2,
      table: keyValueTable([
        ['Scenario', code(config.scenario)],
        [
          'Engine',
          config.mode === 'operator'
            ? `k6-operator TestRun ${extra.testRun ?? ''} (${combined.runners} runner(s))`
            : config.engine === 'k6'
              ? 'k6'
              : 'Node runner',
        ],
        ['Target', code(first.config.url)],
        ['Virtual users', first.config.vus * combined.runners],
        ['Duration', `${first.config.duration} (ran ${(combined.testRunDurationMs / 1000).toFixed(1)}s)`],
        [
          'Thresholds',
          `${combined.thresholds.filter((t) => t.ok).length} of ${combined.thresholds.length} passed`,
        ],
      ]),
    },
    {
      heading: 'Thresholds',
      table: table(
        ['Metric', 'Threshold', multi ? 'Value (worst runner)' : 'Value', 'Result'],
        combined.thresholds.map((t) => [
          code(t.metric),
          code(t.expression),
          formatNumber(t.value),
          t.ok ? 'pass' : multi ? `FAIL (${t.failedRunners} of ${t.runners} runners)` : 'FAIL',
        ]),
      ),
    },
    {
      heading: multi ? 'Metrics (first runner)' : 'Metrics',
      table: table(
        ['Metric', 'Type', 'Values'],
        metrics.map((name) => [code(name), first.metrics[name]!.type, formatValues(first.metrics[name]!)]),
      ),
    },
  ];
}
