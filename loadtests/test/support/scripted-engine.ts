/**
 * An Engine (loadtests/lib/engine.ts) whose clock, timers and sockets the test drives: time moves
 * only when `advance` is called, and each socket opens, answers, errs or closes when the test says
 * so. It makes the timeout, error and close paths of the Phoenix client reachable exactly and at once;
 * the real server (unit-phoenix.test.ts) covers what a server does.
 */
import {
  ReadyState,
  type BrowserWebSocket,
  type Engine,
  type SocketCloseEvent,
  type SocketErrorEvent,
  type SocketMessageEvent,
} from '../../lib/engine.js';

interface Timer {
  id: number;
  at: number;
  every: number | undefined;
  fn: () => void;
}

/** One socket the code under test opened: what it sent and closed, and the events the test fires. */
export class ScriptedSocket implements BrowserWebSocket {
  readyState: number = ReadyState.CONNECTING;
  readonly sent: unknown[][] = [];
  readonly closeCalls: [number | undefined, string | undefined][] = [];
  onopen: ((event?: unknown) => void) | null = null;
  onmessage: ((event: SocketMessageEvent) => void) | null = null;
  onclose: ((event?: SocketCloseEvent) => void) | null = null;
  onerror: ((event?: SocketErrorEvent) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as unknown[]);
  }
  close(code?: number, reason?: string): void {
    this.closeCalls.push([code, reason]);
    this.readyState = ReadyState.CLOSING;
  }
  open(): void {
    this.readyState = ReadyState.OPEN;
    this.onopen?.();
  }
  message(data: unknown): void {
    this.onmessage?.({ data });
  }
  /** A frame as the server would send it. */
  frame(...frame: unknown[]): void {
    this.message(JSON.stringify(frame));
  }
  error(ev?: SocketErrorEvent): void {
    this.onerror?.(ev);
  }
  closeNow(ev?: SocketCloseEvent): void {
    this.readyState = ReadyState.CLOSED;
    this.onclose?.(ev);
  }
}

/** The values each metric was given, in order, by name. */
export type Recorded = Map<string, unknown[]>;

export interface ScriptedEngine extends Engine {
  readonly sockets: ScriptedSocket[];
  readonly recorded: Recorded;
  /** Values recorded under `name` (empty if none). */
  values(name: string): unknown[];
  /** Moves the clock by `ms`, running every timer that falls due, in order. */
  advance(ms: number): Promise<void>;
  /** Timers set and not yet cleared or run. */
  readonly timerCount: number;
}

/** Lets promise callbacks run (async functions resume across several microtask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

export function createScriptedEngine(start = 1_000_000): ScriptedEngine {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, Timer>();
  const sockets: ScriptedSocket[] = [];
  const recorded: Recorded = new Map();
  const metric = (name: string) => ({
    name,
    add(value: unknown) {
      const list = recorded.get(name) ?? [];
      list.push(value);
      recorded.set(name, list);
    },
  });
  const set = (fn: () => void, ms: number, every: number | undefined) => {
    const id = nextId++;
    timers.set(id, { id, at: now + Math.max(0, ms), every, fn });
    return id;
  };
  const clear = (handle: unknown) => {
    timers.delete(handle as number);
  };
  return {
    name: 'node',
    env: {},
    WebSocket: class extends ScriptedSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    },
    counter: metric,
    rate: metric,
    trend: metric,
    gauge: metric,
    setTimeout: (fn, ms) => set(fn, ms, undefined),
    clearTimeout: clear,
    setInterval: (fn, ms) => set(fn, ms, ms),
    clearInterval: clear,
    now: () => now,
    sockets,
    recorded,
    values: (name) => recorded.get(name) ?? [],
    get timerCount() {
      return timers.size;
    },
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        await settle();
        let due: Timer | undefined;
        for (const t of timers.values()) if (t.at <= end && (!due || t.at < due.at)) due = t;
        if (!due) break;
        now = due.at;
        if (due.every === undefined) timers.delete(due.id);
        else due.at += due.every;
        due.fn();
      }
      now = end;
      await settle();
    },
  };
}
