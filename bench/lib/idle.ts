/**
 * Idle connections: server RSS per connection. Each connection is open and joined to its own topic
 * (like a per-user topic; one shared topic would measure Phoenix-style presence, whose join traffic
 * grows with the square of the members), then sits idle (only protocol keep-alives). RSS is read after a forced full GC,
 * before any connection (baseline) and at each connection count; per connection = (RSS - baseline) / N.
 */
import type { ConnectResult, Counts } from '../loadgen/messages.js';
import { GeneratorProcess } from './generator-client.js';
import { treeRssBytes } from './procfs.js';
import type { Target } from './targets.js';

export interface IdlePoint {
  connections: number;
  rssBytes: number;
  perConnectionBytes: number;
  /** RSS growth per connection since the previous count (cancels fixed costs such as a grown young generation). */
  marginalBytes?: number;
  failed: number;
  /** The same in the units the report prints, so it prints only what is stored. */
  rssGrowthMiB: number;
  perConnectionKiB: number;
  marginalKiB?: number;
}
export interface IdleResult {
  baselineRssBytes: number;
  baselineRssMiB: number;
  points: IdlePoint[];
  errors: string[];
}

export interface IdleOptions {
  counts: number[];
  /** Generator processes to spread connections over (each has its own open-files limit). */
  generators: number;
  /** Loopback source addresses to spread connections over (0: let the kernel choose). */
  sourceAddresses: number;
  settleMs: number;
  /** Opening connections stops after this long (the rest count as failed). */
  connectDeadlineMs: number;
  cpuProfileDir?: string;
  /** taskset CPU list for the generator processes. */
  cpus?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS after a full GC; the minimum of a few reads, so a transient allocation does not count. */
async function settledRss(target: Target): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < 3; i++) {
    target.gc(0);
    await sleep(400);
    min = Math.min(min, treeRssBytes(target.nodes[0]!.pid));
  }
  return min;
}

export async function measureIdle(
  target: Target,
  o: IdleOptions,
  log: (l: string) => void,
): Promise<IdleResult> {
  const gens = Array.from({ length: o.generators }, () =>
    GeneratorProcess.start({ cpus: o.cpus, cpuProfileDir: o.cpuProfileDir }),
  );
  const localAddresses = Array.from({ length: o.sourceAddresses }, (_, i) => `127.0.0.${i + 2}`);
  try {
    await sleep(500);
    const baselineRssBytes = await settledRss(target);
    const points: IdlePoint[] = [];
    const errors: string[] = [];
    let open = 0;
    for (const count of [...o.counts].sort((a, b) => a - b)) {
      const add = count - open;
      const share = gens.map((_, i) => Math.floor(add / gens.length) + (i < add % gens.length ? 1 : 0));
      let first = open;
      const results = await Promise.all(
        gens.map((g, i) => {
          const firstIndex = first;
          first += share[i]!;
          return g.call<ConnectResult>(
            {
              cmd: 'subscribe',
              endpoint: target.idleEndpoint(0),
              topics: [target.idleEndpoint(0).topic],
              count: share[i]!,
              firstIndex,
              concurrency: 200,
              localAddresses,
              deadlineMs: o.connectDeadlineMs,
              topicPerConnection: true,
            },
            o.connectDeadlineMs + 60_000,
          );
        }),
      );
      open = count;
      for (const r of results) errors.push(...r.errors);
      await sleep(o.settleMs);
      const ready = (await Promise.all(gens.map((g) => g.call<Counts>({ cmd: 'counts' })))).reduce(
        (s, c) => s + c.ready,
        0,
      );
      const rss = await settledRss(target);
      const prev = points.at(-1);
      const point: IdlePoint = {
        connections: ready,
        rssBytes: rss,
        perConnectionBytes: ready > 0 ? (rss - baselineRssBytes) / ready : 0,
        marginalBytes:
          prev && ready > prev.connections ? (rss - prev.rssBytes) / (ready - prev.connections) : undefined,
        failed: count - ready,
        rssGrowthMiB: (rss - baselineRssBytes) / 2 ** 20,
        perConnectionKiB: 0,
      };
      point.perConnectionKiB = point.perConnectionBytes / 1024;
      if (point.marginalBytes !== undefined) point.marginalKiB = point.marginalBytes / 1024;
      points.push(point);
      log(
        `  ${ready}/${count} idle connections: RSS ${(rss / 2 ** 20).toFixed(1)} MiB, ` +
          `${(point.perConnectionBytes / 1024).toFixed(2)} KiB per connection` +
          (point.marginalBytes ? ` (${(point.marginalBytes / 1024).toFixed(2)} KiB marginal)` : '') +
          ` in ${Math.max(...results.map((r) => r.ms))} ms` +
          `${results.some((r) => r.failed) ? ` (failures: ${results.flatMap((r) => r.errors).join('; ')})` : ''}`,
      );
    }
    return {
      baselineRssBytes,
      baselineRssMiB: baselineRssBytes / 2 ** 20,
      points,
      errors: [...new Set(errors)],
    };
  } finally {
    await Promise.all(gens.map((g) => g.stop()));
  }
}
