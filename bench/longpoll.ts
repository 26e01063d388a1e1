#!/usr/bin/env -S node --import tsx
/**
 * `npm run bench:longpoll`: LongPoll beside the WebSocket on the same server, client and cores:
 * sessions opened per second, and server memory per idle session.
 *
 * Steps:
 *   1. pin this process (the load generator) to the generator CPUs;
 *   2. `--runs` times, both transports in seeded random order, each on a fresh server pinned to the
 *      server CPUs (started with --expose-gc and the SIGUSR2 GC hook):
 *      a. open sessions for `--seconds` with `--window` opens in flight (WebSocket: upgrade, then close;
 *         LongPoll: the open request; the session then expires unpolled);
 *      b. on a fresh server: RSS after a full GC, then `--idle` idle sessions (WebSocket: open;
 *         LongPoll: one poll always waiting, as the official client keeps), RSS after a full GC again;
 *   3. print the table (median and range over the runs) and write the raw results (`--json`).
 *
 * Usage: node --import tsx bench/longpoll.ts [--runs 3] [--seconds 10] [--window 50] [--idle 2000]
 *        [--json docs/longpoll-bench.json] [--seed 1]
 */
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { signToken, startSwitchboard, type SwitchboardProcess } from '../testkit/src/index.js';
import { openSession, keepPolling, type Transport } from './longpoll/clients.js';
import { parseIntFlags } from './lib/int-flags.js';
import { formatSpread, orderSeed, shuffled, spread } from './lib/order.js';
import { pin } from './lib/cpus.js';
import { runSideBench } from './lib/side-bench.js';
import { rssBytes, treeCpuSeconds } from './lib/procfs.js';

interface Options {
  runs: number;
  seconds: number;
  window: number;
  idle: number;
  json?: string;
  seed: number;
}

interface RunResult {
  run: number;
  transport: Transport;
  opened: number;
  failed: number;
  sessionsPerSecond: number;
  serverCpuUsPerSession: number;
  idleSessions: number;
  idleFailed: number;
  baselineRssBytes: number;
  idleRssBytes: number;
  bytesPerIdleSession: number;
}

const usage = () =>
  'usage: node --import tsx bench/longpoll.ts [--runs 3] [--seconds 10] [--window 50] [--idle 2000] [--json FILE] [--seed 1]';

function parseArgs(argv: string[]): Options | 'help' {
  return parseIntFlags(argv, { runs: 3, seconds: 10, window: 50, idle: 2000, seed: 1 });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gcHook = new URL('./lib/gc-on-signal.ts', import.meta.url).pathname;

async function server(cpus: string): Promise<{ sb: SwitchboardProcess; pid: number }> {
  const sb = await startSwitchboard({
    LOG_LEVEL: 'warn',
    // NODE_OPTIONS runs before the command line's --import tsx, so it loads tsx for the hook itself.
    NODE_OPTIONS: `--expose-gc --import tsx --import ${gcHook}`,
    // One user, one address: the per-user and per-address caps are not what is measured.
    MAX_CONNECTIONS_PER_USER: '10000000',
    MAX_CONNECTIONS_PER_ADDRESS: '10000000',
  });
  const pid = sb.proc.child.pid!;
  pin(pid, cpus);
  return { sb, pid };
}

/** RSS after a full GC: the least of three reads, so a passing allocation does not count. */
async function settledRss(pid: number): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < 3; i++) {
    process.kill(pid, 'SIGUSR2');
    await sleep(400);
    min = Math.min(min, rssBytes(pid));
  }
  return min;
}

async function opens(transport: Transport, o: Options, cpus: string, jwt: string) {
  const { sb, pid } = await server(cpus);
  const agent = new Agent({ keepAlive: true, maxSockets: o.window });
  try {
    let opened = 0;
    let failed = 0;
    const loop = async (deadline: number, count: boolean) => {
      while (performance.now() < deadline) {
        try {
          (await openSession(transport, sb.httpUrl, jwt, agent)).close();
          if (count) opened++;
        } catch {
          if (count) failed++;
        }
      }
    };
    const warm = performance.now() + 1000;
    await Promise.all(Array.from({ length: o.window }, () => loop(warm, false)));
    const cpu0 = treeCpuSeconds(pid);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.window }, () => loop(t0 + o.seconds * 1000, true)));
    const wall = (performance.now() - t0) / 1000;
    return {
      opened,
      failed,
      sessionsPerSecond: opened / wall,
      serverCpuUsPerSession: ((treeCpuSeconds(pid) - cpu0) * 1e6) / Math.max(1, opened),
    };
  } finally {
    agent.destroy();
    await sb.stop('SIGKILL');
  }
}

async function idle(transport: Transport, o: Options, cpus: string, jwt: string) {
  const { sb, pid } = await server(cpus);
  const agent = new Agent({ keepAlive: true, maxSockets: o.idle + 16 });
  let stopped = false;
  const closers: (() => void)[] = [];
  const polls: Promise<void>[] = [];
  try {
    await sleep(1000);
    const baselineRssBytes = await settledRss(pid);
    let idleFailed = 0;
    for (let i = 0; i < o.idle; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, o.idle - i) }, async () => {
          try {
            const s = await openSession(transport, sb.httpUrl, jwt, agent);
            closers.push(s.close);
            if (s.session) polls.push(keepPolling(sb.httpUrl, jwt, s.session, agent, () => stopped));
          } catch {
            idleFailed++;
          }
        }),
      );
    }
    await sleep(2000);
    const idleRssBytes = await settledRss(pid);
    const idleSessions = o.idle - idleFailed;
    return {
      idleSessions,
      idleFailed,
      baselineRssBytes,
      idleRssBytes,
      bytesPerIdleSession: (idleRssBytes - baselineRssBytes) / Math.max(1, idleSessions),
    };
  } finally {
    stopped = true;
    for (const close of closers) close();
    await sb.stop('SIGKILL');
    agent.destroy();
    await Promise.allSettled(polls);
  }
}

runSideBench(parseArgs, usage, async (o, { plan, pressure, pressureNote }) => {
  const jwt = await signToken({ sub: 'bench', join: ['room:*'] });
  const results: RunResult[] = [];
  for (let run = 1; run <= o.runs; run++) {
    for (const transport of shuffled<Transport>(['websocket', 'longpoll'], orderSeed(o.seed, run, 0))) {
      const r: RunResult = {
        run,
        transport,
        ...(await opens(transport, o, plan.server, jwt)),
        ...(await idle(transport, o, plan.server, jwt)),
      };
      console.error(
        `run ${run} ${transport}: ${r.sessionsPerSecond.toFixed(0)} sessions/s (${r.failed} failed), ${(r.bytesPerIdleSession / 1024).toFixed(2)} KiB per idle session (${r.idleFailed} failed)`,
      );
      results.push(r);
    }
  }
  const lines = [
    '| transport | sessions opened/s | server CPU-µs per open | KiB per idle session | failed |',
    '| --------- | ----------------: | ---------------------: | -------------------: | -----: |',
  ];
  for (const t of ['websocket', 'longpoll'] as Transport[]) {
    const rs = results.filter((r) => r.transport === t);
    const s = (f: (r: RunResult) => number) => spread(rs.map(f));
    lines.push(
      `| ${t} | ${formatSpread(
        s((r) => r.sessionsPerSecond),
        0,
      )} | ${formatSpread(
        s((r) => r.serverCpuUsPerSession),
        0,
      )} | ${formatSpread(
        s((r) => r.bytesPerIdleSession / 1024),
        2,
      )} | ${rs.reduce((a, r) => a + r.failed + r.idleFailed, 0)} |`,
    );
  }
  console.log(lines.join('\n'));
  console.log(
    `${o.runs} runs; opens: ${o.window} in flight for ${o.seconds} s; idle: ${o.idle} sessions; server on CPU ${plan.server}, generator on CPU ${plan.generator}; ${pressureNote()}`,
  );
  if (o.json) {
    writeFileSync(
      o.json,
      `${JSON.stringify({ options: o, cpus: plan, cpuPressure: pressure(), results }, null, 2)}\n`,
    );
    console.error(`wrote ${o.json}`);
  }
  return results.some((r) => r.failed + r.idleFailed > 0) ? 1 : 0;
});
