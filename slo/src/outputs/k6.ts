import type { SloSource } from '../objectives.js';
import { k6Threshold, loadTestThreshold } from '../sli.js';
import { generatedHeader } from './format.js';

/**
 * loadtests/lib/thresholds.generated.ts: k6 `options.thresholds` keyed by k6 metric name, and the
 * objectives for summaries. No imports, so k6 loads it as it is. Objectives without `k6` are left out.
 */
export function renderK6Thresholds(source: SloSource): string {
  // Objectives without a k6 metric are measured on the server only (restarts, broker errors).
  const measured = source.objectives.flatMap((o) =>
    o.k6
      ? [
          {
            name: o.name,
            description: o.description,
            target: o.target,
            metric: o.k6.metric,
            threshold: k6Threshold(o),
          },
        ]
      : [],
  );
  // Load-test objectives state a bound, not a share of good events: no target.
  const bounds = source.loadTest.map((o) => ({
    name: o.name,
    description: o.description,
    metric: o.k6.metric,
    threshold: loadTestThreshold(o),
  }));
  const summary = [...measured, ...bounds];
  const thresholds = Object.fromEntries(summary.map((o) => [o.metric, [o.threshold]]));
  return [
    `// ${generatedHeader}`,
    '',
    '/** k6 thresholds keyed by k6 metric name: Rate metrics count good (or bad) events, Trends are in ms. */',
    `export const thresholds: Record<string, string[]> = ${JSON.stringify(thresholds, null, 2)};`,
    '',
    '/** The objectives behind the thresholds, for end-of-test summaries. */',
    'export const objectives: { name: string; description: string; target?: number; metric: string; threshold: string }[] =',
    `  ${JSON.stringify(summary, null, 2)};`,
    '',
  ].join('\n');
}
