import type { Objective } from '../objectives.js';
import { k6Threshold } from '../sli.js';
import { generatedHeader } from './format.js';

/**
 * loadtests/lib/thresholds.generated.ts: k6 `options.thresholds` keyed by k6 metric name, and the
 * objectives for summaries. No imports, so k6 loads it as it is. Objectives without `k6` are left out.
 */
export function renderK6Thresholds(all: Objective[]): string {
  // Objectives without a k6 metric are measured on the server only (restarts, broker errors).
  const objectives = all.flatMap((o) => (o.k6 ? [{ ...o, k6: o.k6 }] : []));
  const thresholds = Object.fromEntries(objectives.map((o) => [o.k6.metric, [k6Threshold(o)]]));
  const summary = objectives.map((o) => ({
    name: o.name,
    description: o.description,
    target: o.target,
    metric: o.k6.metric,
    threshold: k6Threshold(o),
  }));
  return [
    `// ${generatedHeader}`,
    '',
    '/** k6 thresholds keyed by k6 metric name: Rate metrics count good (or bad) events, Trends are in ms. */',
    `export const thresholds: Record<string, string[]> = ${JSON.stringify(thresholds, null, 2)};`,
    '',
    '/** The objectives behind the thresholds, for end-of-test summaries. */',
    'export const objectives: { name: string; description: string; target: number; metric: string; threshold: string }[] =',
    `  ${JSON.stringify(summary, null, 2)};`,
    '',
  ].join('\n');
}
