/**
 * The Node runner: runs a scenario's VU logic with the same options, thresholds and summary shape
 * as k6. VUs are concurrent async loops (constant-vus), iterations start until DURATION ends, running
 * ones get GRACEFUL_STOP to finish, then their sockets are terminated. `runScenario` is the
 * programmatic API (used by the CLI and by rehearsal scripts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { SignJWT } from 'jose';
import { readConfig } from '../lib/config.js';
import { buildOptions, type Scenario } from '../lib/scenario.js';
import { toLoadSummary, type EndOfTestData, type LoadSummary, type MetricSummary } from '../lib/summary.js';
import { assertFits, evaluateThreshold, parseThreshold, ThresholdError } from '../lib/thresholds.js';
import { scenarios } from '../scenarios/index.js';
import { MetricRegistry } from './metric-sinks.js';
import { createNodeEngine } from './node-engine.js';

/** What to run. Fields override `env`, which overrides the scenario's defaults. */
export interface RunScenarioOptions {
  /** A scenario name (`connect-storm`, `fanout`, `presence-churn`, `soak`) or a Scenario. */
  scenario: string | Scenario;
  /** Socket endpoint, e.g. ws://127.0.0.1:4000/socket (env URL). */
  url?: string;
  /** One JWT for every VU (env TOKEN). */
  token?: string;
  /** Instead of a token: an HS256 secret to sign one token per VU with (sub `loadtest-<vu>`). */
  jwtSecret?: string;
  /** Topic patterns of the signed tokens' join and publish claims (default `room:*`). */
  tokenTopics?: string[];
  vus?: number;
  /** k6 duration, e.g. `10s`. */
  duration?: string;
  /** Any scenario variable (ROOMS, PUBLISH_INTERVAL, TOPIC_PREFIX, ...), as k6's `-e KEY=VALUE`. */
  env?: Record<string, string>;
  /** Where to write the summary JSON; nothing is written when absent. */
  summaryPath?: string;
  /** Called about once a second with a progress line. */
  onProgress?: (line: string) => void;
  /** Uncaught iteration errors (k6 prints them and goes on); default: ignored after counting. */
  onIterationError?: (err: unknown) => void;
}

/** Most distinct tokens signed for one run; VUs beyond share them round-robin. */
const maxSignedTokens = 1000;

async function signTokens(secret: string, count: number, topics: string[]): Promise<string[]> {
  const key = new TextEncoder().encode(secret);
  const tokens: string[] = [];
  for (let i = 1; i <= Math.min(count, maxSignedTokens); i++) {
    tokens.push(
      await new SignJWT({ sub: `loadtest-${i}`, join: topics, publish: topics })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt()
        .setExpirationTime('12h')
        .sign(key),
    );
  }
  return tokens;
}

/** Resolves a scenario by name; the error lists the names there are. */
export function findScenario(name: string): Scenario {
  const s = scenarios[name];
  if (!s) {
    throw new Error(
      `unknown scenario ${JSON.stringify(name)}: choose one of ${Object.keys(scenarios).join(', ')}`,
    );
  }
  return s;
}

function progressLine(
  name: string,
  elapsedMs: number,
  durationMs: number,
  registry: MetricRegistry,
  activeVus: number,
): string {
  const v = (metric: string, key: string): number =>
    registry.get(metric)?.values(elapsedMs, ['p(99)'])[key] ?? 0;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return (
    `${name} ${(elapsedMs / 1000).toFixed(0)}s/${(durationMs / 1000).toFixed(0)}s vus=${activeVus}` +
    ` connects=${v('ws_connect_success', 'passes')} (${pct(v('ws_connect_success', 'rate'))})` +
    ` joins=${v('phx_join_success', 'passes')} (${pct(v('phx_join_success', 'rate'))})` +
    ` sent=${v('ws_msgs_sent', 'count')} recv=${v('ws_msgs_received', 'count')}` +
    (registry.get('phx_delivery_latency') ? ` p99=${v('phx_delivery_latency', 'p(99)').toFixed(1)}ms` : '') +
    ` errors=${v('phx_errors', 'passes')}`
  );
}

/** Runs a scenario and resolves with its summary (`summary.ok` is false when a threshold failed). */
export async function runScenario(opts: RunScenarioOptions): Promise<LoadSummary> {
  const scenario = typeof opts.scenario === 'string' ? findScenario(opts.scenario) : opts.scenario;
  const env: Record<string, string> = { ...opts.env };
  if (opts.url !== undefined) env.URL = opts.url;
  if (opts.token !== undefined) env.TOKEN = opts.token;
  if (opts.vus !== undefined) env.VUS = String(opts.vus);
  if (opts.duration !== undefined) env.DURATION = opts.duration;
  if (opts.jwtSecret && !env.TOKEN && !env.TOKENS) {
    // The VU count is validated by readConfig below; a bad one signs a single token meanwhile.
    const vus = Number(env.VUS ?? scenario.defaults.VUS ?? 1);
    const count = Number.isSafeInteger(vus) && vus > 0 ? vus : 1;
    env.TOKENS = (await signTokens(opts.jwtSecret, count, opts.tokenTopics ?? ['room:*'])).join(',');
  }
  const config = readConfig(scenario.name, env, scenario.defaults);
  const options = buildOptions(scenario, config);

  const registry = new MetricRegistry();
  const vusGauge = registry.define('vus', 'gauge');
  const vusMax = registry.define('vus_max', 'gauge');
  const iterations = registry.define('iterations', 'counter');
  const iterationDuration = registry.define('iteration_duration', 'trend', 'time');
  const engine = createNodeEngine(registry, { ...scenario.defaults, ...env });
  const logic = scenario.init(engine, config);

  // Like k6: a threshold on a metric nobody defines, or that does not fit its type, stops the run early.
  const parsed = Object.entries(options.thresholds).map(([metric, exprs]) => {
    const sink = registry.get(metric);
    if (!sink)
      throw new ThresholdError(`threshold on ${metric}: scenario ${scenario.name} defines no such metric`);
    return { metric, list: exprs.map((e) => parseThreshold(e)), type: sink.type };
  });
  for (const p of parsed) for (const t of p.list) assertFits(p.metric, p.type, t);

  const started = Date.now();
  const deadline = started + config.durationMs;
  let active = 0;
  vusMax.add(config.vus);
  const progress = opts.onProgress
    ? setInterval(() => {
        vusGauge.add(active);
        opts.onProgress?.(
          progressLine(scenario.name, Date.now() - started, config.durationMs, registry, active),
        );
      }, 1000)
    : undefined;
  const vuLoop = async (vu: number) => {
    active++;
    vusGauge.add(active);
    for (let iteration = 0; Date.now() < deadline; iteration++) {
      const t0 = Date.now();
      try {
        await logic({ vu, iteration, remainingMs: () => deadline - Date.now() });
        iterations.add(1);
        iterationDuration.add(Date.now() - t0);
      } catch (err) {
        opts.onIterationError?.(err);
      }
      // An iteration that never waits on I/O must not starve the timers and sockets of the others.
      await yieldToEventLoop();
    }
    active--;
  };
  const all = Promise.all(Array.from({ length: config.vus }, (_, i) => vuLoop(i + 1)));
  let graceTimer: NodeJS.Timeout | undefined;
  const finishedInTime = await Promise.race([
    all.then(() => true),
    new Promise<boolean>(
      (r) => (graceTimer = setTimeout(() => r(false), config.durationMs + config.gracefulStopMs)),
    ),
  ]);
  clearTimeout(graceTimer);
  if (!finishedInTime) {
    // Graceful stop ran out: cut the sockets, which ends the pending operations of those iterations.
    for (const s of engine.openSockets) s.terminate();
    await Promise.race([all, new Promise((r) => setTimeout(r, 2000))]);
  }
  if (progress) clearInterval(progress);
  vusGauge.add(0);
  const testRunDurationMs = Date.now() - started;
  // A last line, like k6's final progress bar, so even a run shorter than a second shows one.
  opts.onProgress?.(progressLine(scenario.name, testRunDurationMs, config.durationMs, registry, active));

  const data: EndOfTestData = { metrics: {}, state: { testRunDurationMs } };
  for (const name of registry.names()) {
    const sink = registry.get(name);
    if (!sink) continue;
    const m: MetricSummary = {
      type: sink.type,
      contains: sink.contains,
      values: sink.values(testRunDurationMs, options.summaryTrendStats),
    };
    const p = parsed.find((x) => x.metric === name);
    if (p) {
      m.thresholds = {};
      for (const t of p.list) {
        m.thresholds[t.source] = {
          ok: evaluateThreshold(t, (x) => registry.aggregate(name, x, testRunDurationMs) ?? NaN).ok,
        };
      }
    }
    data.metrics[name] = m;
  }
  const summary = toLoadSummary(scenario.name, 'node', config, data);
  if (opts.summaryPath) {
    mkdirSync(dirname(opts.summaryPath), { recursive: true });
    writeFileSync(opts.summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  }
  return summary;
}
