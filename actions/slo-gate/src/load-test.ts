import { readFileSync, statSync } from 'node:fs';
import { formatValue, meets, overallVerdict, type GateReport, type ObjectiveResult } from './evaluate.js';
import type { GateLoadTestObjective } from './gate-file.js';
import type { LoadTestSource } from './summary.js';

/**
 * The objectives only the load test's clients measure (messages lost, reconnect time), judged from
 * the summary JSON k6-loadtest writes (`summary-path`; docs/loadtests.md): the statistic of the metric
 * against the limit. The summary is the load test's own account, so a metric it lacks is a gap in the
 * evidence (inconclusive), except for an optional objective whose events did not happen.
 */

/** A summary is a few hundred KiB at most (one entry per metric); a bigger file is not one. */
export const MAX_SUMMARY_BYTES = 16 * 1024 * 1024;

/** One metric of the summary as k6-loadtest writes it: `type` and its `values` by statistic. */
interface SummaryMetric {
  type: string;
  values: Map<string, number>;
}

/** The metrics of a summary JSON, by name; names and statistics come from outside, so Maps. */
export type SummaryMetrics = Map<string, SummaryMetric>;

/** Reads and checks the summary file; errors name the input and what is wrong. */
export function readSummaryMetrics(path: string): SummaryMetrics {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_SUMMARY_BYTES) {
      throw new Error(`it has ${size} bytes, over the ${MAX_SUMMARY_BYTES} a load-test summary can have`);
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`summary-path: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`summary-path: ${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseSummaryMetrics(raw, path);
}

/** The `metrics` of a parsed summary (k6-loadtest's `version: 1` shape). */
export function parseSummaryMetrics(raw: unknown, source = 'summary'): SummaryMetrics {
  const doc = raw as { version?: unknown; metrics?: unknown } | null;
  if (typeof doc !== 'object' || doc === null || doc.version !== 1) {
    throw new Error(`summary-path: ${source} is not a load-test summary (expected "version": 1)`);
  }
  if (typeof doc.metrics !== 'object' || doc.metrics === null || Array.isArray(doc.metrics)) {
    throw new Error(`summary-path: ${source} has no "metrics" object`);
  }
  const metrics: SummaryMetrics = new Map();
  for (const [name, entry] of Object.entries(doc.metrics as Record<string, unknown>)) {
    const m = entry as { type?: unknown; values?: unknown } | null;
    if (typeof m !== 'object' || m === null || typeof m.values !== 'object' || m.values === null) continue;
    const values = new Map<string, number>();
    for (const [stat, value] of Object.entries(m.values as Record<string, unknown>)) {
      if (typeof value === 'number') values.set(stat, value);
    }
    metrics.set(name, { type: typeof m.type === 'string' ? m.type : '', values });
  }
  return metrics;
}

/** Samples behind a metric's statistics: a Trend's count, a Rate's passes + fails; a Counter that exists has some. */
function sampleCount(m: SummaryMetric): number {
  if (m.type === 'trend') return m.values.get('count') ?? 0;
  if (m.type === 'rate') return (m.values.get('passes') ?? 0) + (m.values.get('fails') ?? 0);
  return 1;
}

/** Judges one load-test objective against the summary's metrics. */
export function judgeLoadTestObjective(o: GateLoadTestObjective, metrics: SummaryMetrics): ObjectiveResult {
  const base = {
    name: o.name,
    description: o.description,
    query: `${o.metric} ${o.aggregation} (load-test summary)`,
    comparator: o.comparator,
    limit: o.limit,
    unit: o.unit,
  };
  const m = metrics.get(o.metric);
  if (!m || sampleCount(m) === 0) {
    const what = m ? `${o.metric} has no samples` : `the summary has no ${o.metric}`;
    return o.optional
      ? { ...base, verdict: 'not-exercised', reason: `not exercised: ${what}` }
      : {
          ...base,
          verdict: 'inconclusive',
          reason: `${what}: run a scenario that records it (the rollout scenario counts continuity)`,
        };
  }
  const value = m.values.get(o.aggregation);
  if (value === undefined || !Number.isFinite(value)) {
    return {
      ...base,
      verdict: 'inconclusive',
      reason: `${o.metric} has no finite ${o.aggregation} in the summary (its statistics: ${[...m.values.keys()].join(', ')})`,
    };
  }
  const ok = meets(value, o.comparator, o.limit);
  return {
    ...base,
    value,
    verdict: ok ? 'pass' : 'fail',
    reason: ok ? '' : `${formatValue(value, o.unit)} is not ${o.comparator} ${formatValue(o.limit, o.unit)}`,
  };
}

/** The report with the load-test objectives' results added after Prometheus's, and the verdict over all. */
export function withLoadTestResults(report: GateReport, results: ObjectiveResult[]): GateReport {
  const all = [...report.results, ...results];
  return { ...report, results: all, verdict: overallVerdict(all) };
}

/**
 * The load-test objectives' results from `metrics` (read from summary-path), or none when no summary
 * was given: they are then listed in the job summary as not judged.
 */
export function loadTestResults(
  objectives: GateLoadTestObjective[],
  metrics: SummaryMetrics | undefined,
  summaryPath: string,
): { results: ObjectiveResult[]; source: LoadTestSource } {
  if (objectives.length === 0) return { results: [], source: {} };
  if (!metrics) return { results: [], source: { skipped: objectives.map((o) => o.name) } };
  return { results: objectives.map((o) => judgeLoadTestObjective(o, metrics)), source: { summaryPath } };
}
