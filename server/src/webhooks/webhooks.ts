import type { PresenceDiff, PresenceMeta, PresenceState, PresenceTracker } from '../presence/presence.js';
import { metrics } from '../telemetry/metrics.js';
import type { WebhookEventName, WebhooksConfig } from './config.js';
import { WebhookDispatcher, type DispatchLogger } from './dispatcher.js';
import type { Slot, Transition, WebhookLedger } from './ledger.js';

/** How long a graceful stop waits for queued webhooks to be delivered. */
const CLOSE_BUDGET_MS = 3000;

/**
 * Webhooks of one node: holds slots in the ledger as the hub watches topics and sessions track
 * presence, turns the transitions this node wins into events, and hands them to the dispatcher.
 * Ledger calls are not awaited by the callers (a webhook never delays a join), but are sent in call
 * order on one connection, so a hold and the release after it reach Redis in that order.
 */
export class Webhooks {
  private readonly dispatcher: WebhookDispatcher;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** Ledger calls in flight, awaited by close() so a drain's releases are written before the disconnect. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly config: WebhooksConfig,
    private readonly ledger: WebhookLedger,
    private readonly nodeId: string,
    private readonly logger?: DispatchLogger,
  ) {
    this.dispatcher = new WebhookDispatcher(config, logger);
  }

  async start(): Promise<void> {
    await this.ledger.start();
    const every = Math.min(1000, Math.max(50, Math.round(this.config.vacateDebounceMs / 4)));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  /** True when `kind`'s events are wanted at all (else nothing is written to the ledger). */
  wants(kind: Slot['kind']): boolean {
    const [up, down] = EVENTS[kind];
    return this.config.events.has(up) || this.config.events.has(down);
  }

  hold(slot: Slot, ref: string): void {
    this.track('hold', this.ledger.hold(slot, ref));
  }

  release(slot: Slot, ref: string): void {
    this.track('release', this.ledger.release(slot, ref));
  }

  /** Waits for ledger calls in flight, stops ticking, gives queued events a short budget, disconnects. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight]);
    await this.dispatcher.close(CLOSE_BUDGET_MS);
    await this.ledger.close();
  }

  private track(op: 'hold' | 'release', call: Promise<Transition | null>): void {
    const p = call.then(
      (t) => {
        if (t) this.emit(t);
      },
      (err: unknown) => {
        metrics.webhookLedgerErrors.labels(op).inc();
        this.logger?.warn({ err: (err as Error).message, op }, 'webhooks: ledger call failed');
      },
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const t of await this.ledger.tick()) this.emit(t);
    } catch (err) {
      metrics.webhookLedgerErrors.labels('tick').inc();
      this.logger?.warn({ err: (err as Error).message }, 'webhooks: ledger tick failed');
    } finally {
      this.ticking = false;
    }
  }

  private emit(t: Transition): void {
    const [up, down] = EVENTS[t.slot.kind];
    const event = t.up ? up : down;
    if (!this.config.events.has(event)) return;
    const fields: Record<string, unknown> = { topic: t.slot.topic, node: this.nodeId };
    if (t.slot.kind === 'member') fields.key = t.slot.key;
    this.dispatcher.enqueue(t.id, event, fields);
  }
}

const EVENTS: Readonly<Record<Slot['kind'], readonly [WebhookEventName, WebhookEventName]>> = {
  occupancy: ['channel_occupied', 'channel_vacated'],
  member: ['member_added', 'member_removed'],
};

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
