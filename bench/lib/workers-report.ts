/**
 * The cost of spreading a node over processes: Switchboard with `WORKERS=2` against one process, on
 * the same server CPUs at the same offered load, as the ratio of their server CPU-µs per delivery.
 */
import type { WorkloadRun } from './harness.js';
import { spread } from './order.js';
import type { StepResult } from './step.js';
import { TARGET_LABELS } from './targets.js';
import type { Workload } from './workloads.js';

export interface WorkersCost {
  workload: string;
  /** Runs where both passed a step at the same rate (the highest such rate in each run). */
  runs: number;
  /** Median over those runs of the rate compared, per room. */
  ratePerRoom: number;
  /** Median server CPU-µs per delivery of one process, and of the workers' process tree. */
  oneProcess: number;
  workers: number;
  /** Median of the per-run ratios workers / one process: above 1 is what spreading costs. */
  ratio: number;
}

const median = (values: number[]) => spread(values)!.median;

/**
 * Per fixed-load or rate-search workload: in each run, the highest rate at which both targets passed
 * a step (fixed load: its one step; a rate search's best steps can differ, so not those), compared.
 */
export function workersCost(runs: WorkloadRun[], workloads: Workload[]): WorkersCost[] {
  const out: WorkersCost[] = [];
  for (const w of workloads.filter((x) => x.mode !== 'storm')) {
    const pairs: { rate: number; one: number; workers: number }[] = [];
    const of = (t: 'switchboard' | 'switchboard-workers', run: number) =>
      runs.find((r) => r.workload === w.name && r.target === t && r.nodes === 1 && r.run === run);
    for (const run of new Set(runs.map((r) => r.run))) {
      const one = of('switchboard', run)?.steps.filter((s) => s.pass) ?? [];
      const two = of('switchboard-workers', run)?.steps.filter((s) => s.pass) ?? [];
      const shared = one
        .map((s) => [s, two.find((t) => t.ratePerTopic === s.ratePerTopic)] as const)
        .filter((p): p is readonly [StepResult, StepResult] => p[1] !== undefined)
        .sort((a, b) => b[0].ratePerTopic - a[0].ratePerTopic)[0];
      if (shared) {
        pairs.push({
          rate: shared[0].ratePerTopic,
          one: shared[0].serverCpuUsPerDelivery,
          workers: shared[1].serverCpuUsPerDelivery,
        });
      }
    }
    if (pairs.length === 0) continue;
    out.push({
      workload: w.name,
      runs: pairs.length,
      ratePerRoom: median(pairs.map((p) => p.rate)),
      oneProcess: median(pairs.map((p) => p.one)),
      workers: median(pairs.map((p) => p.workers)),
      ratio: median(pairs.map((p) => p.workers / p.one)),
    });
  }
  return out;
}

export const WORKERS_HEAD = [
  'Workload',
  'msg/s per room',
  `${TARGET_LABELS.switchboard} CPU-µs per delivery`,
  `${TARGET_LABELS['switchboard-workers']} CPU-µs per delivery`,
  'Ratio',
  'Runs compared',
];

export function workersRows(cost: WorkersCost[]): string[][] {
  return cost.map((c) => [
    c.workload,
    c.ratePerRoom.toFixed(1),
    c.oneProcess.toFixed(2),
    c.workers.toFixed(2),
    `${c.ratio.toFixed(2)}x`,
    String(c.runs),
  ]);
}
