/**
 * Runs the benchmark: `runs` times, every workload on every server, the servers in an order drawn
 * from the seed for each run and workload, then the idle-memory measurement. Each workload gets a
 * fresh server (pinned to the server CPUs) and a fresh generator pool (pinned to the others). Every
 * process it starts is stopped before it returns, also on failure.
 */
import { $ } from 'zx';
import { readFileSync } from 'node:fs';
import { allowedCpus, checkTaskset, pin, planCpus, unpinnedPlan, type CpuPlan } from './cpus.js';
import { measureIdle, type IdleResult } from './idle.js';
import { workersCost, type WorkersCost } from './workers-report.js';
import { finishMachineFacts, machineFacts, type MachineFacts } from './machine.js';
import type { BenchOptions } from './options.js';
import { orderSeed, shuffled, spread, type Spread } from './order.js';
import { GeneratorPool } from './pool.js';
import { describeStorm, runStorm, type StormResult } from './reconnect-storm.js';
import { searchRate } from './search.js';
import { summariseStorms, type StormSummary } from './storm-report.js';
import { describeStep, runStep, type StepContext, type StepOptions, type StepResult } from './step.js';
import { startTarget, TARGET_LABELS, type Target, type TargetName } from './targets.js';
import { nodeAddresses, startTwoNodes, TWO_NODE_TARGETS } from './two-node.js';
import type { Workload, WorkloadName } from './workloads.js';

/** One workload on one server in one run. */
export interface WorkloadRun {
  run: number;
  workload: WorkloadName;
  target: TargetName;
  /** 2: the two-node variant (two server processes sharing one Redis). */
  nodes: 1 | 2;
  startedAt: string;
  subscribers: number;
  connectMs: number;
  /** fixed: the measured step; search: the best passing step; null when there is none. */
  result: StepResult | null;
  /** Every reported step (the warm-up is not). */
  steps: StepResult[];
  /** Workload D: the storm. */
  storm?: StormResult;
  /** search: stopped below a step whose generator was too busy (the server may do more). */
  generatorLimited: boolean;
  /** Enters the summary: a passing, unflagged step. */
  counted: boolean;
  error?: string;
}

/** Median and range over the counted runs of one workload on one server. */
export interface Summary {
  workload: WorkloadName;
  target: TargetName;
  nodes: 1 | 2;
  /** Two-node variants: the shared Redis's CPU per delivery. */
  redisCpuUsPerDelivery: Spread | null;
  runs: number;
  counted: number;
  cpuUsPerDelivery: Spread | null;
  deliveriesPerSec: Spread | null;
  ratePerRoom: Spread | null;
  p99Ms: Spread | null;
  generatorLimited: boolean;
}

export interface IdleTargetResult extends Partial<IdleResult> {
  target: TargetName;
  error?: string;
}

export interface BenchResult {
  startedAt: string;
  durationS: number;
  machine: MachineFacts;
  cpus: CpuPlan;
  settings: {
    runs: number;
    seed: number;
    stepMs: number;
    warmupMs: number;
    maxSteps: number;
    precision: number;
    bodyBytes: number;
    samplesPerSecond: number;
    generatorCpuMax: number;
    shards: number;
    samplers: number;
    /** Loopback addresses the subscribers connect from (absent in older results: 127.0.0.1 only). */
    sourceAddresses?: number;
    workloads: Workload[];
    targets: TargetName[];
    /** Workload D's timings. */
    storm: BenchOptions['storm'];
    /** Switchboard's WORKERS env when --workers was given. */
    workers?: number;
    idleCounts: number[];
    /** Versions of what was measured, from the installed packages. */
    versions: Record<string, string>;
  };
  /** The order the servers ran in, per run, workload and variant. */
  orders: { run: number; workload: WorkloadName; nodes: 1 | 2; targets: TargetName[] }[];
  runs: WorkloadRun[];
  summary: Summary[];
  /** Workload D: median and range per server. */
  stormSummary: StormSummary[];
  /** Switchboard with workers against one process, per workload (when both ran). */
  workersCost: WorkersCost[];
  idle: IdleTargetResult[];
}

/** An installed package's version; for Switchboard, the commit measured (+ "modified" when the tree differs). */
function versionOf(pkg: string): string {
  try {
    if (pkg === 'switchboard') {
      const git = (args: string[]) => $.sync({ cwd: import.meta.dirname })`git ${args}`.stdout.trim();
      return `commit ${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain']) ? ' (modified)' : ''}`;
    }
    const url = `../../node_modules/${pkg}/package.json`;
    return (JSON.parse(readFileSync(new URL(url, import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function runBenchmark(o: BenchOptions, log: (line: string) => void): Promise<BenchResult> {
  const ownCpus = allowedCpus(process.pid);
  let cpus: CpuPlan;
  if (o.pin) {
    checkTaskset();
    cpus = planCpus(ownCpus, o.serverCores);
    // The orchestrator polls and aggregates: keep it off the server CPUs too (until the end).
    pin(process.pid, cpus.generator);
  } else cpus = unpinnedPlan();
  try {
    return await measure(o, cpus, log);
  } finally {
    if (o.pin) pin(process.pid, ownCpus.join(','));
  }
}

async function measure(o: BenchOptions, cpus: CpuPlan, log: (line: string) => void): Promise<BenchResult> {
  const started = Date.now();
  const shards = o.shards ?? 2 * cpus.generatorCores;
  const result: BenchResult = {
    startedAt: new Date(started).toISOString(),
    durationS: 0,
    machine: machineFacts(),
    cpus,
    settings: {
      runs: o.runs,
      seed: o.seed,
      stepMs: o.stepMs,
      warmupMs: o.warmupMs,
      maxSteps: o.maxSteps,
      precision: o.precision,
      bodyBytes: o.bodyBytes,
      samplesPerSecond: o.samplesPerSecond,
      generatorCpuMax: o.generatorCpuMax,
      shards,
      samplers: o.samplers,
      sourceAddresses: o.sourceAddresses,
      workloads: o.workloads,
      targets: o.targets,
      storm: o.storm,
      workers: o.workers,
      idleCounts: o.idle ? o.idleCounts : [],
      versions: Object.fromEntries(
        ['switchboard', 'socket.io', 'ws', 'phoenix', 'socket.io-client'].map((p) => [p, versionOf(p)]),
      ),
    },
    orders: [],
    runs: [],
    summary: [],
    stormSummary: [],
    workersCost: [],
    idle: [],
  };
  log(
    `servers on CPUs ${cpus.server}, load generator on ${cpus.generator}${cpus.pinned ? '' : ' (not pinned)'}`,
  );
  for (let run = 1; run <= o.runs; run++) {
    for (const [wi, w] of o.workloads.entries()) {
      for (const nodes of variantsOf(w, o)) {
        const targets = nodes === 1 ? o.targets : o.targets.filter((t) => TWO_NODE_TARGETS.includes(t));
        if (targets.length === 0) continue;
        const order = shuffled(targets, orderSeed(o.seed, run, wi) + nodes - 1);
        result.orders.push({ run, workload: w.name, nodes, targets: order });
        for (const name of order) {
          log(`run ${run}/${o.runs}, workload ${w.name}, ${labelOf(name, nodes)}`);
          result.runs.push(await runWorkload(name, w, run, o, cpus, shards, log, nodes));
        }
      }
    }
  }
  result.summary = summarise(result.runs, o);
  result.stormSummary = summariseStorms(result.runs, o.workloads, o.targets);
  result.workersCost = workersCost(result.runs, o.workloads);
  if (o.idle) {
    // The GC hook reaches the primary only: a worker's uncollected garbage would read as memory.
    for (const name of o.targets.filter((t) => t !== 'switchboard-workers')) {
      result.idle.push(await idleScenario(name, o, cpus, log));
    }
  }
  result.durationS = Math.round((Date.now() - started) / 1000);
  finishMachineFacts(result.machine);
  return result;
}

/** The variants a workload runs in: one node always where asked, two nodes for the fixed-load ones. */
function variantsOf(w: Workload, o: BenchOptions): (1 | 2)[] {
  const out: (1 | 2)[] = [];
  if (o.variants.includes('one-node')) out.push(1);
  if (o.variants.includes('two-node') && w.mode === 'fixed') out.push(2);
  return out;
}

/** A server's name in logs and tables, with its variant. */
export function labelOf(name: TargetName, nodes: 1 | 2): string {
  return nodes === 2 ? `${TARGET_LABELS[name]}, two nodes + Redis` : TARGET_LABELS[name];
}

async function runWorkload(
  name: TargetName,
  w: Workload,
  run: number,
  o: BenchOptions,
  cpus: CpuPlan,
  shards: number,
  log: (l: string) => void,
  nodes: 1 | 2 = 1,
): Promise<WorkloadRun> {
  const entry: WorkloadRun = {
    run,
    workload: w.name,
    target: name,
    nodes,
    startedAt: new Date().toISOString(),
    subscribers: w.rooms * w.subscribersPerRoom,
    connectMs: 0,
    result: null,
    steps: [],
    generatorLimited: false,
    counted: false,
  };
  const storm = w.mode === 'storm';
  const two =
    nodes === 2
      ? await startTwoNodes(name, cpus, { cpuProfileDir: o.cpuProfileDir, env: o.serverEnv[name] })
      : null;
  const target = two?.target ?? (await startServer(name, o, cpus, storm));
  const pool = GeneratorPool.start({
    shards,
    cpus: cpus.pinned ? cpus.generator : undefined,
    cpuProfileDir: o.cpuProfileDir,
  });
  try {
    const endpoint = storm ? target.stormEndpoint(0) : target.endpoint(0);
    const topics = Array.from({ length: w.rooms }, (_, r) => target.topic(w.name, r));
    await pool.publishers(endpoint, topics);
    checkOpenFiles(entry.subscribers, shards);
    const c = await pool.subscribe(endpoint, topics, entry.subscribers, {
      concurrency: 100,
      localAddresses: Array.from({ length: o.sourceAddresses }, (_, i) => `127.0.0.${i + 2}`),
      deadlineMs: o.connectDeadlineMs,
      // Two nodes: subscribers alternate between them; the publishers stay on node 0.
      nodes: two ? nodeAddresses(target) : undefined,
    });
    entry.connectMs = c.ms;
    if (c.failed > 0) throw new Error(`${c.failed} subscribers failed to connect: ${c.errors.join('; ')}`);
    // Two nodes: the official clients sit on the node without publishers, so they check the Redis path.
    await pool.samplers(two ? target.endpoint(1) : endpoint, topics, o.samplers);
    log(`  ${entry.subscribers} subscribers in ${w.rooms} rooms connected in ${c.ms} ms`);
    const ctx: StepContext = {
      pool,
      subscribers: entry.subscribers,
      topics: w.rooms,
      serverPids: target.nodes.map((n) => n.pid),
      redisPid: two?.redisPid,
      helperPids: [process.pid],
      generatorCores: cpus.generatorCores,
      log,
    };
    const so: StepOptions = {
      stepMs: o.stepMs,
      boundMs: w.boundMs,
      bodyBytes: o.bodyBytes,
      samplesPerSecond: o.samplesPerSecond,
      generatorCpuMax: o.generatorCpuMax,
    };
    // Warm-up: JIT the server's hot path at the workload's rate; not reported.
    if (o.warmupMs > 0)
      log(
        `  warm-up:${describeStep(await runStep(ctx, { ...so, stepMs: o.warmupMs }, w.ratePerRoom)).slice(1)}`,
      );
    if (storm) {
      const r = await runStorm(ctx, target, { ...so, ...o.storm }, w.ratePerRoom);
      log(describeStorm(r));
      entry.storm = r;
      // A server without recovery is measured all the same; its loss is what the table shows.
      entry.counted = !r.generatorSaturated && r.back === r.cut && r.cut === r.subscribers;
    } else if (w.mode === 'fixed') {
      const r = await runStep(ctx, so, w.ratePerRoom);
      log(describeStep(r));
      entry.steps = [r];
      entry.result = r;
      entry.counted = r.pass;
    } else {
      const s = await searchRate(ctx, { ...so, maxSteps: o.maxSteps, precision: o.precision }, w.ratePerRoom);
      entry.steps = s.steps;
      entry.result = s.best;
      entry.generatorLimited = s.generatorLimited;
      entry.counted = s.best !== null;
    }
  } catch (err) {
    entry.error = (err as Error).message;
    log(`  error: ${entry.error}`);
  } finally {
    await pool.stop();
    await (two ?? target).stop();
  }
  return entry;
}

/**
 * Every subscriber is a socket in a generator shard and one in the server: with the soft open-files
 * limit (inherited by both) too low, connections would fail half-way with EMFILE. Say so first.
 */
function checkOpenFiles(subscribers: number, shards: number): void {
  const limit = Number($.sync`ulimit -n`.stdout.trim());
  if (!Number.isFinite(limit)) return; // "unlimited"
  const need = subscribers + 1000; // the server holds them all, plus its own files and the publishers
  if (limit < need) {
    throw new Error(
      `open-files limit ${limit} is below the ${need} this workload needs (${Math.ceil(subscribers / shards)} per generator shard, all of them in the server): raise it (ulimit -n ${need}) or use fewer connections`,
    );
  }
}

/** One node of `name`, pinned to the server CPUs (`recovery`: with the server's recovery option on). */
function startServer(name: TargetName, o: BenchOptions, cpus: CpuPlan, recovery = false): Promise<Target> {
  return startTarget(name, {
    nodes: 1,
    recovery,
    cpus: cpus.pinned ? cpus.server : undefined,
    cpuProfileDir: o.cpuProfileDir,
    env: o.serverEnv[name],
    script: o.serverScripts[name],
  });
}

function summarise(runs: WorkloadRun[], o: BenchOptions): Summary[] {
  const out: Summary[] = [];
  for (const w of o.workloads.filter((x) => x.mode !== 'storm')) {
    for (const [t, nodes] of o.targets.flatMap((t) => ([1, 2] as const).map((n) => [t, n] as const))) {
      const mine = runs.filter((r) => r.workload === w.name && r.target === t && r.nodes === nodes);
      // The one-node row is there even when nothing ran (it says 0 of 0); a variant only when it ran.
      if (mine.length === 0 && nodes === 2) continue;
      const counted = mine.filter((r) => r.counted && r.result).map((r) => r.result!);
      out.push({
        workload: w.name,
        target: t,
        nodes,
        redisCpuUsPerDelivery: spread(
          counted.map((s) => s.redisCpuUsPerDelivery).filter((v): v is number => v !== undefined),
        ),
        runs: mine.length,
        counted: counted.length,
        cpuUsPerDelivery: spread(counted.map((s) => s.serverCpuUsPerDelivery)),
        deliveriesPerSec: spread(counted.map((s) => s.deliveriesPerSec)),
        ratePerRoom: spread(counted.map((s) => s.ratePerTopic)),
        p99Ms: spread(counted.map((s) => s.p99Ms)),
        generatorLimited: mine.some((r) => r.generatorLimited),
      });
    }
  }
  return out;
}

async function idleScenario(
  name: TargetName,
  o: BenchOptions,
  cpus: CpuPlan,
  log: (l: string) => void,
): Promise<IdleTargetResult> {
  log(`${TARGET_LABELS[name]}: idle connections ${o.idleCounts.join(', ')}`);
  const target = await startServer(name, o, cpus);
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
        cpus: cpus.pinned ? cpus.generator : undefined,
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
