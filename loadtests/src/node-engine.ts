/**
 * The engine on Node: ws for the browser-style WebSocket, MetricRegistry (hdr-histogram-js) for the
 * metrics, Node's timers. Its WebSocket also records the metrics k6/websockets records by itself
 * (ws_connecting, ws_sessions, ws_session_duration, ws_msgs_sent, ws_msgs_received), so summaries of
 * both engines carry the same names.
 */
import WebSocket from 'ws';
import type {
  BrowserWebSocket,
  Engine,
  SocketCloseEvent,
  SocketErrorEvent,
  SocketMessageEvent,
  WebSocketConstructor,
  WebSocketParams,
} from '../lib/engine.js';
import type { MetricRegistry } from './metric-sinks.js';

/** The Node engine plus what only the runner needs. */
export interface NodeEngine extends Engine {
  /** Open sockets; the runner terminates them when the graceful stop runs out. */
  readonly openSockets: ReadonlySet<{ terminate(): void }>;
}

/** Creates a Node engine recording into `registry`, reading `env`. */
export function createNodeEngine(
  registry: MetricRegistry,
  env: Readonly<Record<string, string | undefined>>,
): NodeEngine {
  const connecting = registry.define('ws_connecting', 'trend', 'time');
  const sessions = registry.define('ws_sessions', 'counter');
  const sessionDuration = registry.define('ws_session_duration', 'trend', 'time');
  const msgsSent = registry.define('ws_msgs_sent', 'counter');
  const msgsReceived = registry.define('ws_msgs_received', 'counter');
  const openSockets = new Set<InstrumentedWebSocket>();

  class InstrumentedWebSocket implements BrowserWebSocket {
    onopen: ((event?: unknown) => void) | null = null;
    onmessage: ((event: SocketMessageEvent) => void) | null = null;
    onclose: ((event?: SocketCloseEvent) => void) | null = null;
    onerror: ((event?: SocketErrorEvent) => void) | null = null;
    private readonly ws: WebSocket;

    constructor(url: string, _protocols?: null, params?: WebSocketParams | null) {
      const started = Date.now();
      let openedAt: number | undefined;
      this.ws = new WebSocket(url, { headers: params?.headers, perMessageDeflate: false });
      sessions.add(1);
      openSockets.add(this);
      this.ws.on('open', () => {
        openedAt = Date.now();
        connecting.add(openedAt - started);
        this.onopen?.();
      });
      this.ws.on('message', (data, isBinary) => {
        msgsReceived.add(1);
        this.onmessage?.({ data: isBinary ? data : data.toString() });
      });
      this.ws.on('error', (err) => this.onerror?.({ error: err.message, message: err.message }));
      this.ws.on('close', (code, reason) => {
        openSockets.delete(this);
        if (openedAt !== undefined) sessionDuration.add(Date.now() - openedAt);
        this.onclose?.({ code, reason: reason.toString() });
      });
    }

    get readyState(): number {
      return this.ws.readyState;
    }

    send(data: string): void {
      this.ws.send(data);
      msgsSent.add(1);
    }

    close(code?: number, reason?: string): void {
      this.ws.close(code, reason);
    }

    terminate(): void {
      this.ws.terminate();
    }
  }

  return {
    name: 'node',
    env,
    WebSocket: InstrumentedWebSocket satisfies WebSocketConstructor,
    openSockets,
    counter: (name, options) => {
      const sink = registry.define(name, 'counter', 'default', { peaks: options?.peaks === true });
      return { name, add: (v) => sink.add(v) };
    },
    rate: (name) => {
      const sink = registry.define(name, 'rate');
      return { name, add: (v) => sink.add(v) };
    },
    trend: (name, isTime) => {
      const sink = registry.define(name, 'trend', isTime ? 'time' : 'default');
      return { name, add: (v) => sink.add(v) };
    },
    gauge: (name) => {
      const sink = registry.define(name, 'gauge');
      return { name, add: (v) => sink.add(v) };
    },
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
    setInterval: (fn, ms) => setInterval(fn, ms),
    clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval> | undefined),
    now: () => Date.now(),
  };
}
