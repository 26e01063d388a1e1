import type { Broker } from '../broker/broker.js';
import type { PresenceTracker } from '../presence/presence.js';
import { encodeBroadcast } from '../protocol/codec.js';
import { encodeServerBinary } from '../protocol/binary.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';
import { recordDelivery } from './flush-scheduler.js';
import { binaryFrame, textFrame } from './ws-frame.js';

/** A local receiver of broadcasts: takes complete WebSocket frames (shared, never mutated). */
export interface Subscriber {
  enqueue(frame: Buffer): void;
}

interface TopicEntry {
  subscribers: Set<Subscriber>;
  /** Subscribers waiting for the broker subscription; they get no broadcast before it is ready. */
  pending: Set<Subscriber> | null;
  connecting: Promise<void> | null;
  connected: boolean;
}

type SentCounter = { inc(n?: number): void };

/**
 * Local subscriptions, topic -> subscribers, and fan-out. The node holds a broker subscription and
 * a presence watch for a topic only while it has local subscribers. Every broadcast is encoded
 * once (JSON text) and framed once (WebSocket bytes); subscribers share that Buffer.
 */
export class Hub {
  private readonly topics = new Map<string, TopicEntry>();
  private readonly broadcastsSent: SentCounter = metrics.messagesSent.labels('broadcast');

  constructor(
    private readonly broker: Broker,
    private readonly presence: PresenceTracker,
    private readonly logger: Logger,
  ) {}

  /** Adds `sub` to `topic`; resolves once publications from other nodes can reach it. */
  async subscribe(topic: string, sub: Subscriber): Promise<void> {
    let entry = this.topics.get(topic);
    if (!entry) {
      entry = { subscribers: new Set(), pending: null, connecting: null, connected: false };
      this.topics.set(topic, entry);
    }
    if (entry.connected) {
      entry.subscribers.add(sub);
      return;
    }
    (entry.pending ??= new Set()).add(sub);
    entry.connecting ??= this.connect(topic, entry);
    try {
      await entry.connecting;
    } catch (err) {
      entry.pending?.delete(sub);
      this.release(topic, entry);
      throw err;
    }
    // Not in `pending` any more means it unsubscribed while we waited.
    if (entry.pending?.delete(sub)) entry.subscribers.add(sub);
  }

  /** Removes `sub` from `topic`; the last one out releases the broker subscription. Idempotent. */
  unsubscribe(topic: string, sub: Subscriber): void {
    const entry = this.topics.get(topic);
    if (!entry) return;
    if (!entry.subscribers.delete(sub) && !entry.pending?.delete(sub)) return;
    this.release(topic, entry);
  }

  /** Local subscribers of `topic` (ready ones). */
  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.subscribers.size ?? 0;
  }

  /** Topics with local subscribers. */
  get topicCount(): number {
    return this.topics.size;
  }

  /** Sends `[null,null,topic,event,payload]` to every local subscriber; returns how many. */
  broadcastJson(
    topic: string,
    event: string,
    payloadJson: string,
    publishedAt?: number,
    counter: SentCounter = this.broadcastsSent,
  ): number {
    const entry = this.topics.get(topic);
    if (!entry || entry.subscribers.size === 0) return 0;
    return this.fanOut(entry, textFrame(encodeBroadcast(topic, event, payloadJson)), publishedAt, counter);
  }

  /** Sends a binary broadcast frame (kind 2) to every local subscriber; returns how many. */
  broadcastBinary(topic: string, event: string, payload: Buffer, publishedAt?: number): number {
    const entry = this.topics.get(topic);
    if (!entry || entry.subscribers.size === 0) return 0;
    const frame = binaryFrame(encodeServerBinary({ kind: 'broadcast', topic, event, payload }));
    return this.fanOut(entry, frame, publishedAt, this.broadcastsSent);
  }

  private fanOut(
    entry: TopicEntry,
    frame: Buffer,
    publishedAt: number | undefined,
    counter: SentCounter,
  ): number {
    const n = entry.subscribers.size;
    for (const sub of entry.subscribers) sub.enqueue(frame);
    counter.inc(n);
    if (publishedAt !== undefined) recordDelivery(publishedAt);
    return n;
  }

  private async connect(topic: string, entry: TopicEntry): Promise<void> {
    try {
      await this.broker.subscribe(topic);
      await this.presence.watch(topic);
      if (this.topics.get(topic) !== entry) {
        // Everyone left while we subscribed: undo, unless a newer entry now owns the subscription.
        if (!this.topics.has(topic)) await this.unwatch(topic);
        return;
      }
      entry.connected = true;
    } catch (err) {
      metrics.brokerErrors.labels('subscribe').inc();
      this.logger.error({ err, topic }, 'broker subscribe failed');
      throw err;
    } finally {
      entry.connecting = null;
    }
  }

  private release(topic: string, entry: TopicEntry): void {
    if (entry.subscribers.size > 0 || (entry.pending?.size ?? 0) > 0) return;
    if (this.topics.get(topic) !== entry) return;
    this.topics.delete(topic);
    if (entry.connected) {
      this.unwatch(topic).catch((err: unknown) => {
        metrics.brokerErrors.labels('subscribe').inc();
        this.logger.warn({ err, topic }, 'broker unsubscribe failed');
      });
    }
  }

  private async unwatch(topic: string): Promise<void> {
    await this.broker.unsubscribe(topic);
    await this.presence.unwatch(topic);
  }
}
