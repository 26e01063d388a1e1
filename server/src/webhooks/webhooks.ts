import type { PresenceDiff, PresenceMeta, PresenceState, PresenceTracker } from '../presence/presence.js';
import { metrics } from '../telemetry/metrics.js';
import { TopicMatcher } from '../auth/topic-pattern.js';
import type { DeliveredEventName, WebhookEventName, WebhooksConfig } from './config.js';
import { WebhookDispatcher, type DispatchLogger } from './dispatcher.js';
import {
  clientEventSize,
  entrySize,
  type ClientEvent,
  type OutboxEntry,
  type Slot,
  type WebhookLedger,
} from './ledger.js';

/** How long a graceful stop waits for queued webhooks to be delivered (the rest stays in the ledger). */
const CLOSE_BUDGET_MS = 3000;
/** Outbox entries taken per round, so one round stays short whatever the backlog. */
const TAKE_BATCH = 256;

const EVENTS: Readonly<Record<Slot['kind'], readonly [WebhookEventName, WebhookEventName]>> = {
  occupancy: ['channel_occupied', 'channel_vacated'],
  member: ['member_added', 'member_removed'],
};

/** The event a transition of `kind` (up or down) is. */
export function eventOf(kind: Slot['kind'], up: boolean): WebhookEventName {
  return EVENTS[kind][up ? 0 : 1];
}

/** The event an outbox entry is. */
export function eventOfEntry(e: OutboxEntry): DeliveredEventName {
  return e.client ? 'client_event' : eventOf(e.slot.kind, e.up);
}

/**
 * The JSON body of an outbox entry: only fields fixed when it was recorded, so every attempt from
 * every node sends the same bytes. A client event's payload is spliced in as the JSON text the
 * client sent (never parsed and re-encoded).
 */
export function webhookBody(e: OutboxEntry): string {
  if (e.client) {
    const { topic, event, sub, payloadJson } = e.client;
    const head = JSON.stringify({ version: 1, id: e.id, event: 'client_event', topic, sub });
    const push = `{"event":${JSON.stringify(event)},"payload":${payloadJson}}`;
    const tail = JSON.stringify({ node: e.node, time: new Date(e.time).toISOString() });
    return `${head.slice(0, -1)},"push":${push},${tail.slice(1)}`;
  }
  return JSON.stringify({
    version: 1,
    id: e.id,
    event: eventOf(e.slot.kind, e.up),
    topic: e.slot.topic,
    ...(e.slot.kind === 'member' ? { key: e.slot.key } : {}),
    node: e.node,
    time: new Date(e.time).toISOString(),
  });
}

/**
 * Webhooks of one node: holds slots in the ledger as the hub watches topics and sessions track
 * presence, and delivers the ledger's outbox through the dispatcher (whichever node recorded an
 * event). Ledger calls are not awaited by the callers (a webhook never delays a join), but are sent
 * in call order on one connection, so a hold and the release after it reach Redis in that order.
 */
export class Webhooks {
  private readonly dispatcher: WebhookDispatcher;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private closed = false;
  private lastErrorLog = 0;
  /** Ledger calls in flight, awaited by close() so a drain's releases are written before the disconnect. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /**
   * Client events on their way to the ledger (their payloads wait in memory while Redis is slow):
   * bounded by WEBHOOK_QUEUE_MAX_BYTES, the same sizes as the outbox counts; one more is dropped.
   */
  private appendingBytes = 0;

  constructor(
    private readonly config: WebhooksConfig,
    private readonly ledger: WebhookLedger,
    nodeId: string,
    private readonly logger?: DispatchLogger,
  ) {
    this.dispatcher = new WebhookDispatcher(config, nodeId, logger);
  }

  async start(): Promise<void> {
    await this.ledger.start();
    const every = Math.min(250, Math.max(50, Math.round(this.config.vacateDebounceMs / 4)));
    this.timer = setInterval(() => this.round(true), every);
    this.timer.unref();
  }

  /** True when `kind`'s events are wanted at all (else nothing is written to the ledger). */
  wants(kind: Slot['kind']): boolean {
    return EVENTS[kind].some((e) => this.config.events.has(e));
  }

  hold(slot: Slot, ref: string): void {
    this.call('hold', this.ledger.hold(slot, ref));
  }

  release(slot: Slot, ref: string): void {
    this.call('release', this.ledger.release(slot, ref));
  }

  /** A client push broadcast on a WEBHOOK_CLIENT_EVENTS topic: one `client_event`, never awaited. */
  clientEvent(event: ClientEvent): void {
    const size = clientEventSize(event);
    if (this.appendingBytes + size > this.config.queueMaxBytes) {
      metrics.webhooks.labels('client_event', 'dropped').inc();
      return;
    }
    this.appendingBytes += size;
    const p = this.ledger.append(event);
    void p.then(
      () => (this.appendingBytes -= size),
      () => (this.appendingBytes -= size),
    );
    this.call('append', p);
  }

  /** Waits for ledger calls in flight, stops, gives queued events a short budget, disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight]);
    await this.dispatcher.close(CLOSE_BUDGET_MS);
    await this.ledger.close();
  }

  private call(op: 'hold' | 'release' | 'append', p: Promise<boolean>): void {
    const done = p.then(
      (recorded) => {
        // This node made an event: deliver it now rather than at the next round.
        if (recorded) this.round(false);
      },
      (err: unknown) => this.fail(op, err),
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  /** Settles due slots (`settle`), then takes what the queue has room for; one round at a time. */
  private round(settle: boolean): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.again = false;
    void this.run(settle).finally(() => {
      this.running = false;
      if (this.again) this.round(false);
    });
  }

  private async run(settle: boolean): Promise<void> {
    try {
      if (settle) await this.ledger.tick();
      const entries = await this.ledger.take(Math.min(TAKE_BATCH, this.dispatcher.room()));
      for (const e of entries) this.deliver(e);
    } catch (err) {
      this.fail('tick', err);
    }
  }

  /** Counts a failed ledger call; logs at most one line per 10 s (a Redis outage fails every join). */
  private fail(op: 'hold' | 'release' | 'append' | 'tick' | 'done', err: unknown): void {
    metrics.webhookLedgerErrors.labels(op).inc();
    const now = Date.now();
    if (now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    this.logger?.warn({ err: (err as Error).message, op }, 'webhooks: ledger call failed');
  }

  private deliver(e: OutboxEntry): void {
    const event = eventOfEntry(e);
    const finish = () => {
      this.ledger.done(e).catch((err: unknown) => this.fail('done', err));
    };
    // Client events are written only while WEBHOOK_CLIENT_EVENTS asks for them.
    if (event !== 'client_event' && !this.config.events.has(event)) return finish();
    const queued = this.dispatcher.enqueue(e.id, event, webhookBody(e), entrySize(e), (outcome) => {
      // Handed over at shutdown: left in the ledger, another node delivers it.
      if (outcome !== 'handed_over') finish();
    });
    if (!queued) finish();
  }
}

/** Told of every client push a node broadcast; sends those on `topics` as `client_event`. */
export type ClientEventSink = (event: ClientEvent) => void;

/** The sink for WEBHOOK_CLIENT_EVENTS (`topics`), or undefined when it names none (the default: off). */
export function clientEventSink(webhooks: Webhooks, topics: readonly string[]): ClientEventSink | undefined {
  if (topics.length === 0) return undefined;
  const matcher = new TopicMatcher(topics);
  return (event) => {
    if (matcher.matches(event.topic)) webhooks.clientEvent(event);
  };
}

/**
 * The node's presence tracker with webhooks attached: the hub watches a topic exactly while this
 * node has subscribers on it (occupancy), and sessions track and untrack presence keys (members).
 */
export class WebhookPresence implements PresenceTracker {
  constructor(
    private readonly inner: PresenceTracker,
    private readonly webhooks: Webhooks,
  ) {}

  async start(): Promise<void> {
    await this.inner.start();
    await this.webhooks.start();
  }

  async track(topic: string, key: string, meta: PresenceMeta): Promise<void> {
    if (this.webhooks.wants('member')) this.webhooks.hold({ kind: 'member', topic, key }, meta.phx_ref);
    await this.inner.track(topic, key, meta);
  }

  async untrack(topic: string, key: string, phxRef: string): Promise<void> {
    if (this.webhooks.wants('member')) this.webhooks.release({ kind: 'member', topic, key }, phxRef);
    await this.inner.untrack(topic, key, phxRef);
  }

  list(topic: string): Promise<PresenceState> {
    return this.inner.list(topic);
  }

  onDiff(listener: (topic: string, diff: PresenceDiff) => void): void {
    this.inner.onDiff(listener);
  }

  async watch(topic: string): Promise<void> {
    await this.inner.watch(topic);
    if (this.webhooks.wants('occupancy')) this.webhooks.hold({ kind: 'occupancy', topic, key: '' }, '');
  }

  async unwatch(topic: string): Promise<void> {
    if (this.webhooks.wants('occupancy')) this.webhooks.release({ kind: 'occupancy', topic, key: '' }, '');
    await this.inner.unwatch(topic);
  }

  async close(): Promise<void> {
    await this.webhooks.close();
    await this.inner.close();
  }
}
