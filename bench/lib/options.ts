/** Benchmark options: documented defaults, `--quick` overrides, command-line parsing. */
import { parseArgs } from 'node:util';
import { TARGET_NAMES, type TargetName } from './targets.js';

export type ScenarioName = 'idle' | 'fanout' | 'redis';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['idle', 'fanout', 'redis'];

export interface BenchOptions {
  targets: TargetName[];
  scenarios: ScenarioName[];
  /** Idle connection counts, measured in one server process in increasing order. */
  idleCounts: number[];
  /** Subscriber counts for the fan-out scenarios. */
  subscriberCounts: number[];
  /** p99 latency bound for a subscriber count (ms). */
  boundMs(subscribers: number): number;
  stepMs: number;
  maxSteps: number;
  precision: number;
  startDeliveries: number;
  bodyBytes: number;
  samplesPerSecond: number;
  /** A failed step during which other processes used more than this (% of one core) is repeated once. */
  noisyForeignCpu: number;
  idleGenerators: number;
  sourceAddresses: number;
  idleSettleMs: number;
  /** Opening connections for one scenario stops after this long; the rest count as failed. */
  connectDeadlineMs: number;
  /** Directory for V8 CPU profiles of the server processes (off when undefined). */
  cpuProfileDir?: string;
  /** Extra env for Switchboard nodes. */
  switchboardEnv: Record<string, string>;
  /** Where to write the markdown report (undefined: do not write). */
  outFile?: string;
  /** Where to write the raw results as JSON (undefined: do not write). */
  jsonFile?: string;
}

/** The bounds: 100 ms p99 up to 1,000 subscribers, 250 ms at 10,000 and above. */
export function defaultBoundMs(subscribers: number): number {
  return subscribers >= 10_000 ? 250 : 100;
}

export const defaultOptions: BenchOptions = {
  targets: [...TARGET_NAMES],
  scenarios: [...SCENARIO_NAMES],
  idleCounts: [10_000, 19_000],
  subscriberCounts: [1_000, 10_000],
  boundMs: defaultBoundMs,
  stepMs: 2_000,
  maxSteps: 8,
  precision: 1.2,
  startDeliveries: 100_000,
  bodyBytes: 100,
  samplesPerSecond: 100_000,
  noisyForeignCpu: 25,
  idleGenerators: 2,
  sourceAddresses: 0,
  idleSettleMs: 2_000,
  connectDeadlineMs: 60_000,
  switchboardEnv: {},
  outFile: 'docs/benchmarks.md',
};

/** `--quick`: a smoke run of every scenario in well under a minute per target. */
export const quickOverrides: Partial<BenchOptions> = {
  idleCounts: [1_000, 2_000],
  subscriberCounts: [100, 1_000],
  stepMs: 1_000,
  maxSteps: 4,
  precision: 2.01,
  idleSettleMs: 500,
  connectDeadlineMs: 60_000,
  outFile: undefined,
};

export const usage = `Usage: npm run bench -- [options]

Measures Switchboard, a raw ws broadcast server and Socket.IO 4 on loopback and writes docs/benchmarks.md.

  --quick                   smoke run: small counts, 1 s steps, no report file unless --out is given
  --targets LIST            comma list of ${TARGET_NAMES.join(',')} (default: all)
  --scenarios LIST          comma list of ${SCENARIO_NAMES.join(',')} (default: all)
  --idle LIST               idle connection counts (default 10000,19000)
  --subscribers LIST        fan-out subscriber counts (default 1000,10000)
  --bound-ms N              p99 bound for every subscriber count (default 100, 250 at >= 10000)
  --step-ms N               duration of one publish step (default 2000)
  --max-steps N             steps per rate search (default 8)
  --body-bytes N            filler bytes per message (default 100)
  --source-addresses N      spread client connections over 127.0.0.2..N+1 (default 0: kernel's choice)
  --connect-deadline-s N    give up opening a scenario's connections after N s (default 60)
  --cpu-prof DIR            write V8 CPU profiles of the server processes to DIR
  --switchboard-env K=V     extra env for Switchboard nodes (repeatable)
  --out FILE                markdown report path (default docs/benchmarks.md); --no-out to skip
  --json FILE               also write the raw results as JSON
  -h, --help                this text`;

function list(flag: string, value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error(`${flag} needs a comma-separated list`);
  return items;
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got "${value}"`);
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
      scenarios: { type: 'string' },
      idle: { type: 'string' },
      subscribers: { type: 'string' },
      'bound-ms': { type: 'string' },
      'step-ms': { type: 'string' },
      'max-steps': { type: 'string' },
      'body-bytes': { type: 'string' },
      'source-addresses': { type: 'string' },
      'connect-deadline-s': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'switchboard-env': { type: 'string', multiple: true },
      out: { type: 'string' },
      'no-out': { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const o: BenchOptions = { ...defaultOptions, ...(values.quick ? quickOverrides : {}) };
  if (values.targets)
    o.targets = list('--targets', values.targets).map((t) => oneOf('--targets', t, TARGET_NAMES));
  if (values.scenarios) {
    o.scenarios = list('--scenarios', values.scenarios).map((s) => oneOf('--scenarios', s, SCENARIO_NAMES));
  }
  if (values.idle) o.idleCounts = list('--idle', values.idle).map((v) => positiveInt('--idle', v));
  if (values.subscribers) {
    o.subscriberCounts = list('--subscribers', values.subscribers).map((v) =>
      positiveInt('--subscribers', v),
    );
  }
  if (values['bound-ms']) {
    const bound = positiveInt('--bound-ms', values['bound-ms']);
    o.boundMs = () => bound;
  }
  if (values['step-ms']) o.stepMs = positiveInt('--step-ms', values['step-ms']);
  if (values['max-steps']) o.maxSteps = positiveInt('--max-steps', values['max-steps']);
  if (values['body-bytes']) {
    o.bodyBytes = positiveInt('--body-bytes', values['body-bytes']);
    if (o.bodyBytes > 8192)
      throw new Error('--body-bytes must be at most 8192 (bigger frames are skipped unread)');
  }
  if (values['source-addresses']) {
    o.sourceAddresses = positiveInt('--source-addresses', values['source-addresses']);
    if (o.sourceAddresses > 250) throw new Error('--source-addresses must be at most 250');
  }
  if (values['connect-deadline-s']) {
    o.connectDeadlineMs = positiveInt('--connect-deadline-s', values['connect-deadline-s']) * 1000;
  }
  if (values['cpu-prof']) o.cpuProfileDir = values['cpu-prof'];
  o.switchboardEnv = {};
  for (const kv of values['switchboard-env'] ?? []) {
    const at = kv.indexOf('=');
    if (at <= 0) throw new Error(`--switchboard-env must look like KEY=VALUE, got "${kv}"`);
    o.switchboardEnv[kv.slice(0, at)] = kv.slice(at + 1);
  }
  if (values.out) o.outFile = values.out;
  if (values['no-out']) o.outFile = undefined;
  if (values.json) o.jsonFile = values.json;
  return o;
}
