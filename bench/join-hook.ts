#!/usr/bin/env -S node --import tsx
/**
 * `npm run bench:join-hook`: joins per second with and without a join hook (docs/hooks.md), the
 * same server, client and cores for both.
 *
 * Steps:
 *   1. pin this process (the load generator) and the hook backend to the generator CPUs;
 *   2. start the backend (verifies each signature, allows every join);
 *   3. `--runs` times, the two variants in seeded random order: start a server (pinned to the server
 *      CPUs; the `hook` variant with HOOKS_TOPICS=game:* HOOKS_EVENTS=join), open the connections,
 *      join and leave for `--seconds` with `--window` joins in flight per connection, stop it;
 *   4. print the table (median and range over the runs) and write the raw results (`--json`).
 *
 * Usage: node --import tsx bench/join-hook.ts [--runs 3] [--seconds 10] [--connections 50] [--window 4]
 *        [--json docs/join-hook.json] [--seed 1]
 */
import { writeFileSync } from 'node:fs';
import { $, type ProcessPromise } from 'zx';
import { signToken, startSwitchboard } from '../testkit/src/index.js';
import { parseIntFlags } from './lib/int-flags.js';
import { formatSpread, orderSeed, shuffled, spread } from './lib/order.js';
import { pin } from './lib/cpus.js';
import { runSideBench } from './lib/side-bench.js';
import { cpuSeconds, treeCpuSeconds } from './lib/procfs.js';
import { joinFor, openSockets } from './join-hook/joiner.js';

const SECRET = `bench-${Math.random().toString(36).slice(2)}-0123456789abcdefghij`;
type Variant = 'relay' | 'hook';

interface Options {
  runs: number;
  seconds: number;
  connections: number;
  window: number;
  json?: string;
  seed: number;
}

interface RunResult {
  run: number;
  variant: Variant;
  joins: number;
  failed: number;
  failures: Record<string, number>;
  unexpected: number;
  joinsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerJoin: number;
  generatorCpuPercent: number;
}

function usage(): string {
  return 'usage: node --import tsx bench/join-hook.ts [--runs 3] [--seconds 10] [--connections 50] [--window 4] [--json FILE] [--seed 1]';
}

function parseArgs(argv: string[]): Options | 'help' {
  return parseIntFlags(argv, { runs: 3, seconds: 10, connections: 50, window: 4, seed: 1 });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

async function startBackend(cpus: string): Promise<{ url: string; proc: ProcessPromise }> {
  const proc = $({
    env: { ...process.env, HOOKS_SECRET: SECRET },
    nothrow: true,
  })`taskset -c ${cpus} ${process.execPath} --import tsx ${new URL('./join-hook/backend.ts', import.meta.url).pathname}`;
  for await (const line of proc.stdout) {
    const m = /listening (\d+)/.exec(String(line));
    if (m) return { url: `http://127.0.0.1:${m[1]}/hooks`, proc };
  }
  throw new Error(`the join-hook backend exited before listening: ${(await proc).stderr}`);
}

async function measure(
  variant: Variant,
  run: number,
  opts: Options,
  serverCpus: string,
  hookUrl: string,
): Promise<RunResult> {
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    // The bench measures joins, not the per-connection limits (leaves are frames too).
    MAX_TOPICS_PER_CONNECTION: String(opts.window * 4),
    RATE_LIMIT_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
  };
  if (variant === 'hook')
    Object.assign(env, {
      HOOKS_URL: hookUrl,
      HOOKS_SECRET: SECRET,
      HOOKS_TOPICS: 'game:*',
      HOOKS_EVENTS: 'join',
      // Room for every join in flight: the figure is the hook's cost, not `backend busy` refusals.
      HOOKS_CONCURRENCY: String(opts.connections * opts.window * 2),
    });
  const sb = await startSwitchboard(env);
  try {
    const pid = sb.proc.child.pid!;
    pin(pid, serverCpus);
    const token = await signToken({ sub: 'bench', join: ['game:*'] });
    const sockets = await openSockets(sb.socketUrl, token, opts.connections);
    await joinFor(sockets, opts.window, 1000); // warm-up: JIT, connection pools
    const cpu0 = treeCpuSeconds(pid);
    const gen0 = cpuSeconds(process.pid);
    const t0 = performance.now();
    const counts = await joinFor(sockets, opts.window, opts.seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const serverCpu = treeCpuSeconds(pid) - cpu0;
    const genCpu = cpuSeconds(process.pid) - gen0;
    for (const ws of sockets) ws.close();
    const lat = counts.latenciesMs.sort((a, b) => a - b);
    return {
      run,
      variant,
      joins: counts.ok,
      failed: counts.failed,
      failures: Object.fromEntries(counts.reasons),
      unexpected: counts.unexpected,
      joinsPerSecond: counts.ok / wall,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
      serverCpuUsPerJoin: (serverCpu * 1e6) / Math.max(1, counts.ok),
      generatorCpuPercent: (genCpu / wall) * 100,
    };
  } finally {
    await sb.stop('SIGKILL');
  }
}

runSideBench(parseArgs, usage, async (opts, { plan, pressure, pressureNote }) => {
  const backend = await startBackend(plan.generator);
  const results: RunResult[] = [];
  try {
    for (let run = 1; run <= opts.runs; run++) {
      for (const variant of shuffled<Variant>(['relay', 'hook'], orderSeed(opts.seed, run, 0))) {
        const r = await measure(variant, run, opts, plan.server, backend.url);
        console.error(
          `run ${run} ${variant}: ${r.joinsPerSecond.toFixed(0)} joins/s, p99 ${r.p99Ms.toFixed(1)} ms, ${r.failed} failed ${JSON.stringify(r.failures)}, generator ${r.generatorCpuPercent.toFixed(0)}% CPU`,
        );
        results.push(r);
      }
    }
  } finally {
    await backend.proc.kill();
  }
  const lines = [
    `| variant | joins/s | p50 ms | p99 ms | server CPU-µs per join | failed | generator CPU |`,
    `| ------- | ------: | -----: | -----: | ---------------------: | -----: | ------------: |`,
  ];
  for (const variant of ['relay', 'hook'] as Variant[]) {
    const rs = results.filter((r) => r.variant === variant);
    const s = (k: keyof RunResult) => spread(rs.map((r) => r[k] as number));
    lines.push(
      `| ${variant} | ${formatSpread(s('joinsPerSecond'), 0)} | ${formatSpread(s('p50Ms'), 2)} | ${formatSpread(s('p99Ms'), 2)} | ${formatSpread(s('serverCpuUsPerJoin'), 0)} | ${rs.reduce((a, r) => a + r.failed + r.unexpected, 0)} | ${formatSpread(s('generatorCpuPercent'), 0)}% |`,
    );
  }
  console.log(lines.join('\n'));
  console.log(
    `${opts.runs} runs, ${opts.connections} connections x ${opts.window} joins in flight, ${opts.seconds} s each; server on CPU ${plan.server}, generator and backend on CPU ${plan.generator}; ${pressureNote()}`,
  );
  if (opts.json) {
    const raw = {
      options: opts,
      cpus: plan,
      cpuPressure: pressure(),
      results,
    };
    writeFileSync(opts.json, `${JSON.stringify(raw, null, 2)}\n`);
    console.error(`wrote ${opts.json}`);
  }
  return results.some((r) => r.failed + r.unexpected > 0) ? 1 : 0;
});
