/**
 * The cost of spreading a node over processes: Switchboard with `WORKERS=2` against one process, on
 * the same server CPUs and offered load, as the ratio of their median server CPU-µs per delivery.
 */
import type { BenchResult } from './harness.js';
import { TARGET_LABELS } from './targets.js';

export const WORKERS_HEAD = [
  'Workload',
  `${TARGET_LABELS.switchboard} CPU-µs per delivery`,
  `${TARGET_LABELS['switchboard-workers']} CPU-µs per delivery`,
  'Ratio',
];

/** One row per one-node workload where both ran and counted; medians, ratio workers / one process. */
export function workersRows(r: BenchResult): string[][] {
  const rows: string[][] = [];
  for (const w of r.settings.workloads.filter((x) => x.mode !== 'storm')) {
    const of = (t: 'switchboard' | 'switchboard-workers') =>
      r.summary.find((s) => s.workload === w.name && s.target === t && s.nodes === 1)?.cpuUsPerDelivery;
    const one = of('switchboard');
    const two = of('switchboard-workers');
    if (!one || !two) continue;
    rows.push([
      w.name,
      one.median.toFixed(2),
      two.median.toFixed(2),
      `${(two.median / one.median).toFixed(2)}x`,
    ]);
  }
  return rows;
}
