/**
 * Workload D, the reconnect storm (the deploy case): subscribers joined with recovery, publications
 * flowing; then the server closes every subscriber connection at once (Target.cut), every one
 * reconnects at once and rejoins with its last position. Measured: how long until all are back,
 * how long until all have recovered (nothing of their topic missing, repeated or out of order over
 * the whole step, and every publication due before they were back has arrived), the peak rejoin
 * rate, and the server's CPU from the cut until all were back. A server without recovery
 * reconnects and rejoins the same way and its loss is counted, not hidden.
 */
import { performance } from 'node:perf_hooks';
import { nowUs } from '../loadgen/connect.js';
import type { DeliveryAccount, SampleReport, StormShardReport } from '../loadgen/messages.js';
import { deliveryAccount } from './pool.js';
import { CpuMeter, ForeignCpuMeter, processTree, treeCpuSeconds } from './procfs.js';
import type { StepContext } from './step.js';
import { takeStepNumber } from './step.js';
import type { Target } from './targets.js';

export interface StormOptions {
  /** Publications flow this long before the cut, so every subscriber has a position. */
  preCutMs: number;
  /** Publishing lasts this long in all (the cut falls inside it). */
  publishMs: number;
  /** Every subscriber must be back within this long after the cut; later ones count as not back. */
  deadlineMs: number;
  bodyBytes: number;
  samplesPerSecond: number;
  generatorCpuMax: number;
}

export interface StormResult extends DeliveryAccount {
  ratePerTopic: number;
  topics: number;
  subscribers: number;
  publishedPerTopic: number;
  /** Connections the server said its cut closes (publishers excluded by the baselines, not by Switchboard's drain). */
  closedByServer: number;
  /** Subscribers that saw the cut, and of them those joined again. */
  cut: number;
  back: number;
  /** Rejoins the server answered as recovered / not recovered (0 and 0 where the protocol has no such answer). */
  recoveredAnswers: number;
  refusedAnswers: number;
  /** Subscribers that were cut, came back and lost nothing, got nothing twice or out of order. */
  recovered: number;
  /** From the cut until the last subscriber was back; null when not all came back. */
  allBackMs: number | null;
  /** From the cut until the last subscriber had caught up; null unless every subscriber recovered. */
  allRecoveredMs: number | null;
  /** Most rejoins completed in one 100 ms bin, per second. */
  peakRejoinsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  sample: SampleReport;
  /** Server CPU from the cut until all were back (or the deadline), all nodes: seconds and % of one core per node. */
  serverCpuSeconds: number;
  serverCpu: number[];
  generatorCpu: number[];
  generatorLoad: number;
  foreignCpu: number;
  generatorSaturated: boolean;
  /** First few reconnect failures the generator saw. */
  errors: string[];
  pass: boolean;
  reason: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runStorm(
  ctx: StepContext,
  target: Target,
  o: StormOptions,
  ratePerTopic: number,
): Promise<StormResult> {
  const step = takeStepNumber();
  const offered = ratePerTopic * ctx.subscribers;
  await ctx.pool.record(step, Math.min(1, o.samplesPerSecond / Math.max(1, offered)));
  await ctx.pool.stormArm(o.publishMs + o.deadlineMs);
  const genMeters = ctx.pool.all.map((g) => new CpuMeter(g.pid));
  const foreign = new ForeignCpuMeter([
    ...ctx.serverPids.flatMap(processTree),
    ...ctx.helperPids,
    ...ctx.pool.all.map((g) => g.pid),
  ]);
  const publishing = ctx.pool.publish({
    step,
    ratePerTopic,
    durationMs: o.publishMs,
    bodyBytes: o.bodyBytes,
  });
  await sleep(o.preCutMs);

  const cutAtUs = nowUs();
  const cpu0 = ctx.serverPids.map(treeCpuSeconds);
  const serverMeters = ctx.serverPids.map((pid) => new CpuMeter(pid, treeCpuSeconds));
  const closedByServer = await target.cut(0);
  const deadline = performance.now() + o.deadlineMs;
  for (;;) {
    const c = await ctx.pool.stormCounts();
    if ((c.cut >= ctx.subscribers && c.back >= ctx.subscribers) || performance.now() > deadline) break;
    await sleep(100);
  }
  const serverCpuSeconds = ctx.serverPids.reduce((s, pid, i) => s + treeCpuSeconds(pid) - cpu0[i]!, 0);
  const serverCpu = serverMeters.map((m) => m.percent());

  const pub = await publishing;
  const generatorCpu = genMeters.map((m) => m.percent());
  const foreignCpu = foreign.percent();
  const expected = pub.perTopic * ctx.subscribers;
  const drainDeadline = Date.now() + 5_000;
  while ((await ctx.pool.counts()).received < expected && Date.now() < drainDeadline) await sleep(100);

  const r = await ctx.pool.report(pub.perTopic);
  const shards = await ctx.pool.stormReports(pub.perTopic);
  const sample = await ctx.pool.sampleReport(pub.perTopic);
  const s = sumShards(shards);
  const generatorLoad = generatorCpu.reduce((a, c) => a + c, 0) / ctx.generatorCores;
  const generatorSaturated =
    Math.max(...generatorCpu) > o.generatorCpuMax || generatorLoad > o.generatorCpuMax;
  const allBack = s.back === ctx.subscribers && s.backAtUs.length > 0;
  const everyoneRecovered = allBack && s.caughtUpAtUs.length === ctx.subscribers;
  const result: StormResult = {
    ratePerTopic,
    topics: pub.topics,
    subscribers: ctx.subscribers,
    publishedPerTopic: pub.perTopic,
    closedByServer,
    cut: s.cut,
    back: s.back,
    recoveredAnswers: s.recoveredAnswers,
    refusedAnswers: s.refusedAnswers,
    recovered: s.caughtUpAtUs.length,
    allBackMs: allBack ? (Math.max(...s.backAtUs) - cutAtUs) / 1000 : null,
    allRecoveredMs: everyoneRecovered ? (Math.max(...s.caughtUpAtUs) - cutAtUs) / 1000 : null,
    peakRejoinsPerSec: peakPerSecond(s.backAtUs, 100_000),
    ...deliveryAccount(r),
    p50Ms: r.histogram.getValueAtPercentile(50) / 1000,
    p99Ms: r.histogram.getValueAtPercentile(99) / 1000,
    sample,
    serverCpuSeconds,
    serverCpu,
    generatorCpu,
    generatorLoad,
    foreignCpu,
    generatorSaturated,
    errors: s.errors,
    pass: false,
    reason: '',
  };
  const reasons = stormReasons(result, o);
  result.pass = reasons.length === 0;
  result.reason = reasons.join('; ');
  return result;
}

/** Why a storm did not pass (empty: every subscriber back and recovered, official clients exact). */
export function stormReasons(r: StormResult, o: Pick<StormOptions, 'generatorCpuMax'>): string[] {
  const reasons: string[] = [];
  if (r.cut < r.subscribers) reasons.push(`the cut reached ${r.cut} of ${r.subscribers} subscribers`);
  if (r.back < r.cut) reasons.push(`${r.cut - r.back} subscribers not back by the deadline`);
  if (r.lost) {
    reasons.push(
      r.recoveredAnswers === 0 && r.refusedAnswers === 0
        ? `no recovery: ${r.lost} deliveries lost on ${r.subscribersWithLoss} subscribers`
        : `${r.lost} deliveries lost on ${r.subscribersWithLoss} subscribers`,
    );
  }
  if (r.refusedAnswers) reasons.push(`${r.refusedAnswers} rejoins answered not recovered`);
  if (r.duplicates) reasons.push(`${r.duplicates} duplicates on ${r.subscribersWithDuplicates} subscribers`);
  if (r.reordered) reasons.push(`${r.reordered} out of order on ${r.subscribersReordered} subscribers`);
  if (r.sample.problems.length) reasons.push(`official clients: ${r.sample.problems.join('; ')}`);
  if (r.generatorSaturated) {
    reasons.push(
      `generator CPU ${Math.max(...r.generatorCpu, r.generatorLoad).toFixed(0)}% > ${o.generatorCpuMax}%: not counted`,
    );
  }
  return reasons;
}

/** The shards' reports as one. */
export function sumShards(shards: StormShardReport[]): StormShardReport {
  const sum = (f: (r: StormShardReport) => number) => shards.reduce((a, r) => a + f(r), 0);
  return {
    subscribers: sum((r) => r.subscribers),
    cut: sum((r) => r.cut),
    back: sum((r) => r.back),
    recoveredAnswers: sum((r) => r.recoveredAnswers),
    refusedAnswers: sum((r) => r.refusedAnswers),
    clean: sum((r) => r.clean),
    backAtUs: shards.flatMap((r) => r.backAtUs),
    caughtUpAtUs: shards.flatMap((r) => r.caughtUpAtUs),
    errors: shards.flatMap((r) => r.errors).slice(0, 5),
  };
}

/** The most events in one `binUs` bin, scaled to per second (0 for none). */
export function peakPerSecond(timesUs: number[], binUs: number): number {
  const bins = new Map<number, number>();
  for (const t of timesUs) {
    const b = Math.floor(t / binUs);
    bins.set(b, (bins.get(b) ?? 0) + 1);
  }
  return Math.max(0, ...bins.values()) * (1e6 / binUs);
}

/** One log line per storm. */
export function describeStorm(r: StormResult): string {
  const ms = (v: number | null) => (v === null ? '-' : `${v.toFixed(0)} ms`);
  return (
    `  ${r.generatorSaturated ? 'FLAG' : r.pass ? 'pass' : 'FAIL'} ${r.back}/${r.cut} back in ${ms(r.allBackMs)}, ` +
    `${r.recovered} recovered (all in ${ms(r.allRecoveredMs)}), peak ${r.peakRejoinsPerSec.toFixed(0)} rejoins/s, ` +
    `lost/dup/reordered ${r.lost}/${r.duplicates}/${r.reordered}, server ${r.serverCpuSeconds.toFixed(2)} CPU-s ` +
    `(${r.serverCpu.map((c) => c.toFixed(0)).join('+')}%), generator ${r.generatorCpu.map((c) => c.toFixed(0)).join('/')}%` +
    (r.pass ? '' : ` (${r.reason})`)
  );
}
