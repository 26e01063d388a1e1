/**
 * One measured step: every topic published at a fixed rate for `stepMs`, then the stragglers
 * awaited (bounded). The step passes only when every subscriber got every publication of its topic
 * exactly once and in order, the official clients agree, p99 latency from the intended send time
 * is within the bound, and nobody was disconnected. A step whose generator ran hotter than
 * `generatorCpuMax` is flagged: the harness, not the server, may have been the limit, so it is not
 * counted either way.
 */
import type { DeliveryAccount, SampleReport } from '../loadgen/messages.js';
import { cpuSeconds, CpuMeter, ForeignCpuMeter, processTree, treeCpuSeconds } from './procfs.js';
import { deliveryAccount, type GeneratorPool } from './pool.js';

export interface StepResult extends DeliveryAccount {
  /** Publications per second asked for on each topic. */
  ratePerTopic: number;
  topics: number;
  subscribers: number;
  /** Publications sent on each topic. */
  publishedPerTopic: number;
  /** Deliveries owed: every subscriber, every publication of its topic. */
  expected: number;
  /** Deliveries of this step that arrived (duplicates included). */
  received: number;
  /** Deliveries per second over the publishing window (distinct, in-step ones only). */
  deliveriesPerSec: number;
  /** The official clients' verdict. */
  sample: SampleReport;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  /** Most a publication left after its intended time, ms. */
  publisherMaxLagMs: number;
  /** Server CPU per node over the publishing window, % of one core. */
  serverCpu: number[];
  /** Server CPU time (all nodes, publishing window plus drain) per distinct delivery, µs. */
  serverCpuUsPerDelivery: number;
  /** Two-node variants: the shared redis-server's CPU, % of one core and µs per distinct delivery. */
  redisCpu?: number;
  redisCpuUsPerDelivery?: number;
  /** CPU of each generator process over the publishing window, % of one core (shards, publisher, sampler). */
  generatorCpu: number[];
  /** Total generator CPU as % of the generator cores. */
  generatorLoad: number;
  /** CPU used by processes outside the benchmark during the step, % of one core. */
  foreignCpu: number;
  /** The generator ran above the limit: the step says nothing about the server and is not counted. */
  generatorSaturated: boolean;
  pass: boolean;
  reason: string;
}

export interface StepOptions {
  stepMs: number;
  boundMs: number;
  bodyBytes: number;
  /** Latency samples wanted per second across all subscribers. */
  samplesPerSecond: number;
  /** % of one core above which a generator process (or the generator cores on average) is flagged. */
  generatorCpuMax: number;
}

export interface StepContext {
  pool: GeneratorPool;
  /** Subscribers that should be connected. */
  subscribers: number;
  topics: number;
  serverPids: number[];
  /** The redis-server the nodes share (two-node variants), measured on its own. */
  redisPid?: number;
  /** Other processes of the benchmark (not counted as foreign load). */
  helperPids: number[];
  generatorCores: number;
  log(line: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let nextStep = 1;
/** A step number no other step of this process has (publications carry it). */
export const takeStepNumber = (): number => nextStep++;

/** Runs one step at `ratePerTopic` publications/s on each topic. */
export async function runStep(ctx: StepContext, o: StepOptions, ratePerTopic: number): Promise<StepResult> {
  const step = takeStepNumber();
  let before = await ctx.pool.counts();
  if (before.ready < ctx.subscribers) {
    ctx.log(
      `  reopening ${ctx.subscribers - before.ready} subscribers the server closed (codes so far ${JSON.stringify(before.closedTotal)})`,
    );
    await ctx.pool.topUp();
    before = await ctx.pool.counts();
  }
  const subscribers = before.ready;
  const offered = ratePerTopic * (subscribers || 1);
  await ctx.pool.record(step, Math.min(1, o.samplesPerSecond / Math.max(1, offered)));

  // Server CPU counts each node's worker processes too (WORKERS=N), should it have any.
  const cpu0 = ctx.serverPids.map(treeCpuSeconds);
  const serverMeters = ctx.serverPids.map((pid) => new CpuMeter(pid, treeCpuSeconds));
  const redis0 = ctx.redisPid === undefined ? 0 : cpuSeconds(ctx.redisPid);
  const redisMeter = ctx.redisPid === undefined ? undefined : new CpuMeter(ctx.redisPid);
  const genMeters = ctx.pool.all.map((g) => new CpuMeter(g.pid));
  const foreign = new ForeignCpuMeter([
    ...ctx.serverPids.flatMap(processTree),
    ...ctx.helperPids,
    ...(ctx.redisPid === undefined ? [] : [ctx.redisPid]),
    ...ctx.pool.all.map((g) => g.pid),
  ]);
  const pub = await ctx.pool.publish({ step, ratePerTopic, durationMs: o.stepMs, bodyBytes: o.bodyBytes });
  const serverCpu = serverMeters.map((m) => m.percent());
  const redisCpu = redisMeter?.percent();
  const generatorCpu = genMeters.map((m) => m.percent());
  const foreignCpu = foreign.percent();
  if (pub.reopenedAfter !== undefined) {
    ctx.log(`  the server had closed a publisher (code ${pub.reopenedAfter}); reopened it before this step`);
  }

  const expected = pub.perTopic * subscribers;
  const drainDeadline = Date.now() + Math.max(1000, 4 * o.boundMs);
  let counts = await ctx.pool.counts();
  while (counts.received < expected && Date.now() < drainDeadline) {
    await sleep(50);
    counts = await ctx.pool.counts();
  }
  const cpuUsed = ctx.serverPids.reduce((s, pid, i) => s + treeCpuSeconds(pid) - cpu0[i]!, 0);
  const redisUsed = ctx.redisPid === undefined ? 0 : cpuSeconds(ctx.redisPid) - redis0;
  const r = await ctx.pool.report(pub.perTopic);
  const sample = await ctx.pool.sampleReport(pub.perTopic);
  const windowS = (pub.endUs - pub.startUs) / 1e6 + 1 / (ratePerTopic * pub.topics);
  const distinct = Math.max(0, expected - r.lost);
  const p99Ms = r.histogram.getValueAtPercentile(99) / 1000;
  const closed = Object.values(counts.closedCodes).reduce((s, n) => s + n, 0);
  const generatorLoad = generatorCpu.reduce((s, c) => s + c, 0) / ctx.generatorCores;
  const generatorSaturated =
    Math.max(...generatorCpu) > o.generatorCpuMax || generatorLoad > o.generatorCpuMax;

  const reasons: string[] = [];
  if (subscribers < ctx.subscribers) {
    reasons.push(
      `only ${subscribers} of ${ctx.subscribers} subscribers connected (could not reopen the rest)`,
    );
  }
  if (r.lost) {
    reasons.push(
      `${r.lost} deliveries missing on ${r.subscribersWithLoss} subscribers (lost, or later than the drain)`,
    );
  }
  if (r.duplicates) reasons.push(`${r.duplicates} duplicates on ${r.subscribersWithDuplicates} subscribers`);
  if (r.reordered) reasons.push(`${r.reordered} out of order on ${r.subscribersReordered} subscribers`);
  if (sample.problems.length) reasons.push(`official clients: ${sample.problems.join('; ')}`);
  if (r.samples === 0) reasons.push(`no latency samples (non-delivery frames: ${r.other})`);
  else if (p99Ms > o.boundMs) reasons.push(`p99 ${p99Ms.toFixed(1)} ms > ${o.boundMs} ms`);
  if (closed > 0)
    reasons.push(`${closed} subscribers closed by the server (codes ${JSON.stringify(counts.closedCodes)})`);
  if (generatorSaturated) {
    reasons.push(
      `generator CPU ${Math.max(...generatorCpu, generatorLoad).toFixed(0)}% > ${o.generatorCpuMax}%: not counted`,
    );
  }

  const result: StepResult = {
    ratePerTopic,
    topics: pub.topics,
    subscribers,
    publishedPerTopic: pub.perTopic,
    expected,
    received: r.received,
    deliveriesPerSec: distinct / windowS,
    ...deliveryAccount(r),
    sample,
    p50Ms: r.histogram.getValueAtPercentile(50) / 1000,
    p99Ms,
    maxMs: r.histogram.maxValue / 1000,
    samples: r.samples,
    publisherMaxLagMs: pub.maxLagMs,
    serverCpu,
    serverCpuUsPerDelivery: distinct > 0 ? (cpuUsed * 1e6) / distinct : 0,
    ...(redisCpu === undefined
      ? {}
      : { redisCpu, redisCpuUsPerDelivery: distinct > 0 ? (redisUsed * 1e6) / distinct : 0 }),
    generatorCpu,
    generatorLoad,
    foreignCpu,
    generatorSaturated,
    pass: reasons.length === 0,
    reason: reasons.join('; '),
  };
  if (!result.pass) await recover(ctx);
  return result;
}

/** After an overload: wait until the backlog has drained (bounded), so it does not spill into the next step. */
async function recover(ctx: StepContext): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = -1;
  for (;;) {
    const c = await ctx.pool.counts();
    if (c.received === last || Date.now() > deadline) break;
    last = c.received;
    await sleep(500);
  }
}

/** One log line per step. */
export function describeStep(r: StepResult): string {
  return (
    `  ${r.generatorSaturated ? 'FLAG' : r.pass ? 'pass' : 'FAIL'} ${fmt(r.ratePerTopic)} msg/s x ${r.topics} topics -> ` +
    `${fmt(r.deliveriesPerSec)} deliveries/s, p50 ${r.p50Ms.toFixed(1)} ms p99 ${r.p99Ms.toFixed(1)} ms, ` +
    `server ${r.serverCpuUsPerDelivery.toFixed(2)} CPU-µs/delivery (${r.serverCpu.map((c) => c.toFixed(0)).join('+')}%), ` +
    `generator ${r.generatorCpu.map((c) => c.toFixed(0)).join('/')}%, other processes ${r.foreignCpu.toFixed(0)}%` +
    (r.pass ? '' : ` (${r.reason})`)
  );
}

/** 1234567 -> "1.23M", 12345 -> "12.3k". */
export function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (n >= 100) return n.toFixed(0);
  return n.toFixed(1);
}
