// Helpers for the resource-bound tests: the server's RSS (from /proc, sampled while a flood runs),
// metric reads from /metrics, and a flood loop bounded in time and count.
import { readFileSync } from 'node:fs';
import type { Socket as NetSocket } from 'node:net';
import type { WebSocket } from 'ws';
import type { SwitchboardProcess } from '../../../testkit/src/index.js';
import { eventually } from './phoenix.js';

const MiB = 1024 * 1024;

/** Resident set size of a process in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** RSS before, the peak during, and after a flood, in MiB. */
export interface RssFigures {
  before: number;
  peak: number;
  after: number;
}

/** How long `measureRss` waits for the RSS to come back under its bound: a ceiling that only a leak or a hung node reaches, not a speed target. */
const SETTLE_CEILING_MS = 20_000;

/**
 * Samples the server's RSS every 25 ms while `drive` runs. Then waits for `released` (a condition,
 * e.g. the closed connections gone from the node) and reads `after` as soon as it is within
 * `afterOverMiB` of `before`, or at SETTLE_CEILING_MS (assertRss then fails).
 */
export async function measureRss(
  sb: SwitchboardProcess,
  drive: () => Promise<void>,
  released: () => Promise<void>,
  afterOverMiB: number,
): Promise<RssFigures> {
  const pid = sb.proc.child.pid!;
  const before = rssMiB(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 25);
  try {
    await drive();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, rssMiB(pid));
  await released();
  const deadline = Date.now() + SETTLE_CEILING_MS;
  let after = rssMiB(pid);
  while (after - before > afterOverMiB && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    after = rssMiB(pid);
  }
  return { before, peak, after };
}

/** The figures and bounds (MiB over `before`) as one line for the test log. */
export function rssLine(what: string, f: RssFigures, peakOver: number, afterOver: number): string {
  return `${what}: RSS ${f.before.toFixed(0)} -> peak ${f.peak.toFixed(0)} -> after ${f.after.toFixed(0)} MiB (bounds +${peakOver} / +${afterOver})`;
}

/** Asserts the stated bounds (MiB over `before`). */
export function assertRss(f: RssFigures, peakOver: number, afterOver: number): void {
  const line = rssLine('', f, peakOver, afterOver);
  if (f.peak - f.before > peakOver) throw new Error(`peak over its bound${line}`);
  if (f.after - f.before > afterOver) throw new Error(`after over its bound${line}`);
}

/** A metric value from /metrics (0 when absent); `series` is the exact series text. */
export async function metricValue(sb: SwitchboardProcess, series: string): Promise<number> {
  const text = await (await fetch(`${sb.metricsUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

/** Waits (bounded) until the node holds at most `n` connections: the ones closed were released. */
export async function connectionsAtMost(sb: SwitchboardProcess, n: number, ms = 30_000): Promise<void> {
  await eventually(
    `at most ${n} connections on the node`,
    async () => (await metricValue(sb, 'switchboard_connections')) <= n,
    ms,
  );
}

/** The raw TCP socket under a `ws` client, to stop reading (a client that never reads). */
export function underlyingSocket(ws: WebSocket): NetSocket {
  return (ws as unknown as { _socket: NetSocket })._socket;
}

/**
 * Calls `send` in batches of `perTick` every `tickMs` for `ms` milliseconds or until it returns
 * false or `maxCalls` calls were made. Returns the number of calls.
 */
export async function flood(
  opts: { ms: number; tickMs: number; perTick: number; maxCalls: number },
  send: (i: number) => boolean,
): Promise<number> {
  const end = Date.now() + opts.ms;
  let i = 0;
  while (Date.now() < end && i < opts.maxCalls) {
    for (let k = 0; k < opts.perTick && i < opts.maxCalls; k++, i++) if (!send(i)) return i;
    await new Promise((r) => setTimeout(r, opts.tickMs)); // pacing: one batch per tick is the offered rate
  }
  return i;
}

export { MiB };
