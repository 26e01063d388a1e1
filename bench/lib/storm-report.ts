/**
 * Workload D in the results and the report: median and range over the counted runs of each server,
 * and the tables (summary and every run). Figures are values of the results, at most rounded.
 */
import type { WorkloadRun } from './harness.js';
import { spread, type Spread } from './order.js';
import type { StormResult } from './reconnect-storm.js';
import { TARGET_LABELS, type TargetName } from './targets.js';
import type { Workload, WorkloadName } from './workloads.js';

export interface StormSummary {
  workload: WorkloadName;
  target: TargetName;
  runs: number;
  /** Runs with every subscriber back and the generator within its limit. */
  counted: number;
  /** The server answered rejoins as recovered or not (false: it has no recovery). */
  recovery: boolean;
  allBackMs: Spread | null;
  allRecoveredMs: Spread | null;
  peakRejoinsPerSec: Spread | null;
  serverCpuSeconds: Spread | null;
  lost: Spread | null;
}

export function summariseStorms(
  runs: WorkloadRun[],
  workloads: Workload[],
  targets: TargetName[],
): StormSummary[] {
  const out: StormSummary[] = [];
  for (const w of workloads.filter((x) => x.mode === 'storm')) {
    for (const t of targets) {
      const mine = runs.filter((r) => r.workload === w.name && r.target === t);
      const counted = mine.filter((r) => r.counted && r.storm).map((r) => r.storm!);
      const recovered = counted.map((s) => s.allRecoveredMs).filter((v): v is number => v !== null);
      out.push({
        workload: w.name,
        target: t,
        runs: mine.length,
        counted: counted.length,
        recovery: mine.some((r) => r.storm && r.storm.recoveredAnswers + r.storm.refusedAnswers > 0),
        allBackMs: spread(counted.map((s) => s.allBackMs ?? 0)),
        allRecoveredMs: spread(recovered),
        peakRejoinsPerSec: spread(counted.map((s) => s.peakRejoinsPerSec)),
        serverCpuSeconds: spread(counted.map((s) => s.serverCpuSeconds)),
        lost: spread(counted.map((s) => s.lost)),
      });
    }
  }
  return out;
}

function cell(s: Spread | null, f: (n: number) => string): string {
  if (!s) return '-';
  return s.n > 1 ? `**${f(s.median)}** (${f(s.min)}-${f(s.max)})` : `**${f(s.median)}**`;
}
const ms = (n: number) => n.toFixed(0);
const secs = (n: number) => n.toFixed(2);
const whole = (n: number) => n.toFixed(0);

export const STORM_HEAD = [
  'Workload',
  'Server',
  'Recovery',
  'All back, ms after the cut',
  'All recovered, ms after the cut',
  'Peak rejoins/s',
  'Server CPU-s, cut to all back',
  'Deliveries lost',
  'Runs counted',
];

export function stormSummaryRows(summary: StormSummary[]): string[][] {
  return summary.map((s) => [
    s.workload,
    TARGET_LABELS[s.target],
    s.recovery ? 'yes' : 'no recovery',
    cell(s.allBackMs, ms),
    s.recovery ? cell(s.allRecoveredMs, ms) : 'no recovery',
    cell(s.peakRejoinsPerSec, whole),
    cell(s.serverCpuSeconds, secs),
    cell(s.lost, whole),
    `${s.counted} of ${s.runs}`,
  ]);
}

export const STORM_RUN_HEAD = [
  'Run',
  'Server',
  'Cut / back',
  'Rejoins recovered / refused',
  'Lost nothing',
  'All back ms',
  'All recovered ms',
  'Peak rejoins/s',
  'Server CPU-s (% per node)',
  'Lost / dup / reordered',
  'Official clients exact',
  'Generator CPU',
  'Result',
];

function stormVerdict(run: WorkloadRun, s: StormResult): string {
  if (s.generatorSaturated) return `flagged, not counted: ${s.reason}`;
  return s.pass ? 'pass' : `fail: ${s.reason}`;
}

export function stormRunRows(runs: WorkloadRun[]): string[][] {
  return runs.map((run) => {
    const s = run.storm;
    if (!s)
      return [
        String(run.run),
        TARGET_LABELS[run.target],
        ...Array(10).fill('-'),
        `error: ${run.error ?? 'no result'}`,
      ];
    const opt = (v: number | null) => (v === null ? '-' : ms(v));
    return [
      String(run.run),
      TARGET_LABELS[run.target],
      `${s.cut} / ${s.back}`,
      `${s.recoveredAnswers} / ${s.refusedAnswers}`,
      `${s.recovered} of ${s.subscribers}`,
      opt(s.allBackMs),
      opt(s.allRecoveredMs),
      whole(s.peakRejoinsPerSec),
      `${secs(s.serverCpuSeconds)} (${s.serverCpu.map((c) => `${c.toFixed(0)}%`).join(' + ')})`,
      `${s.lost} / ${s.duplicates} / ${s.reordered}`,
      `${s.sample.exact} of ${s.sample.clients}`,
      s.generatorCpu.map((c) => `${c.toFixed(0)}%`).join(' '),
      stormVerdict(run, s),
    ];
  });
}
