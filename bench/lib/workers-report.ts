/**
 * The cost of spreading a node over processes: Switchboard with `WORKERS=2` against one process, on
 * the same server CPUs and offered load, as the ratio of their median server CPU-µs per delivery.
 */
import type { Summary } from './harness.js';
import { TARGET_LABELS } from './targets.js';
import type { Workload } from './workloads.js';

export interface WorkersCost {
  workload: string;
  /** Median server CPU-µs per delivery of one process, and of the workers' process tree. */
  oneProcess: number;
  workers: number;
  /** workers / oneProcess: above 1 is what spreading costs. */
  ratio: number;
}

/** One entry per fixed-load or rate-search workload where both targets ran and counted. */
export function workersCost(summary: Summary[], workloads: Workload[]): WorkersCost[] {
  const out: WorkersCost[] = [];
  for (const w of workloads.filter((x) => x.mode !== 'storm')) {
    const of = (t: 'switchboard' | 'switchboard-workers') =>
      summary.find((s) => s.workload === w.name && s.target === t && s.nodes === 1)?.cpuUsPerDelivery;
    const one = of('switchboard');
    const two = of('switchboard-workers');
    if (!one || !two) continue;
    out.push({
      workload: w.name,
      oneProcess: one.median,
      workers: two.median,
      ratio: two.median / one.median,
    });
  }
  return out;
}

export const WORKERS_HEAD = [
  'Workload',
  `${TARGET_LABELS.switchboard} CPU-µs per delivery`,
  `${TARGET_LABELS['switchboard-workers']} CPU-µs per delivery`,
  'Ratio',
];

export function workersRows(cost: WorkersCost[]): string[][] {
  return cost.map((c) => [
    c.workload,
    c.oneProcess.toFixed(2),
    c.workers.toFixed(2),
    `${c.ratio.toFixed(2)}x`,
  ]);
}
