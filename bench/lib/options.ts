/** Benchmark options: documented defaults, `--quick` overrides, command-line parsing. */
import { parseArgs } from 'node:util';
import { TARGET_NAMES, type TargetName } from './targets.js';
import { WORKLOAD_NAMES, WORKLOADS, type Workload, type WorkloadName } from './workloads.js';

export type Variant = 'one-node' | 'two-node';
export const VARIANTS: readonly Variant[] = ['one-node', 'two-node'];

export interface BenchOptions {
  /** Servers to measure; each run shuffles them (see `seed`). */
  targets: TargetName[];
  workloads: Workload[];
  /** Also measure idle connections' memory. */
  idle: boolean;
  /** Repetitions of every workload on every server; the report gives median and range. */
  runs: number;
  /** Seed of the server order in each run and workload (reported, so a run can be repeated). */
  seed: number;
  /** Idle connection counts, measured in one server process in increasing order. */
  idleCounts: number[];
  idleGenerators: number;
  idleSettleMs: number;
  /** Length of one measured step. */
  stepMs: number;
  /** Length of the unreported step that warms each server up before a workload. */
  warmupMs: number;
  /** Search (workload C): steps at most, and when to stop bisecting (ratio of failing to passing rate). */
  maxSteps: number;
  precision: number;
  bodyBytes: number;
  samplesPerSecond: number;
  /** % of one core: a step with a generator process (or the generator cores on average) above it is flagged. */
  generatorCpuMax: number;
  /** Subscriber processes of the load generator (plus one publisher and one sampler). */
  shards?: number;
  /** Official clients per step (correctness sample). */
  samplers: number;
  /** Keep servers and generators on separate CPUs with taskset. */
  pin: boolean;
  /** CPUs for the servers when pinning (default half). */
  serverCores?: number;
  /**
   * Subscribers are spread over this many loopback source addresses (127.0.0.2 onwards); 0 leaves
   * the address to the kernel (127.0.0.1). From one address, after workload D's cut the kernel's
   * search for a free port (among the cut connections' TIME_WAIT 4-tuples) took most of the
   * generator's CPU in connect() (docs/performance-targets.md).
   */
  sourceAddresses: number;
  /** Opening connections for one workload stops after this long; the rest count as failed. */
  connectDeadlineMs: number;
  /** Directory for V8 CPU profiles of the server processes (off when undefined). */
  cpuProfileDir?: string;
  /**
   * Switchboard worker processes (env WORKERS=N; undefined: the server's default). Only passed on:
   * the server decides what it means.
   */
  workers?: number;
  /** Extra env per server. */
  serverEnv: Partial<Record<TargetName, Record<string, string>>>;
  /** A different program for a target (tests: a deliberately faulty server). */
  serverScripts: Partial<Record<TargetName, string>>;
  /**
   * one-node: every workload on one server process; two-node: the fixed-load workloads also on two
   * server processes sharing one Redis (Switchboard and Socket.IO; two-node.ts).
   */
  variants: Variant[];
  /** Workload D (reconnect-storm.ts): publishing before the cut and in all, and the bound on coming back. */
  storm: { preCutMs: number; publishMs: number; deadlineMs: number };
  /** Where to write the markdown report (undefined: do not write). */
  outFile?: string;
  /** Where to write the raw results as JSON (undefined: do not write). */
  jsonFile?: string;
}

export const defaultOptions: BenchOptions = {
  targets: [...TARGET_NAMES],
  workloads: WORKLOAD_NAMES.map((n) => WORKLOADS[n]),
  idle: true,
  runs: 3,
  seed: 1,
  idleCounts: [10_000, 19_000],
  idleGenerators: 2,
  idleSettleMs: 2_000,
  stepMs: 5_000,
  warmupMs: 2_000,
  maxSteps: 8,
  precision: 1.2,
  bodyBytes: 100,
  samplesPerSecond: 100_000,
  generatorCpuMax: 70,
  samplers: 3,
  pin: true,
  sourceAddresses: 4,
  connectDeadlineMs: 60_000,
  serverEnv: {},
  serverScripts: {},
  variants: [...VARIANTS],
  storm: { preCutMs: 3_000, publishMs: 20_000, deadlineMs: 60_000 },
  outFile: 'docs/benchmarks.md',
  jsonFile: 'docs/benchmarks.json',
};

/** `--quick`: every workload at a tenth of its connections, one run, short steps, nothing written. */
export function quickOverrides(): Partial<BenchOptions> {
  return {
    workloads: defaultOptions.workloads.map((w) => ({
      ...w,
      rooms: Math.max(1, Math.round(w.rooms / 10)),
      subscribersPerRoom: Math.max(1, Math.round(w.subscribersPerRoom / 10)),
    })),
    runs: 1,
    idleCounts: [1_000, 2_000],
    idleSettleMs: 500,
    stepMs: 1_000,
    warmupMs: 500,
    maxSteps: 4,
    precision: 2.01,
    outFile: undefined,
    jsonFile: undefined,
  };
}

export const usage = `Usage: npm run bench -- [options]

Measures Switchboard and the baselines in bench/baselines on loopback, servers and load generator on
separate CPUs, and writes docs/benchmarks.md and the raw results docs/benchmarks.json.

  --quick                   smoke run: a tenth of the connections, one run, 1 s steps, writes nothing unless asked
  --targets LIST            comma list of ${TARGET_NAMES.join(',')} (default: all)
  --workloads LIST          comma list of ${WORKLOAD_NAMES.join(',')} (default: all); D is the reconnect storm
  --variants LIST           comma list of ${VARIANTS.join(',')} (default: both); two-node runs the fixed-load
                            workloads on two server processes sharing one Redis (Switchboard, Socket.IO)
  --no-workloads            no workload: only the idle-memory measurement
  --no-idle                 skip the idle-memory measurement
  --idle LIST               idle connection counts (default 10000,19000)
  --runs N                  repetitions (default 3); the report gives median and range
  --seed N                  seed of the server order (default 1)
  --step-ms N               duration of one measured step (default 5000)
  --max-steps N             steps of the rate search in workload C (default 8)
  --body-bytes N            filler bytes per publication (default 100)
  --generator-cpu-max N     flag steps with a generator process above N% of a core (default 70)
  --shards N                subscriber processes of the load generator (default 2 per generator CPU)
  --samplers N              official clients per step (default 3)
  --server-cores N          CPUs for the servers (default half); the others run the load generator
  --no-pin                  do not pin (servers and generator share CPUs: the report says so)
  --source-addresses N      spread subscriber connections over 127.0.0.2..N+1 (default 4; 0: the kernel's choice, 127.0.0.1)
  --connect-deadline-s N    give up opening a workload's connections after N s (default 60)
  --storm-s N               workload D: publish for N s in all, the cut after the first 3 (default 20)
  --storm-subscribers N     workload D: this many subscribers over its rooms (default 10000)
  --storm-deadline-s N      workload D: subscribers not back N s after the cut count as not back (default 60)
  --cpu-prof DIR            write V8 CPU profiles of the server processes to DIR
  --switchboard-env K=V     extra env for Switchboard nodes (repeatable)
  --workers N               start Switchboard with WORKERS=N (its multi-process mode; default: unset)
  --out FILE                markdown report path (default docs/benchmarks.md); --no-out to skip
  --json FILE               raw results path (default docs/benchmarks.json); --no-json to skip
  -h, --help                this text`;

function list(flag: string, value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error(`${flag} needs a comma-separated list`);
  return items;
}

function positiveInt(flag: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  if (n > max) throw new Error(`${flag} must be at most ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(`${flag}: unknown "${value}", expected one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Parses argv (without node and script) into options; throws a message naming the bad flag. */
export function parseBenchArgs(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      targets: { type: 'string' },
      workloads: { type: 'string' },
      variants: { type: 'string' },
      'no-workloads': { type: 'boolean' },
      'no-idle': { type: 'boolean' },
      idle: { type: 'string' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      'step-ms': { type: 'string' },
      'max-steps': { type: 'string' },
      'body-bytes': { type: 'string' },
      'generator-cpu-max': { type: 'string' },
      shards: { type: 'string' },
      samplers: { type: 'string' },
      'server-cores': { type: 'string' },
      'no-pin': { type: 'boolean' },
      'source-addresses': { type: 'string' },
      'connect-deadline-s': { type: 'string' },
      'storm-s': { type: 'string' },
      'storm-deadline-s': { type: 'string' },
      'storm-subscribers': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'switchboard-env': { type: 'string', multiple: true },
      workers: { type: 'string' },
      out: { type: 'string' },
      'no-out': { type: 'boolean' },
      json: { type: 'string' },
      'no-json': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const o: BenchOptions = { ...defaultOptions, ...(values.quick ? quickOverrides() : {}) };
  if (values.targets)
    o.targets = list('--targets', values.targets).map((t) => oneOf('--targets', t, TARGET_NAMES));
  if (values.workloads) {
    const names = new Set<WorkloadName>(
      list('--workloads', values.workloads).map((w) => oneOf('--workloads', w.toUpperCase(), WORKLOAD_NAMES)),
    );
    o.workloads = o.workloads.filter((w) => names.has(w.name));
  }
  if (values.variants) {
    o.variants = [
      ...new Set(list('--variants', values.variants).map((v) => oneOf('--variants', v, VARIANTS))),
    ];
  }
  if (values['no-workloads']) {
    if (values.workloads) throw new Error('--no-workloads and --workloads exclude each other');
    o.workloads = [];
  }
  if (values['no-idle']) o.idle = false;
  if (values.idle) o.idleCounts = list('--idle', values.idle).map((v) => positiveInt('--idle', v));
  if (values.runs) o.runs = positiveInt('--runs', values.runs, 100);
  if (values.seed) o.seed = positiveInt('--seed', values.seed, 2 ** 31);
  if (values['step-ms']) o.stepMs = positiveInt('--step-ms', values['step-ms']);
  if (values['max-steps']) o.maxSteps = positiveInt('--max-steps', values['max-steps']);
  if (values['body-bytes']) {
    // Bigger frames are skipped unread by the lean client.
    o.bodyBytes = positiveInt('--body-bytes', values['body-bytes'], 8192);
  }
  if (values['generator-cpu-max']) {
    o.generatorCpuMax = positiveInt('--generator-cpu-max', values['generator-cpu-max'], 100);
  }
  if (values.shards) o.shards = positiveInt('--shards', values.shards, 64);
  if (values.samplers)
    o.samplers = Number(values.samplers) === 0 ? 0 : positiveInt('--samplers', values.samplers, 100);
  if (values['server-cores']) o.serverCores = positiveInt('--server-cores', values['server-cores'], 1024);
  if (values['no-pin']) o.pin = false;
  if (values['source-addresses']) {
    const v = values['source-addresses'];
    o.sourceAddresses = v.trim() === '0' ? 0 : positiveInt('--source-addresses', v, 250);
  }
  if (values['connect-deadline-s']) {
    o.connectDeadlineMs = positiveInt('--connect-deadline-s', values['connect-deadline-s']) * 1000;
  }
  if (values['storm-s']) {
    const publishMs = positiveInt('--storm-s', values['storm-s'], 600) * 1000;
    if (publishMs <= o.storm.preCutMs) throw new Error(`--storm-s must be above ${o.storm.preCutMs / 1000}`);
    o.storm = { ...o.storm, publishMs };
  }
  if (values['storm-subscribers']) {
    const n = positiveInt('--storm-subscribers', values['storm-subscribers'], 100_000);
    o.workloads = o.workloads.map((w) =>
      w.mode === 'storm' ? { ...w, subscribersPerRoom: Math.max(1, Math.round(n / w.rooms)) } : w,
    );
  }
  if (values['storm-deadline-s']) {
    o.storm = {
      ...o.storm,
      deadlineMs: positiveInt('--storm-deadline-s', values['storm-deadline-s'], 600) * 1000,
    };
  }
  if (values['cpu-prof']) o.cpuProfileDir = values['cpu-prof'];
  const sbEnv = new Map<string, string>();
  for (const kv of values['switchboard-env'] ?? []) {
    const at = kv.indexOf('=');
    if (at <= 0) throw new Error(`--switchboard-env must look like KEY=VALUE, got "${kv}"`);
    sbEnv.set(kv.slice(0, at), kv.slice(at + 1));
  }
  if (values.workers) {
    o.workers = positiveInt('--workers', values.workers, 256);
    sbEnv.set('WORKERS', String(o.workers));
  }
  o.serverEnv = { switchboard: Object.fromEntries(sbEnv) };
  if (values.out) o.outFile = values.out;
  if (values['no-out']) o.outFile = undefined;
  if (values.json) o.jsonFile = values.json;
  if (values['no-json']) o.jsonFile = undefined;
  return o;
}
