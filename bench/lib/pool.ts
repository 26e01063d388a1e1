/**
 * The load generator of one workload: subscriber shards, one publisher process and one sampler
 * process (official clients), all pinned to the generator CPUs. Subscribers are spread over the
 * shards in contiguous index blocks, so no single process carries the whole receive load.
 */
import * as hdr from 'hdr-histogram-js';
import type {
  ConnectResult,
  DeliveryAccount,
  Counts,
  PublishCommand,
  PublishResult,
  RecordReport,
  SampleReport,
  StormCounts,
  StormShardReport,
} from '../loadgen/messages.js';
import type { Endpoint } from '../loadgen/protocols.js';
import { GeneratorProcess } from './generator-client.js';

/** What the subscriber shards saw in a step, summed; the histogram is merged. */
export interface PoolReport extends Omit<RecordReport, 'histogram'> {
  histogram: hdr.Histogram;
}

export interface SubscribeOptions {
  concurrency: number;
  localAddresses: string[];
  deadlineMs: number;
  topicPerConnection?: boolean;
  /** Subscriber i connects to nodes[i % nodes.length] (two-node variants). */
  nodes?: { host: string; port: number }[];
}

function sumCodes(maps: Record<string, number>[]): Record<string, number> {
  const out = new Map<string, number>();
  for (const m of maps) for (const [k, v] of Object.entries(m)) out.set(k, (out.get(k) ?? 0) + v);
  return Object.fromEntries(out);
}

/** The per-subscriber delivery account of a report (what steps and storms pass or fail on). */
export function deliveryAccount(r: PoolReport): DeliveryAccount {
  return {
    lost: r.lost,
    duplicates: r.duplicates,
    reordered: r.reordered,
    subscribersWithLoss: r.subscribersWithLoss,
    subscribersWithDuplicates: r.subscribersWithDuplicates,
    subscribersReordered: r.subscribersReordered,
    stale: r.stale,
    problems: r.problems,
  };
}

export class GeneratorPool {
  private constructor(
    readonly shards: GeneratorProcess[],
    readonly publisher: GeneratorProcess,
    readonly sampler: GeneratorProcess,
  ) {}

  /** Forks `shards` subscriber processes plus the publisher and the sampler, pinned to `cpus`. */
  static start(opts: { shards: number; cpus?: string; cpuProfileDir?: string }): GeneratorPool {
    const start = () => GeneratorProcess.start({ cpus: opts.cpus, cpuProfileDir: opts.cpuProfileDir });
    const shards = Array.from({ length: Math.max(1, opts.shards) }, start);
    return new GeneratorPool(shards, start(), start());
  }

  /** Every process of the pool (for CPU accounting). */
  get all(): GeneratorProcess[] {
    return [...this.shards, this.publisher, this.sampler];
  }

  /** Opens `count` subscribers, subscriber i on topics[i % topics.length], spread over the shards. */
  async subscribe(
    endpoint: Endpoint,
    topics: string[],
    count: number,
    o: SubscribeOptions,
  ): Promise<ConnectResult> {
    const n = this.shards.length;
    let first = 0;
    const results = await Promise.all(
      this.shards.map((g, i) => {
        const share = Math.floor(count / n) + (i < count % n ? 1 : 0);
        const firstIndex = first;
        first += share;
        return g.call<ConnectResult>(
          { cmd: 'subscribe', endpoint, topics, count: share, firstIndex, ...o },
          o.deadlineMs + 60_000,
        );
      }),
    );
    return {
      connected: results.reduce((s, r) => s + r.connected, 0),
      failed: results.reduce((s, r) => s + r.failed, 0),
      errors: results.flatMap((r) => r.errors).slice(0, 5),
      ms: Math.max(...results.map((r) => r.ms)),
    };
  }

  async publishers(endpoint: Endpoint, topics: string[]): Promise<void> {
    await this.publisher.call({ cmd: 'publishers', endpoint, topics }, 120_000);
  }

  async samplers(endpoint: Endpoint, topics: string[], count: number): Promise<void> {
    if (count > 0) await this.sampler.call({ cmd: 'samplers', endpoint, topics, count }, 120_000);
  }

  async record(step: number, sampleProbability: number): Promise<void> {
    await Promise.all(
      [...this.shards, this.sampler].map((g) => g.call({ cmd: 'record', step, sampleProbability })),
    );
  }

  publish(c: Omit<PublishCommand, 'cmd'>): Promise<PublishResult> {
    return this.publisher.call<PublishResult>({ cmd: 'publish', ...c }, c.durationMs + 120_000);
  }

  async counts(): Promise<Counts> {
    const all = await Promise.all(this.shards.map((g) => g.call<Counts>({ cmd: 'counts' })));
    return {
      received: all.reduce((s, c) => s + c.received, 0),
      other: all.reduce((s, c) => s + c.other, 0),
      ready: all.reduce((s, c) => s + c.ready, 0),
      closedCodes: sumCodes(all.map((c) => c.closedCodes)),
      closedTotal: sumCodes(all.map((c) => c.closedTotal)),
    };
  }

  async report(published: number): Promise<PoolReport> {
    const all = await Promise.all(this.shards.map((g) => g.call<RecordReport>({ cmd: 'report', published })));
    const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000 });
    for (const r of all) histogram.add(hdr.decodeFromCompressedBase64(r.histogram));
    const sum = (f: (r: RecordReport) => number) => all.reduce((s, r) => s + f(r), 0);
    return {
      received: sum((r) => r.received),
      other: sum((r) => r.other),
      ready: sum((r) => r.ready),
      closedCodes: sumCodes(all.map((r) => r.closedCodes)),
      closedTotal: sumCodes(all.map((r) => r.closedTotal)),
      subscribers: sum((r) => r.subscribers),
      lost: sum((r) => r.lost),
      duplicates: sum((r) => r.duplicates),
      reordered: sum((r) => r.reordered),
      subscribersWithLoss: sum((r) => r.subscribersWithLoss),
      subscribersWithDuplicates: sum((r) => r.subscribersWithDuplicates),
      subscribersReordered: sum((r) => r.subscribersReordered),
      stale: sum((r) => r.stale),
      unstamped: sum((r) => r.unstamped),
      problems: all.flatMap((r) => r.problems).slice(0, 5),
      histogram,
      samples: histogram.totalCount,
    };
  }

  sampleReport(published: number): Promise<SampleReport> {
    return this.sampler.call<SampleReport>({ cmd: 'sample-report', published });
  }

  async topUp(): Promise<void> {
    await Promise.all(this.shards.map((g) => g.call({ cmd: 'top-up' }, 300_000)));
  }

  /** Workload D: subscribers the server closes reconnect at once, until `deadlineMs` from now. */
  async stormArm(deadlineMs: number): Promise<void> {
    await Promise.all(this.shards.map((g) => g.call({ cmd: 'storm-arm', deadlineMs })));
  }

  async stormCounts(): Promise<StormCounts> {
    const all = await Promise.all(this.shards.map((g) => g.call<StormCounts>({ cmd: 'storm-counts' })));
    return { cut: all.reduce((s, c) => s + c.cut, 0), back: all.reduce((s, c) => s + c.back, 0) };
  }

  stormReports(published: number): Promise<StormShardReport[]> {
    return Promise.all(this.shards.map((g) => g.call<StormShardReport>({ cmd: 'storm-report', published })));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((g) => g.stop()));
  }
}
