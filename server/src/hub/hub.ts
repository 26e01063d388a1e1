import type { Broker } from '../broker/broker.js';
import type { PresenceTracker } from '../presence/presence.js';
import type { Serializer } from '../protocol/serializer.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';
import { BroadcastFrames } from './broadcast-frames.js';
import { recordDelivery } from './flush-scheduler.js';
import { SubscriberGroups } from './subscriber-groups.js';
import { binaryFrame, textFrame } from './ws-frame.js';

/** A local receiver of broadcasts: takes complete WebSocket frames (shared, never mutated). */
export interface Subscriber {
  /** The connection's wire format, fixed for its lifetime: broadcasts are encoded once per serializer. */
  readonly serializer: Serializer;
  enqueue(frame: Buffer): void;
  /**
   * Receives the broadcasts of a topic it subscribed to with `positions: true`: the frame carries
   * the history position in its ref slot (`"<epoch>:<offset>"`) when the publication has one, and
   * `epoch`/`offset` are given so a recovering join can drop what it already sent from history.
   * Unsequenced broadcasts (presence diffs, publishes while the sequencer is down) come here too,
   * as the plain frame with `epoch`/`offset` undefined.
   */
  enqueuePositioned?(topic: string, frame: Buffer, epoch?: string, offset?: number): void;
  /** The connection's id, unique over the cluster: a broadcast `except` it is not sent to it. */
  readonly socketId?: string;
  /**
   * Filters or rewrites a broadcast of an event it subscribed to intercept (see `subscribe`):
   * returns the payload to send (`payload` itself for the shared frame), or null to drop it.
   */
  handleOut?(topic: string, event: string, payload: unknown): unknown;
}

/** The history position of a publication, when it has one. */
export interface StreamPositionRef {
  epoch: string;
  offset: number;
}

/** The ref slot of a broadcast to opted-in (recovery) subscribers: `"<epoch>:<offset>"`. */
export function positionRef(epoch: string, offset: number): string {
  return `${epoch}:${offset}`;
}

interface TopicEntry {
  /** Ready subscribers, by serializer. */
  subscribers: SubscriberGroups;
  /** Subscribers (of `subscribers` or `pending`) that asked for positions; null while there are none. */
  positioned: Set<Subscriber> | null;
  /** Subscribers that intercept some events (their `handleOut` runs per broadcast); null while none. */
  intercepting: Map<Subscriber, ReadonlySet<string>> | null;
  /** Subscribers waiting for the broker subscription; they get no broadcast before it is ready. */
  pending: Set<Subscriber> | null;
  connecting: Promise<void> | null;
  connected: boolean;
}

type SentCounter = { inc(n?: number): void };

/**
 * Local subscriptions, topic -> subscribers, and fan-out. The node holds a broker subscription and
 * a presence watch for a topic only while it has local subscribers. Every broadcast is encoded
 * and framed (WebSocket bytes) once per serializer; subscribers share that Buffer.
 */
export class Hub {
  private readonly topics = new Map<string, TopicEntry>();
  private readonly broadcastsSent: SentCounter = metrics.messagesSent.labels('broadcast');
  private readonly undeliverable: SentCounter = metrics.broadcastsUndeliverable;

  constructor(
    private readonly broker: Broker,
    private readonly presence: PresenceTracker,
    private readonly logger: Logger,
  ) {}

  /**
   * Adds `sub` to `topic`; resolves once publications from other nodes can reach it. With
   * `positions`, its broadcasts go through `sub.enqueuePositioned` (see Subscriber). Broadcasts of
   * the events in `intercept` go through `sub.handleOut` before they are sent to it.
   */
  async subscribe(
    topic: string,
    sub: Subscriber,
    positions = false,
    intercept?: ReadonlySet<string>,
  ): Promise<void> {
    let entry = this.topics.get(topic);
    if (!entry) {
      entry = {
        subscribers: new SubscriberGroups(),
        positioned: null,
        intercepting: null,
        pending: null,
        connecting: null,
        connected: false,
      };
      this.topics.set(topic, entry);
    }
    if (positions && sub.enqueuePositioned) (entry.positioned ??= new Set()).add(sub);
    else if (entry.positioned?.delete(sub) && entry.positioned.size === 0) entry.positioned = null;
    if (intercept && intercept.size > 0 && sub.handleOut)
      (entry.intercepting ??= new Map()).set(sub, intercept);
    else this.forgetIntercept(entry, sub);
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
      this.dropEmptyPending(entry);
      if (entry.positioned?.delete(sub) && entry.positioned.size === 0) entry.positioned = null;
      this.forgetIntercept(entry, sub);
      this.release(topic, entry);
      throw err;
    }
    // Not in `pending` any more means it unsubscribed while we waited.
    if (entry.pending?.delete(sub)) entry.subscribers.add(sub);
    this.dropEmptyPending(entry);
  }

  /** An empty Set still holds its hash table (about 180 bytes); a topic lives on without it. */
  private dropEmptyPending(entry: TopicEntry): void {
    if (entry.pending?.size === 0) entry.pending = null;
  }

  /** Removes `sub` from `topic`; the last one out releases the broker subscription. Idempotent. */
  unsubscribe(topic: string, sub: Subscriber): void {
    const entry = this.topics.get(topic);
    if (!entry) return;
    if (!entry.subscribers.delete(sub) && !entry.pending?.delete(sub)) return;
    this.dropEmptyPending(entry);
    if (entry.positioned?.delete(sub) && entry.positioned.size === 0) entry.positioned = null;
    this.forgetIntercept(entry, sub);
    this.release(topic, entry);
  }

  private forgetIntercept(entry: TopicEntry, sub: Subscriber): void {
    if (entry.intercepting?.delete(sub) && entry.intercepting.size === 0) entry.intercepting = null;
  }

  /** Local subscribers of `topic` (ready ones). */
  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.subscribers.size ?? 0;
  }

  /** Local subscribers (ready ones) per topic that has any. */
  *topicCounts(): Generator<[string, number]> {
    for (const [topic, entry] of this.topics) {
      if (entry.subscribers.size > 0) yield [topic, entry.subscribers.size];
    }
  }

  /** Topics with local subscribers. */
  get topicCount(): number {
    return this.topics.size;
  }

  /**
   * Sends the broadcast `topic`/`event`/`payload` (join_ref and ref null) to every local subscriber;
   * returns how many. Subscribers that asked for positions get the ref `"<epoch>:<offset>"` when
   * `position` is given. Encoded once per serializer and ref, each frame shared by all who get it,
   * except for subscribers that intercept `event` and rewrite it (one encoding each). The
   * subscriber whose `socketId` is `except` is left out (broadcast_from).
   */
  broadcastJson(
    topic: string,
    event: string,
    payloadJson: string,
    publishedAt?: number,
    counter: SentCounter = this.broadcastsSent,
    position?: StreamPositionRef,
    except?: string,
  ): number {
    const entry = this.topics.get(topic);
    if (!entry || entry.subscribers.size === 0) return 0;
    const frames = new BroadcastFrames(
      (serializer, ref) => textFrame(serializer.encode(null, ref, topic, event, payloadJson)),
      position && entry.positioned ? positionRef(position.epoch, position.offset) : null,
      () => JSON.parse(payloadJson) as unknown,
      (serializer, ref, value) =>
        textFrame(serializer.encode(null, ref, topic, event, JSON.stringify(value))),
    );
    return this.fanOut(topic, event, entry, frames, position, publishedAt, counter, except);
  }

  /**
   * Sends a binary broadcast (V2 kind 2) to every local subscriber whose serializer has binary
   * frames; returns how many. The binary broadcast has no ref field, so positioned subscribers get
   * the same frame (the position still lets a recovering join drop duplicates).
   */
  broadcastBinary(
    topic: string,
    event: string,
    payload: Buffer,
    publishedAt?: number,
    position?: StreamPositionRef,
    except?: string,
  ): number {
    const entry = this.topics.get(topic);
    if (!entry || entry.subscribers.size === 0) return 0;
    const frames = new BroadcastFrames(
      (serializer) => {
        const bytes = serializer.encodeBinaryBroadcast(topic, event, payload);
        return bytes && binaryFrame(bytes);
      },
      null,
      () => payload,
      null,
    );
    return this.fanOut(topic, event, entry, frames, position, publishedAt, this.broadcastsSent, except);
  }

  private fanOut(
    topic: string,
    event: string,
    entry: TopicEntry,
    frames: BroadcastFrames,
    position: StreamPositionRef | undefined,
    publishedAt: number | undefined,
    counter: SentCounter,
    except: string | undefined,
  ): number {
    const { positioned, intercepting } = entry;
    let sent = 0;
    let skipped = 0;
    for (const group of entry.subscribers.groups) {
      if (group === undefined || group.size === 0) continue;
      const frame = frames.frameFor(group.serializer, false);
      if (positioned === null && intercepting === null && except === undefined) {
        // Counted first: an enqueue may close a slow consumer, which leaves the group meanwhile.
        if (frame === null) skipped += group.size;
        else sent += group.size;
        if (frame === null) continue;
        // Two loops, so the big rooms' loop only ever sees a Set.
        const members = group.members;
        if (members instanceof Set) for (const sub of members) sub.enqueue(frame);
        else for (const sub of members) sub.enqueue(frame);
        continue;
      }
      for (const sub of group.members) {
        if (except !== undefined && sub.socketId === except) continue;
        const withPosition = positioned?.has(sub) ?? false;
        let f = withPosition ? frames.frameFor(group.serializer, true) : frame;
        if (f === null) {
          skipped++;
          continue;
        }
        if (intercepting?.get(sub)?.has(event)) {
          f = frames.intercepted(sub, topic, event, group.serializer, withPosition, f);
          if (f === null) continue; // dropped by handleOut
        }
        if (withPosition) sub.enqueuePositioned!(topic, f, position?.epoch, position?.offset);
        else sub.enqueue(f);
        sent++;
      }
    }
    if (skipped > 0) this.undeliverable.inc(skipped);
    counter.inc(sent);
    if (publishedAt !== undefined) recordDelivery(publishedAt);
    return sent;
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
