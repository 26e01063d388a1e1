/**
 * One topic, N subscribers: find the highest publish rate whose p99 publish-to-receive latency
 * stays under the bound while every message reaches every subscriber.
 *
 * Search: start at `startDeliveries` deliveries/s, double while steps pass, then bisect
 * (geometric mean) between the best pass and the lowest failure until they are within
 * `precision` of each other or `maxSteps` ran. Each step publishes for `stepMs`, then waits for
 * the stragglers (bounded), so a step never leaks messages into the next one.
 */
import * as hdr from 'hdr-histogram-js';
import type { Counts, PublishResult, RecordReport } from '../loadgen/messages.js';
import type { GeneratorProcess } from './generator-client.js';
import type { BenchOptions } from './options.js';
import { CpuMeter, ForeignCpuMeter } from './procfs.js';

export interface StepResult {
  /** Publish rate asked for, messages/s. */
  rate: number;
  /** Publish rate achieved by the publisher, messages/s. */
  achievedRate: number;
  sent: number;
  subscribers: number;
  expected: number;
  received: number;
  /** Messages received per second across all subscribers over the publishing window. */
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  /** Server CPU per node over the publishing window, % of one core. */
  serverCpu: number[];
  /** Load-generator CPU, % of one core (near 100 means the harness, not the server, was the limit). */
  generatorCpu: number;
  /** CPU used by processes outside the benchmark during the step, % of one core. */
  foreignCpu: number;
  pass: boolean;
  reason: string;
  /** A failure during which other work took more than `noisyForeignCpu`: the step was run again. */
  noisy?: boolean;
}

/** The benchmark's search settings, with the p99 bound and start rate of one subscriber count. */
export type SearchOptions = Pick<
  BenchOptions,
  | 'stepMs'
  | 'maxSteps'
  | 'precision'
  | 'startDeliveries'
  | 'bodyBytes'
  | 'samplesPerSecond'
  | 'noisyForeignCpu'
> & { boundMs: number };

export interface SearchContext {
  /** Generators holding subscribers; `publisher` is one of them. */
  generators: GeneratorProcess[];
  publisher: GeneratorProcess;
  /** Subscribers that should be connected. */
  subscribers: number;
  /** Server process ids, subscriber node first. */
  serverPids: number[];
  /** Other processes of the benchmark (load generators, Redis): not counted as foreign load. */
  helperPids: number[];
  log(line: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sumCodes(maps: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}

async function allCounts(gens: GeneratorProcess[]): Promise<Counts> {
  const all = await Promise.all(gens.map((g) => g.call<Counts>({ cmd: 'counts' })));
  return {
    received: all.reduce((s, c) => s + c.received, 0),
    other: all.reduce((s, c) => s + c.other, 0),
    ready: all.reduce((s, c) => s + c.ready, 0),
    closedCodes: sumCodes(all.map((c) => c.closedCodes)),
    closedTotal: sumCodes(all.map((c) => c.closedTotal)),
  };
}

/** Reopens subscribers the server closed since they connected, so every step runs with all of them. */
async function ensureSubscribers(ctx: SearchContext): Promise<Counts> {
  let c = await allCounts(ctx.generators);
  if (c.ready < ctx.subscribers) {
    ctx.log(
      `  reopening ${ctx.subscribers - c.ready} subscribers the server closed (close codes so far ${JSON.stringify(c.closedTotal)})`,
    );
    await Promise.all(ctx.generators.map((g) => g.call({ cmd: 'top-up' }, 300_000)));
    c = await allCounts(ctx.generators);
  }
  return c;
}

/** Runs one step at `rate` messages/s. */
export async function runStep(ctx: SearchContext, o: SearchOptions, rate: number): Promise<StepResult> {
  const before = await ensureSubscribers(ctx);
  const subscribers = before.ready;
  const sampleProbability = Math.min(1, o.samplesPerSecond / Math.max(1, rate * subscribers));
  await Promise.all(ctx.generators.map((g) => g.call({ cmd: 'record', sampleProbability })));
  const meters = ctx.serverPids.map((pid) => new CpuMeter(pid));
  const foreign = new ForeignCpuMeter([...ctx.serverPids, ...ctx.helperPids]);
  const pub = await ctx.publisher.call<PublishResult>({
    cmd: 'publish',
    rate,
    durationMs: o.stepMs,
    bodyBytes: o.bodyBytes,
  });
  const serverCpu = meters.map((m) => m.percent());
  if (pub.reopenedAfter !== undefined) {
    ctx.log(
      `  the server had closed the publisher (code ${pub.reopenedAfter}); reopened it before this step`,
    );
  }
  const foreignCpu = foreign.percent();
  const windowS = (pub.endUs - pub.startUs) / 1e6 + 1 / rate;
  const expected = pub.sent * subscribers;
  const drainDeadline = Date.now() + Math.max(1000, 4 * o.boundMs);
  let counts = await allCounts(ctx.generators);
  while (counts.received < expected && Date.now() < drainDeadline) {
    await sleep(50);
    counts = await allCounts(ctx.generators);
  }
  const reports = await Promise.all(ctx.generators.map((g) => g.call<RecordReport>({ cmd: 'report' })));
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000 });
  for (const r of reports) hist.add(hdr.decodeFromCompressedBase64(r.histogram));
  const closed = Object.values(counts.closedCodes).reduce((s, n) => s + n, 0);
  const achievedRate = pub.sent / windowS;
  const p99Ms = hist.getValueAtPercentile(99) / 1000;

  const reasons: string[] = [];
  if (subscribers < ctx.subscribers) {
    reasons.push(
      `only ${subscribers} of ${ctx.subscribers} subscribers connected (could not reopen the rest)`,
    );
  }
  if (counts.received < expected * 0.999) {
    reasons.push(`${expected - counts.received} of ${expected} deliveries missing after drain`);
  }
  if (hist.totalCount === 0) reasons.push(`no latency samples (non-delivery frames: ${counts.other})`);
  else if (p99Ms > o.boundMs) reasons.push(`p99 ${p99Ms.toFixed(1)} ms > ${o.boundMs} ms`);
  if (closed > 0)
    reasons.push(`${closed} subscribers closed by the server (codes ${JSON.stringify(counts.closedCodes)})`);
  if (achievedRate < rate * 0.9) reasons.push(`publisher reached only ${achievedRate.toFixed(0)} msg/s`);

  const result: StepResult = {
    rate,
    achievedRate,
    sent: pub.sent,
    subscribers,
    expected,
    received: counts.received,
    deliveriesPerSec: Math.min(counts.received, expected) / windowS,
    p50Ms: hist.getValueAtPercentile(50) / 1000,
    p99Ms,
    maxMs: hist.maxValue / 1000,
    samples: hist.totalCount,
    serverCpu,
    generatorCpu: Math.max(...reports.map((r) => r.cpuPercent)),
    foreignCpu,
    pass: reasons.length === 0,
    reason: reasons.join('; '),
  };
  if (!result.pass) await recover(ctx);
  return result;
}

/** After an overload: wait until the backlog has drained (bounded), so it does not spill into the next step. */
async function recover(ctx: SearchContext): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = -1;
  for (;;) {
    const c = await allCounts(ctx.generators);
    if (c.received === last || Date.now() > deadline) break;
    last = c.received;
    await sleep(500);
  }
}

/** Finds the best passing step; returns every step run, in order. */
export async function searchRate(
  ctx: SearchContext,
  o: SearchOptions,
  subscribers: number,
): Promise<{ best: StepResult | null; steps: StepResult[] }> {
  const minRate = 1000 / o.stepMs; // at least one message per step
  let rate = Math.max(minRate, o.startDeliveries / subscribers);
  // Warm-up: JIT the server's hot path at the start rate; not reported.
  await runStep(ctx, { ...o, stepMs: Math.min(o.stepMs, 1000) }, rate);
  const steps: StepResult[] = [];
  let best: StepResult | null = null;
  let lowestFail: StepResult | null = null;
  let retries = 0;
  let repeating = false;
  while (steps.length - retries < o.maxSteps) {
    const r = await runStep(ctx, o, rate);
    steps.push(r);
    // Other work took CPU from the servers: such a failure says little about them. Once quieter,
    // the step runs again (once per step, at most maxSteps/2 times per search).
    r.noisy = !r.pass && r.foreignCpu > o.noisyForeignCpu && !repeating && retries < o.maxSteps / 2;
    logStep(ctx, r);
    repeating = r.noisy;
    if (r.noisy) {
      retries++;
      await waitForQuiet(ctx, o.noisyForeignCpu / 2);
      continue;
    }
    if (r.pass && (!best || r.deliveriesPerSec > best.deliveriesPerSec)) best = r;
    if (!r.pass && (!lowestFail || r.rate < lowestFail.rate)) lowestFail = r;
    if (best && lowestFail) {
      if (lowestFail.rate / best.rate <= o.precision) break;
      rate = Math.sqrt(best.rate * lowestFail.rate);
    } else if (best) rate = best.rate * 2;
    else {
      rate = rate / 2;
      if (rate < minRate) break;
    }
  }
  return { best, steps };
}

function logStep(ctx: SearchContext, r: StepResult): void {
  ctx.log(
    `  ${r.pass ? 'pass' : 'FAIL'} ${fmt(r.rate)} msg/s -> ${fmt(r.deliveriesPerSec)} deliveries/s, ` +
      `p50 ${r.p50Ms.toFixed(1)} ms p99 ${r.p99Ms.toFixed(1)} ms, server CPU ${r.serverCpu.map((c) => c.toFixed(0)).join('/')}%, ` +
      `generator CPU ${r.generatorCpu.toFixed(0)}%, other processes ${r.foreignCpu.toFixed(0)}%` +
      (r.pass ? '' : ` (${r.reason})`) +
      (r.noisy ? ' [busy machine: will repeat]' : ''),
  );
}

/** Waits (at most 30 s) until processes outside the benchmark use less than `maxForeign` % of a core. */
async function waitForQuiet(ctx: SearchContext, maxForeign: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const m = new ForeignCpuMeter([...ctx.serverPids, ...ctx.helperPids]);
    await sleep(1000);
    if (m.percent() < maxForeign) return;
  }
}

/** 1234567 -> "1.23M", 12345 -> "12.3k". */
export function fmt(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (n >= 100) return n.toFixed(0);
  return n.toFixed(1);
}
