/**
 * Runs the benchmark: for each target, the idle-connection scenario, the one-node fan-out search
 * and the two-node (publisher on the second node, through Redis) fan-out search. Every process it
 * starts (servers, Redis, load generators) is stopped before it returns, also on failure.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { startRedis, type RedisServer } from '../../testkit/src/index.js';
import type { ConnectResult } from '../loadgen/messages.js';
import { searchRate, type StepResult } from './fanout.js';
import { GeneratorProcess } from './generator-client.js';
import { pidListeningOn } from './procfs.js';
import { measureIdle, type IdleResult } from './idle.js';
import type { BenchOptions, ScenarioName } from './options.js';
import { startTarget, TARGET_LABELS, type TargetName } from './targets.js';

export interface FanoutResult {
  target: TargetName;
  scenario: Exclude<ScenarioName, 'idle'>;
  subscribers: number;
  boundMs: number;
  best: StepResult | null;
  steps: StepResult[];
  error?: string;
}

export interface IdleTargetResult extends Partial<IdleResult> {
  target: TargetName;
  error?: string;
}

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  openFilesLimit: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews results. */
  loadAverage: { start: number; end: number };
  /**
   * CPU pressure (Linux PSI `some avg60`, % of time runnable tasks waited for a CPU) over the minute
   * before the run started and ended; null where /proc/pressure is missing. Above ~10% the servers
   * were competing for CPU with other work and the numbers are low.
   */
  cpuPressure: { start: number | null; end: number | null };
}

/** Linux PSI: % of the last 60 s in which some runnable task waited for a CPU. */
export function cpuPressure(): number | null {
  try {
    const m = /some avg10=[\d.]+ avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export interface BenchResult {
  startedAt: string;
  durationS: number;
  machine: MachineFacts;
  settings: {
    stepMs: number;
    maxSteps: number;
    precision: number;
    startDeliveries: number;
    noisyForeignCpu: number;
    bodyBytes: number;
    subscriberCounts: number[];
    idleCounts: number[];
    bounds: Record<number, number>;
  };
  idle: IdleTargetResult[];
  fanout: FanoutResult[];
}

export async function machineFacts(): Promise<MachineFacts> {
  const { execFileSync } = await import('node:child_process');
  let openFilesLimit = 'unknown';
  try {
    openFilesLimit = execFileSync('sh', ['-c', 'ulimit -n']).toString().trim();
  } catch {
    /* not a POSIX shell */
  }
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    openFilesLimit,
    loadAverage: { start: os.loadavg()[0]!, end: os.loadavg()[0]! },
    cpuPressure: { start: cpuPressure(), end: null },
  };
}

export async function runBenchmark(o: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  const started = Date.now();
  const result: BenchResult = {
    startedAt: new Date(started).toISOString(),
    durationS: 0,
    machine: await machineFacts(),
    settings: {
      stepMs: o.stepMs,
      maxSteps: o.maxSteps,
      precision: o.precision,
      startDeliveries: o.startDeliveries,
      noisyForeignCpu: o.noisyForeignCpu,
      bodyBytes: o.bodyBytes,
      subscriberCounts: o.subscriberCounts,
      idleCounts: o.idleCounts,
      bounds: Object.fromEntries(o.subscriberCounts.map((n) => [n, o.boundMs(n)])),
    },
    idle: [],
    fanout: [],
  };
  const pressure = result.machine.cpuPressure.start;
  if (pressure !== null && pressure > 10) {
    log(
      `warning: CPU pressure ${pressure}% (tasks waited for a CPU that share of the last minute): ` +
        'other work is running, so the numbers will be low and noisy',
    );
  }
  let redis: RedisServer | undefined;
  try {
    // Scenario by scenario, every server in turn: the rows compared with each other are measured
    // minutes apart at most, so a change in background load hurts the comparison least.
    if (o.scenarios.includes('idle')) {
      for (const name of o.targets) result.idle.push(await idleScenario(name, o, log));
    }
    for (const scenario of ['fanout', 'redis'] as const) {
      if (!o.scenarios.includes(scenario)) continue;
      if (scenario === 'redis') redis ??= await startRedis();
      for (const name of o.targets) {
        result.fanout.push(...(await fanoutScenario(name, scenario, o, redis?.url, log)));
      }
    }
  } finally {
    await redis?.stop();
  }
  result.durationS = Math.round((Date.now() - started) / 1000);
  result.machine.loadAverage.end = os.loadavg()[0]!;
  result.machine.cpuPressure.end = cpuPressure();
  return result;
}

async function idleScenario(
  name: TargetName,
  o: BenchOptions,
  log: (l: string) => void,
): Promise<IdleTargetResult> {
  log(`${TARGET_LABELS[name]}: idle connections ${o.idleCounts.join(', ')}`);
  const target = await startTarget(name, {
    nodes: 1,
    cpuProfileDir: o.cpuProfileDir,
    switchboardEnv: o.switchboardEnv,
  });
  try {
    const r = await measureIdle(
      target,
      {
        counts: o.idleCounts,
        generators: o.idleGenerators,
        sourceAddresses: o.sourceAddresses,
        settleMs: o.idleSettleMs,
        connectDeadlineMs: o.connectDeadlineMs,
        cpuProfileDir: o.cpuProfileDir,
      },
      log,
    );
    return { target: name, ...r };
  } catch (err) {
    log(`  error: ${(err as Error).message}`);
    return { target: name, error: (err as Error).message };
  } finally {
    await target.stop();
  }
}

async function fanoutScenario(
  name: TargetName,
  scenario: 'fanout' | 'redis',
  o: BenchOptions,
  redisUrl: string | undefined,
  log: (l: string) => void,
): Promise<FanoutResult[]> {
  const twoNodes = scenario === 'redis';
  log(
    `${TARGET_LABELS[name]}: one topic, ${twoNodes ? 'publisher on a second node through Redis' : 'one node'}`,
  );
  const target = await startTarget(name, {
    nodes: twoNodes ? 2 : 1,
    redisUrl: twoNodes ? redisUrl : undefined,
    cpuProfileDir: o.cpuProfileDir,
    switchboardEnv: o.switchboardEnv,
  });
  const gen = GeneratorProcess.start(o.cpuProfileDir);
  const redisPid = twoNodes && redisUrl ? pidListeningOn(Number(new URL(redisUrl).port)) : null;
  const localAddresses = Array.from({ length: o.sourceAddresses }, (_, i) => `127.0.0.${i + 2}`);
  const results: FanoutResult[] = [];
  let startDeliveries = o.startDeliveries;
  try {
    await gen.call({ cmd: 'publisher', endpoint: target.endpoint(target.nodes.length - 1) });
    let open = 0;
    for (const subscribers of [...o.subscriberCounts].sort((a, b) => a - b)) {
      const boundMs = o.boundMs(subscribers);
      const entry: FanoutResult = { target: name, scenario, subscribers, boundMs, best: null, steps: [] };
      results.push(entry);
      try {
        const c = await gen.call<ConnectResult>(
          {
            cmd: 'connect',
            endpoint: target.endpoint(0),
            count: subscribers - open,
            firstIndex: open,
            concurrency: 100,
            localAddresses,
            deadlineMs: o.connectDeadlineMs,
          },
          o.connectDeadlineMs + 60_000,
        );
        open = subscribers;
        if (c.failed > 0)
          throw new Error(`${c.failed} subscribers failed to connect: ${c.errors.join('; ')}`);
        log(`  ${subscribers} subscribers (p99 bound ${boundMs} ms), connected in ${c.ms} ms`);
        const found = await searchRate(
          {
            generators: [gen],
            publisher: gen,
            subscribers,
            serverPids: target.nodes.map((n) => n.pid),
            helperPids: [gen.pid, ...(redisPid ? [redisPid] : [])],
            log,
          },
          {
            ...o,
            boundMs,
            startDeliveries,
          },
          subscribers,
        );
        entry.best = found.best;
        entry.steps = found.steps;
        // More subscribers cost more per message; start the next search a little below this best.
        if (found.best) startDeliveries = Math.max(o.startDeliveries, found.best.deliveriesPerSec / 2);
      } catch (err) {
        entry.error = (err as Error).message;
        log(`  error: ${entry.error}`);
        break;
      }
    }
  } finally {
    await gen.stop();
    await target.stop();
  }
  return results;
}
