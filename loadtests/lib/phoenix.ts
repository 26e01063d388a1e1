/**
 * A small Phoenix Channels V2 client over the browser-style WebSocket of the engine. It speaks the
 * text serializer (`[join_ref, ref, topic, event, payload]`), heartbeats, matches replies to refs,
 * and records the protocol metrics every scenario shares, so scenario code only says what a user does.
 */
import {
  ReadyState,
  type BrowserWebSocket,
  type CounterMetric,
  type Engine,
  type RateMetric,
  type SocketCloseEvent,
  type TimerHandle,
  type TrendMetric,
} from './engine.js';

/** A Phoenix V2 frame: `[join_ref, ref, topic, event, payload]`. */
export type PhoenixFrame = [string | null, string | null, string, string, unknown];

/** A `phx_reply` payload. */
export interface PhoenixReply {
  status: string;
  response: unknown;
}

/** Why an operation failed: it timed out, the socket closed under it, or the server refused the upgrade. */
export class PhoenixError extends Error {
  constructor(
    readonly code: 'timeout' | 'closed' | 'connect_failed',
    message: string,
  ) {
    super(message);
    this.name = 'PhoenixError';
  }
}

/**
 * The protocol metrics. The `*_sent` counters match the server's
 * `switchboard_messages_received_total{kind}` and the `*_received` counters its
 * `switchboard_messages_sent_total{kind}` (kinds: join, leave, push, heartbeat / reply, broadcast, presence, push).
 */
export interface ProtocolMetrics {
  /** ws_connect_success: upgrades that opened, out of all attempts (SLO). */
  connectSuccess: RateMetric;
  /** phx_join_success: joins answered `ok`, out of all joins (SLO). */
  joinSuccess: RateMetric;
  /** phx_join_duration: phx_join sent to its reply, ms. */
  joinDuration: TrendMetric;
  /** phx_reply_duration: a push sent to its reply, ms. */
  replyDuration: TrendMetric;
  /** phx_errors: failed operations (see docs/loadtests.md), out of all operations (SLO). */
  errors: RateMetric;
  joinsSent: CounterMetric;
  leavesSent: CounterMetric;
  pushesSent: CounterMetric;
  heartbeatsSent: CounterMetric;
  repliesReceived: CounterMetric;
  broadcastsReceived: CounterMetric;
  presenceReceived: CounterMetric;
  pushesReceived: CounterMetric;
  /** phx_server_closes: sockets closed by the server or the network rather than by the client. */
  serverCloses: CounterMetric;
}

/** Creates the protocol metrics (in k6 this must run in the init context). */
export function createProtocolMetrics(engine: Engine): ProtocolMetrics {
  return {
    connectSuccess: engine.rate('ws_connect_success'),
    joinSuccess: engine.rate('phx_join_success'),
    joinDuration: engine.trend('phx_join_duration', true),
    replyDuration: engine.trend('phx_reply_duration', true),
    errors: engine.rate('phx_errors'),
    joinsSent: engine.counter('phx_joins_sent'),
    leavesSent: engine.counter('phx_leaves_sent'),
    pushesSent: engine.counter('phx_pushes_sent'),
    heartbeatsSent: engine.counter('phx_heartbeats_sent'),
    repliesReceived: engine.counter('phx_replies_received'),
    broadcastsReceived: engine.counter('phx_broadcasts_received'),
    presenceReceived: engine.counter('phx_presence_received'),
    pushesReceived: engine.counter('phx_pushes_received'),
    serverCloses: engine.counter('phx_server_closes'),
  };
}

/** Where and how to connect. */
export interface PhoenixConnectOptions {
  /** Socket endpoint, e.g. ws://127.0.0.1:4000/socket. */
  url: string;
  token: string;
  timeoutMs: number;
  heartbeatMs: number;
}

/** The URL the official client would open: `<endpoint>/websocket?vsn=2.0.0&token=...`. */
export function socketUrl(endpoint: string, token: string): string {
  // No URL class in k6's runtime: split off the query by hand so /websocket goes before it.
  const q = endpoint.indexOf('?');
  const base = (q < 0 ? endpoint : endpoint.slice(0, q)).replace(/\/+$/, '');
  const query = q < 0 ? '' : endpoint.slice(q + 1);
  const path = base.endsWith('/websocket') ? base : `${base}/websocket`;
  return `${path}?${query ? `${query}&` : ''}vsn=2.0.0&token=${encodeURIComponent(token)}`;
}

type Handler = (payload: unknown, frame: PhoenixFrame) => void;

interface Pending {
  kind: 'join' | 'leave' | 'push' | 'heartbeat';
  timer: TimerHandle;
  resolve(reply: PhoenixReply): void;
  reject(err: PhoenixError): void;
}

/** One Phoenix socket. Open it with `PhoenixSocket.open`; always `close()` it so k6 can end the iteration. */
export class PhoenixSocket {
  private nextRef = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly joinRefs = new Map<string, string>();
  private readonly handlers = new Map<string, Handler[]>();
  private heartbeat: TimerHandle | undefined;
  private closedByClient = false;
  private opened = false;
  private closeWaiters: ((ev: SocketCloseEvent) => void)[] = [];
  private closeEvent: SocketCloseEvent | undefined;
  /** Set while close() waits for owed replies; called when the last one arrives. */
  private drained: (() => void) | undefined;

  private constructor(
    private readonly engine: Engine,
    private readonly metrics: ProtocolMetrics,
    private readonly ws: BrowserWebSocket,
    private readonly opts: PhoenixConnectOptions,
  ) {}

  /** Opens a socket; resolves once it is open, rejects (and records the failure) otherwise. */
  static open(engine: Engine, metrics: ProtocolMetrics, opts: PhoenixConnectOptions): Promise<PhoenixSocket> {
    return new Promise((resolve, reject) => {
      const ws = new engine.WebSocket(socketUrl(opts.url, opts.token));
      const sock = new PhoenixSocket(engine, metrics, ws, opts);
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        engine.clearTimeout(timer);
        metrics.connectSuccess.add(false);
        metrics.errors.add(true);
        reject(new PhoenixError('connect_failed', `connect to ${opts.url} failed: ${why}`));
      };
      const timer = engine.setTimeout(() => {
        fail(`not open within ${opts.timeoutMs} ms`);
        sock.closedByClient = true;
        ws.close();
      }, opts.timeoutMs);
      ws.onopen = () => {
        if (settled) return;
        settled = true;
        engine.clearTimeout(timer);
        sock.opened = true;
        metrics.connectSuccess.add(true);
        metrics.errors.add(false);
        sock.heartbeat = engine.setInterval(() => sock.sendHeartbeat(), opts.heartbeatMs);
        resolve(sock);
      };
      ws.onerror = (ev) => fail(String(ev?.error ?? ev?.message ?? 'error'));
      ws.onmessage = (ev) => sock.receive(ev.data);
      ws.onclose = (ev) => {
        fail(`closed with ${ev?.code ?? 'no code'} before it opened`);
        sock.handleClose(ev ?? {});
      };
    });
  }

  /** True until the socket closes. */
  get isOpen(): boolean {
    return this.ws.readyState === ReadyState.OPEN;
  }

  /**
   * Calls `handler` for every `event` frame on `topic` of the current join (broadcasts and pushes).
   * Returns a function that removes the handler.
   */
  on(topic: string, event: string, handler: Handler): () => void {
    const key = `${topic}\u0000${event}`;
    const list = this.handlers.get(key) ?? [];
    list.push(handler);
    this.handlers.set(key, list);
    return () => {
      const current = this.handlers.get(key) ?? [];
      this.handlers.set(
        key,
        current.filter((h) => h !== handler),
      );
    };
  }

  /** Joins `topic`; resolves with the reply (ok or error), rejects on timeout or close. Records phx_join_*. */
  async join(topic: string, params: Record<string, unknown> = {}): Promise<PhoenixReply> {
    const ref = String(this.nextRef++);
    this.joinRefs.set(topic, ref);
    const started = this.engine.now();
    try {
      const reply = await this.request('join', [ref, ref, topic, 'phx_join', params]);
      this.metrics.joinSuccess.add(reply.status === 'ok');
      this.metrics.joinDuration.add(this.engine.now() - started);
      if (reply.status !== 'ok') this.joinRefs.delete(topic);
      return reply;
    } catch (err) {
      this.metrics.joinSuccess.add(false);
      this.joinRefs.delete(topic);
      throw err;
    }
  }

  /** Pushes `event` on a joined topic; resolves with the reply. Records phx_reply_duration and phx_errors. */
  async push(topic: string, event: string, payload: unknown): Promise<PhoenixReply> {
    const joinRef = this.joinRefs.get(topic) ?? null;
    const started = this.engine.now();
    const reply = await this.request('push', [joinRef, String(this.nextRef++), topic, event, payload]);
    this.metrics.replyDuration.add(this.engine.now() - started);
    return reply;
  }

  /** Leaves `topic`; resolves with the reply. */
  async leave(topic: string): Promise<PhoenixReply> {
    const joinRef = this.joinRefs.get(topic) ?? null;
    const reply = await this.request('leave', [joinRef, String(this.nextRef++), topic, 'phx_leave', {}]);
    this.joinRefs.delete(topic);
    return reply;
  }

  /** Resolves when the socket has closed (by either side). */
  closed(): Promise<SocketCloseEvent> {
    if (this.closeEvent) return Promise.resolve(this.closeEvent);
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /**
   * Closes gracefully: waits (at most the timeout) for the replies still owed, e.g. to a heartbeat
   * just sent, then closes with 1000 and waits (at most the timeout) for the close to complete.
   * Waiting for owed replies keeps what the client counts equal to what the server sent.
   */
  async close(): Promise<void> {
    if (this.closeEvent) return;
    this.stopHeartbeat();
    if (this.pending.size > 0 && this.isOpen) {
      let timer: TimerHandle | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        this.closed(),
        new Promise<void>((r) => (timer = this.engine.setTimeout(r, this.opts.timeoutMs))),
      ]);
      this.engine.clearTimeout(timer);
      this.drained = undefined;
      if (this.closeEvent) return;
    }
    this.closedByClient = true;
    const done = this.closed();
    if (this.ws.readyState === ReadyState.OPEN || this.ws.readyState === ReadyState.CONNECTING) {
      this.ws.close(1000, 'done');
    }
    let timer: TimerHandle | undefined;
    await Promise.race([
      done,
      new Promise<void>((r) => (timer = this.engine.setTimeout(r, this.opts.timeoutMs))),
    ]);
    this.engine.clearTimeout(timer);
  }

  private sendHeartbeat(): void {
    if (!this.isOpen) return;
    // A missed heartbeat reply is recorded as an error by request(); nothing else to do here.
    this.request('heartbeat', [null, String(this.nextRef++), 'phoenix', 'heartbeat', {}]).catch(() => {});
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) this.engine.clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private request(kind: Pending['kind'], frame: PhoenixFrame): Promise<PhoenixReply> {
    const ref = frame[1] ?? '';
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new PhoenixError('closed', `cannot send ${kind} on ${frame[2]}: the socket is closed`));
        return;
      }
      const timer = this.engine.setTimeout(() => {
        if (!this.pending.delete(ref)) return;
        if (this.pending.size === 0) this.drained?.();
        this.metrics.errors.add(true);
        reject(
          new PhoenixError('timeout', `no reply to ${kind} on ${frame[2]} within ${this.opts.timeoutMs} ms`),
        );
      }, this.opts.timeoutMs);
      this.pending.set(ref, { kind, timer, resolve, reject });
      this.ws.send(JSON.stringify(frame));
      this.countSent(kind);
    });
  }

  private countSent(kind: Pending['kind']): void {
    const m = this.metrics;
    ({ join: m.joinsSent, leave: m.leavesSent, push: m.pushesSent, heartbeat: m.heartbeatsSent })[kind].add(
      1,
    );
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return; // this client sends text frames, so the server answers in text
    let frame: PhoenixFrame;
    try {
      const parsed: unknown = JSON.parse(data);
      if (!Array.isArray(parsed) || parsed.length !== 5) throw new Error('not a 5-element array');
      frame = parsed as PhoenixFrame;
    } catch {
      this.metrics.errors.add(true);
      return;
    }
    const [joinRef, ref, topic, event, payload] = frame;
    if (event === 'phx_reply') {
      this.metrics.repliesReceived.add(1);
      const p = ref === null ? undefined : this.pending.get(ref);
      if (!p || ref === null) return;
      this.pending.delete(ref);
      this.engine.clearTimeout(p.timer);
      if (this.pending.size === 0) this.drained?.();
      const reply = (payload ?? {}) as PhoenixReply;
      // A refused join is not an error of the service (phx_join_success records it); other error replies are.
      this.metrics.errors.add(reply.status !== 'ok' && p.kind !== 'join');
      p.resolve(reply);
      return;
    }
    if (event === 'presence_state' || event === 'presence_diff') this.metrics.presenceReceived.add(1);
    else if (joinRef === null && ref === null) this.metrics.broadcastsReceived.add(1);
    else this.metrics.pushesReceived.add(1);
    if (event === 'phx_error') this.metrics.errors.add(true);
    // Like the official client: frames of an earlier join of the topic are dropped.
    if (joinRef !== null && this.joinRefs.get(topic) !== joinRef) return;
    for (const handler of this.handlers.get(`${topic}\u0000${event}`) ?? []) handler(payload, frame);
  }

  private handleClose(ev: SocketCloseEvent): void {
    if (this.closeEvent) return;
    this.closeEvent = ev;
    this.stopHeartbeat();
    for (const [ref, p] of this.pending) {
      this.pending.delete(ref);
      this.engine.clearTimeout(p.timer);
      p.reject(
        new PhoenixError('closed', `socket closed (${ev.code ?? 'no code'}) before the ${p.kind} reply`),
      );
    }
    // A close the client did not ask for (crash, slow-consumer close) is a failure; 1012 is the
    // documented drain of a deploy, after which clients reconnect, so it is counted but not a failure.
    if (this.opened && !this.closedByClient) {
      this.metrics.serverCloses.add(1);
      if (ev.code !== 1012) this.metrics.errors.add(true);
    }
    for (const w of this.closeWaiters.splice(0)) w(ev);
  }
}
