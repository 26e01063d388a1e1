/**
 * Runs a k6 bundle inside Node for a smoke test, since no k6 binary can be installed here: the
 * bundle's `k6/*` imports are pointed at small stand-ins built on the Node runner's pieces (ws for
 * k6/websockets, MetricRegistry for k6/metrics). It proves the bundle's wiring (ESM, __ENV config,
 * options, one VU iteration, handleSummary), not k6's JavaScript runtime.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import type { EndOfTestData, MetricSummary } from '../../lib/summary.js';
import { MetricRegistry } from '../../src/metric-sinks.js';

/** What the stand-in modules share with the test: the metrics and the VU identity k6 would set. */
export interface K6ShimState {
  registry: MetricRegistry;
  vu: { idInTest: number; iterationInScenario: number };
  scenario: { startTime: number };
}

declare global {
  var __k6shim: K6ShimState | undefined;
  var __ENV: Record<string, string>;
}

const shimSource: Record<string, string> = {
  'k6/metrics': `
    const reg = () => globalThis.__k6shim.registry;
    class Metric { constructor(name, type, isTime) { this.name = name; this.sink = reg().define(name, type, isTime ? 'time' : 'default'); } add(v) { this.sink.add(v); } }
    export class Counter extends Metric { constructor(n) { super(n, 'counter'); } }
    export class Rate extends Metric { constructor(n) { super(n, 'rate'); } }
    export class Gauge extends Metric { constructor(n) { super(n, 'gauge'); } }
    export class Trend extends Metric { constructor(n, isTime) { super(n, 'trend', isTime); } }`,
  'k6/timers': `
    export const setTimeout = (fn, ms) => globalThis.setTimeout(fn, ms);
    export const clearTimeout = (h) => globalThis.clearTimeout(h);
    export const setInterval = (fn, ms) => globalThis.setInterval(fn, ms);
    export const clearInterval = (h) => globalThis.clearInterval(h);`,
  'k6/execution': `
    export default {
      get vu() { return globalThis.__k6shim.vu; },
      get scenario() { return globalThis.__k6shim.scenario; },
    };`,
};

/** k6/websockets: `new WebSocket(url, protocols, params)` on ws (browser-style API, like k6's). */
export function k6WebSocket(url: string, _protocols?: null, params?: { headers?: Record<string, string> }) {
  return new WebSocket(url, { headers: params?.headers });
}

/** The exports of a k6 entry bundle. */
export interface K6Module {
  options: {
    scenarios: Record<string, unknown>;
    thresholds: Record<string, string[]>;
    summaryTrendStats: string[];
  };
  default: () => Promise<void>;
  handleSummary: (data: EndOfTestData) => Record<string, string>;
}

/** Imports `bundlePath` with `env` as `__ENV` and the k6 modules replaced by stand-ins. */
export async function importK6Bundle(bundlePath: string, env: Record<string, string>): Promise<K6Module> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-k6-shim-'));
  const urls: Record<string, string> = {};
  for (const [spec, src] of Object.entries(shimSource)) {
    const file = join(dir, `${spec.replace('/', '-')}.mjs`);
    writeFileSync(file, src);
    urls[spec] = pathToFileURL(file).href;
  }
  const wsFile = join(dir, 'k6-websockets.mjs');
  writeFileSync(
    wsFile,
    `export { k6WebSocket as WebSocket } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'k6-shim.ts')).href)};`,
  );
  urls['k6/websockets'] = pathToFileURL(wsFile).href;
  let code = readFileSync(bundlePath, 'utf8');
  code = code.replace(/from "(k6\/[\w]+)";/g, (m, spec: string) => {
    const url = urls[spec];
    if (!url) throw new Error(`no stand-in for ${spec}`);
    return `from ${JSON.stringify(url)};`;
  });
  const file = join(dir, 'bundle.mjs');
  writeFileSync(file, code);
  globalThis.__k6shim = {
    registry: new MetricRegistry(),
    vu: { idInTest: 1, iterationInScenario: 0 },
    scenario: { startTime: Date.now() },
  };
  globalThis.__ENV = env;
  return (await import(pathToFileURL(file).href)) as K6Module;
}

/** The end-of-test data k6 would hand handleSummary, from the stand-in metrics. */
export function endOfTestData(durationMs: number, trendStats: string[]): EndOfTestData {
  const reg = globalThis.__k6shim?.registry;
  if (!reg) throw new Error('importK6Bundle first');
  const metrics: Record<string, MetricSummary> = {};
  for (const name of reg.names()) {
    const sink = reg.get(name);
    if (sink)
      metrics[name] = {
        type: sink.type,
        contains: sink.contains,
        values: sink.values(durationMs, trendStats),
      };
  }
  return { metrics, state: { testRunDurationMs: durationMs } };
}
