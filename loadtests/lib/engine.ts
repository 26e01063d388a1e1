/**
 * The seam between the virtual-user logic and whatever runs it. Scenario code sees only this module's
 * types, so the same code runs in k6 (lib/k6/engine.ts: k6/metrics, k6/timers, k6/websockets, __ENV)
 * and in Node (src/node-engine.ts: ws, hdr-histogram-js). Nothing here may import Node or k6 modules.
 */

/** What a `message` event carries: a string for text frames in both k6/websockets and ws. */
export interface SocketMessageEvent {
  data: unknown;
}

/** ws passes `code` and `reason`; k6/websockets may pass nothing, so both are optional. */
export interface SocketCloseEvent {
  code?: number;
  reason?: string;
}

/** k6 puts the text in `error`, ws in `message`. */
export interface SocketErrorEvent {
  error?: unknown;
  message?: string;
}

/** The browser-style WebSocket subset that both k6/websockets and ws implement. */
export interface BrowserWebSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event?: unknown) => void) | null;
  onmessage: ((event: SocketMessageEvent) => void) | null;
  onclose: ((event?: SocketCloseEvent) => void) | null;
  onerror: ((event?: SocketErrorEvent) => void) | null;
}

/** Connection parameters k6/websockets takes as its third argument (`headers`, metric `tags`). */
export interface WebSocketParams {
  headers?: Record<string, string>;
  tags?: Record<string, string>;
}

/** `new WebSocket(url, null, params)`: the constructor shape of k6/websockets (protocols are ignored there). */
export type WebSocketConstructor = new (
  url: string,
  protocols?: null,
  params?: WebSocketParams | null,
) => BrowserWebSocket;

/** WebSocket readyState values (the same numbers in every implementation). */
export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** A k6 Counter: `add(n)` adds to a cumulative sum. */
export interface CounterMetric {
  readonly name: string;
  add(value: number, tags?: Record<string, string>): void;
}

/**
 * Options of a Counter. `peaks`: the Node runner also reports the busiest second (`peak_1s`, aligned
 * 1 s buckets) and the busiest 100 ms (`peak_100ms`, any 100 ms window) of the counter; k6's
 * end-of-test data has no timestamps, so k6 ignores it (its time-series outputs have them).
 */
export interface CounterOptions {
  peaks?: boolean;
}

/** A k6 Rate: `add(true)` is a pass, `add(false)` a fail; the value is passes / (passes + fails). */
export interface RateMetric {
  readonly name: string;
  add(value: boolean, tags?: Record<string, string>): void;
}

/** A k6 Trend: a distribution of samples (milliseconds when created with `isTime`). */
export interface TrendMetric {
  readonly name: string;
  add(value: number, tags?: Record<string, string>): void;
}

/** A k6 Gauge: the last value, with the min and max seen. */
export interface GaugeMetric {
  readonly name: string;
  add(value: number, tags?: Record<string, string>): void;
}

/** An opaque timer handle: a number in k6, a Timeout object in Node. */
export type TimerHandle = unknown;

/** Everything a scenario may use from the engine that runs it. */
export interface Engine {
  readonly name: 'k6' | 'node';
  /** `__ENV` in k6; the runner's resolved environment in Node. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly WebSocket: WebSocketConstructor;
  counter(name: string, options?: CounterOptions): CounterMetric;
  rate(name: string): RateMetric;
  trend(name: string, isTime?: boolean): TrendMetric;
  gauge(name: string): GaugeMetric;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
  /** Wall-clock milliseconds since the epoch (publish timestamps are compared across processes). */
  now(): number;
}

/** What one iteration of one virtual user knows about itself. */
export interface VuContext {
  /** 1-based VU number, unique in the test (k6: `exec.vu.idInTest`). */
  readonly vu: number;
  /** 0-based iteration number of this VU in the scenario. */
  readonly iteration: number;
  /** Milliseconds left of the scenario's duration; iterations plan their sessions to end by then. */
  remainingMs(): number;
}

/** Resolves after `ms` milliseconds on the engine's timers. */
export function sleep(engine: Engine, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) {
      resolve();
      return;
    }
    engine.setTimeout(resolve, ms);
  });
}
