/**
 * The summary JSON both engines write, and the table both print. k6 hands `handleSummary` its
 * end-of-test data; the Node runner builds data of the same form; `toLoadSummary` turns either into
 * the one documented shape (docs/loadtests.md), so tools read k6 and Node results alike.
 */
import { publicConfig, type LoadConfig } from './config.js';
import { parseThreshold, type MetricType } from './thresholds.js';

/** One metric as k6's end-of-test data has it. */
export interface MetricSummary {
  type: MetricType;
  /** `time` for durations in ms, `data` for bytes, `default` otherwise. */
  contains: 'default' | 'time' | 'data';
  /**
   * counter: count, rate (per second); gauge: value, min, max; rate: rate, passes, fails;
   * trend: avg, min, med, max, p(90), p(95), p(99), count.
   */
  values: Record<string, number>;
  /** Expression -> outcome, for metrics with thresholds. */
  thresholds?: Record<string, { ok: boolean }>;
}

/** The part of k6's `handleSummary(data)` argument the summary uses. */
export interface EndOfTestData {
  metrics: Record<string, MetricSummary>;
  state: { testRunDurationMs: number };
}

/** One threshold's outcome, flattened for readers that do not want to walk `metrics`. */
export interface ThresholdResult {
  metric: string;
  expression: string;
  ok: boolean;
  /** The aggregated value compared (absent if the engine did not report that statistic). */
  value?: number;
}

/** The summary JSON (`version: 1`). */
export interface LoadSummary {
  version: 1;
  scenario: string;
  engine: 'k6' | 'node';
  testRunDurationMs: number;
  /** The configuration the scenario ran with (token count instead of tokens). */
  config: ReturnType<typeof publicConfig>;
  /** True when every threshold passed (k6 and the runner exit 99 otherwise). */
  ok: boolean;
  thresholds: ThresholdResult[];
  metrics: Record<string, MetricSummary>;
}

/** Builds the summary from end-of-test data (k6's, or the Node runner's in the same form). */
export function toLoadSummary(
  scenario: string,
  engine: 'k6' | 'node',
  config: LoadConfig,
  data: EndOfTestData,
): LoadSummary {
  const metrics: Record<string, MetricSummary> = {};
  const thresholds: ThresholdResult[] = [];
  for (const name of Object.keys(data.metrics).sort()) {
    const m = data.metrics[name];
    if (!m) continue;
    const copy: MetricSummary = { type: m.type, contains: m.contains, values: { ...m.values } };
    if (m.thresholds && Object.keys(m.thresholds).length > 0) {
      copy.thresholds = {};
      for (const [expression, outcome] of Object.entries(m.thresholds)) {
        copy.thresholds[expression] = { ok: outcome.ok };
        const result: ThresholdResult = { metric: name, expression, ok: outcome.ok };
        const value = thresholdValue(expression, m.values);
        if (value !== undefined) result.value = value;
        thresholds.push(result);
      }
    }
    metrics[name] = copy;
  }
  return {
    version: 1,
    scenario,
    engine,
    testRunDurationMs: Math.round(data.state.testRunDurationMs),
    config: publicConfig(config),
    ok: thresholds.every((t) => t.ok),
    thresholds,
    metrics,
  };
}

function thresholdValue(expression: string, values: Record<string, number>): number | undefined {
  try {
    return values[parseThreshold(expression).aggregation];
  } catch {
    return undefined;
  }
}

function num(n: number | undefined, unit = ''): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  const text = Number.isInteger(n) ? String(n) : n.toFixed(Math.abs(n) >= 100 ? 1 : 2);
  return `${text}${unit}`;
}

/** One line of values for a metric, k6-style. */
export function formatValues(m: MetricSummary): string {
  const v = m.values;
  const unit = m.contains === 'time' ? 'ms' : m.contains === 'data' ? 'B' : '';
  switch (m.type) {
    case 'counter':
      return (
        `${num(v.count, unit)} (${num(v.rate)}/s)` +
        (v.peak_1s === undefined ? '' : `, peak ${num(v.peak_1s)} in 1 s, ${num(v.peak_100ms)} in 100 ms`)
      );
    case 'gauge':
      return `${num(v.value, unit)} (min ${num(v.min, unit)}, max ${num(v.max, unit)})`;
    case 'rate':
      return `${num((v.rate ?? 0) * 100)}% (${num(v.passes)} of ${num((v.passes ?? 0) + (v.fails ?? 0))})`;
    case 'trend':
      return Object.keys(v)
        .map((k) => `${k}=${num(v[k], k === 'count' ? '' : unit)}`)
        .join(' ');
  }
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

/** The end-of-test table: every metric, then every threshold with pass/fail, then the verdict. */
export function renderSummaryTable(summary: LoadSummary): string {
  const names = Object.keys(summary.metrics);
  const width = Math.max(24, ...names.map((n) => n.length + 2));
  const lines: string[] = [
    `scenario ${summary.scenario} (${summary.engine}): ${summary.config.vus} VUs, ${summary.config.duration}, ` +
      `ran ${(summary.testRunDurationMs / 1000).toFixed(1)}s against ${summary.config.url}`,
    '',
    `${pad('METRIC', width)}${pad('TYPE', 9)}VALUES`,
  ];
  for (const name of names) {
    const m = summary.metrics[name];
    if (m) lines.push(`${pad(name, width)}${pad(m.type, 9)}${formatValues(m)}`);
  }
  lines.push('', `${pad('THRESHOLD', width + 18)}${pad('VALUE', 12)}RESULT`);
  for (const t of summary.thresholds) {
    lines.push(
      `${pad(t.metric, width)}${pad(t.expression, 18)}${pad(num(t.value), 12)}${t.ok ? 'pass' : 'FAIL'}`,
    );
  }
  if (summary.thresholds.length === 0) lines.push('(no thresholds)');
  lines.push(...continuityLines(summary.metrics));
  const failed = summary.thresholds.filter((t) => !t.ok).length;
  lines.push(
    '',
    failed === 0
      ? `all ${summary.thresholds.length} thresholds passed`
      : `${failed} of ${summary.thresholds.length} thresholds FAILED`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The rollout scenario's verdict lines (empty for other scenarios): messages lost, duplicated and
 * reordered, reconnect time, recovery success and the reconnect herd (peaks: Node runner only; k6's
 * end-of-test data has no timestamps).
 */
export function continuityLines(metrics: Record<string, MetricSummary>): string[] {
  const lost = metrics.continuity_messages_lost;
  if (!lost) return [];
  const count = (name: string) => metrics[name]?.values.count ?? 0;
  const reconnect = metrics.continuity_reconnect_time?.values ?? {};
  const recovery = metrics.continuity_recovery_success?.values;
  const rejoins = (recovery?.passes ?? 0) + (recovery?.fails ?? 0);
  const peaks = (name: string) => {
    const v = metrics[name]?.values;
    return v?.peak_1s === undefined
      ? 'peaks: not in k6 end-of-test data (use a time-series output)'
      : `peak ${num(v.peak_1s)}/s (1 s buckets), ${num(v.peak_100ms)} in any 100 ms`;
  };
  return [
    '',
    'CONTINUITY',
    `messages lost ${num(count('continuity_messages_lost'))}, duplicated ${num(count('continuity_messages_duplicated'))}, ` +
      `reordered ${num(count('continuity_messages_reordered'))} (delivered ${num(count('continuity_messages_delivered'))}, ` +
      `published ${num(count('continuity_messages_published'))})`,
    (reconnect.count ?? 0) > 0
      ? `reconnects ${num(reconnect.count)}: close to rejoined p50 ${num(reconnect.med, 'ms')}, p99 ${num(reconnect['p(99)'], 'ms')}`
      : 'reconnects 0 (no client was closed by the server)',
    rejoins > 0
      ? `recovery success ${num((recovery?.rate ?? 0) * 100)}% (${num(recovery?.passes)} of ${num(rejoins)} rejoins)`
      : 'recovery success - (no rejoin with recovery)',
    `clients ${num(count('continuity_clients'))}, moved and back ${num(count('continuity_clients_moved'))}, ` +
      `stranded ${num(count('continuity_clients_stranded'))}`,
    `connects ${num(count('continuity_connects'))}: ${peaks('continuity_connects')}`,
    `reconnects ${num(count('continuity_reconnects'))}: ${peaks('continuity_reconnects')}`,
  ];
}
