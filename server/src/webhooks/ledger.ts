import { randomBytes } from 'node:crypto';

/**
 * The ledger decides, once for the whole cluster, when a channel becomes occupied or vacated and
 * when a presence key appears or disappears (docs/webhooks.md).
 */

/** What is counted: a topic's subscribers (`occupancy`, key '') or one presence key on a topic. */
export type SlotKind = 'occupancy' | 'member';

export interface Slot {
  kind: SlotKind;
  topic: string;
  /** The presence key (user id) of a `member` slot; '' for `occupancy`. */
  key: string;
}

/** A client push the node broadcast on a WEBHOOK_CLIENT_EVENTS topic (a `client_event` webhook). */
export interface ClientEvent {
  topic: string;
  /** The push's event name. */
  event: string;
  /** The pushing user (JWT `sub`). */
  sub: string;
  /** The broadcast payload as JSON text (already validated, depth-bounded). */
  payloadJson: string;
}

interface EntryBase {
  /** The ledger's handle for `done` (a Redis stream entry id, or a counter in memory). */
  handle: string;
  /** Unique per event: the webhook's idempotency key. */
  id: string;
  /** The node whose call made the event. */
  node: string;
  /** When it happened, ms since the epoch (the ledger's clock). */
  time: number;
}

/** A slot's transition: `<epoch>-1` up, `<epoch>-2` down. */
export interface SlotEntry extends EntryBase {
  slot: Slot;
  /** true: the slot went up (occupied, member_added); false: down. */
  up: boolean;
  client?: undefined;
}

/** A client push (`client_event`); its id is random. */
export interface ClientEntry extends EntryBase {
  client: ClientEvent;
}

/**
 * An event waiting in the ledger's outbox. Every field is fixed when the event is recorded, so
 * whichever node delivers it (and however often) sends the same body.
 */
export type OutboxEntry = SlotEntry | ClientEntry;

/**
 * Holders of slots across every node, their transitions, and an outbox of the events.
 *
 * Guarantee: each transition happens once for the whole cluster and is written to the outbox in
 * the same atomic step, as long as the ledger's store answers. A slot goes down only after it has
 * had no holder for the whole debounce, so a release followed by a hold within it records nothing.
 * The holders of a node that stops refreshing (killed) are released by the others' `tick` after
 * the node TTL. An outbox entry taken by a node stays the ledger's until `done`: if that node dies
 * first, another one takes it again (at least once; the id lets the receiver drop repeats).
 */
export interface WebhookLedger {
  start(): Promise<void>;
  /** This node holds `slot` under `ref` (a presence phx_ref; '' for occupancy). True: a transition was recorded. */
  hold(slot: Slot, ref: string): Promise<boolean>;
  /** Writes a client event to the outbox. True: written; false: the outbox was full (dropped, counted). */
  append(event: ClientEvent): Promise<boolean>;
  /** Undoes `hold`; idempotent. A slot left empty goes down at a later `tick` (or now when the debounce is 0). */
  release(slot: Slot, ref: string): Promise<boolean>;
  /** Settles slots whose debounce is over and releases the holders of dead nodes; bounded work per call. */
  tick(): Promise<void>;
  /** Up to `max` outbox entries for this node to deliver (new ones, and ones a dead node had taken). */
  take(max: number): Promise<OutboxEntry[]>;
  /** The entry was delivered (or given up on): it leaves the outbox. */
  done(entry: OutboxEntry): Promise<void>;
  /** Stops; entries taken and not done are left for another node (Redis) or lost (memory). */
  close(): Promise<void>;
}

/** A slot's identity as a string without ambiguity (topics and keys may contain anything). */
export function slotId(slot: Slot): string {
  return JSON.stringify([slot.kind, slot.topic, slot.key]);
}

/** Slots settled per `tick`, so one tick stays short whatever the backlog. */
export const SETTLE_BATCH = 256;

interface MemorySlot {
  slot: Slot;
  refs: Set<string>;
  epoch: string;
  /** When the last holder left; undefined while held. */
  emptySince: number | undefined;
}

/**
 * The ledger of a single node (BROKER=memory): every holder is on this node, so Maps are the
 * whole truth. Slots exist only while up: bounded by the topics and presence keys in use. The
 * outbox holds at most `outboxMax` events (WEBHOOK_QUEUE_MAX) and `outboxMaxBytes` of `entrySize`
 * (WEBHOOK_QUEUE_MAX_BYTES); one more is dropped and counted.
 */
export class MemoryLedger implements WebhookLedger {
  private readonly slots = new Map<string, MemorySlot>();
  /** Slots that emptied and wait for their debounce (insertion order is emptying order). */
  private readonly pending = new Set<string>();
  /** Bounded by outboxMax events and outboxMaxBytes (the sum of `entrySize`, kept in `bytes`). */
  private readonly outbox: OutboxEntry[] = [];
  private bytes = 0;
  private nextHandle = 0;

  constructor(
    private readonly opts: {
      debounceMs: number;
      outboxMax: number;
      outboxMaxBytes: number;
      nodeId: string;
      onDrop: (drop: Dropped) => void;
    },
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {}

  async hold(slot: Slot, ref: string): Promise<boolean> {
    const id = slotId(slot);
    const s = this.slots.get(id);
    if (s) {
      s.refs.add(ref);
      s.emptySince = undefined;
      this.pending.delete(id);
      return false;
    }
    const epoch = randomBytes(9).toString('base64url');
    this.slots.set(id, { slot, refs: new Set([ref]), epoch, emptySince: undefined });
    this.record(slot, true, `${epoch}-1`);
    return true;
  }

  async append(client: ClientEvent): Promise<boolean> {
    const entry = { ...this.base(clientEventId()), client };
    if (this.full(entry, { client })) return false;
    this.push(entry);
    return true;
  }

  async release(slot: Slot, ref: string): Promise<boolean> {
    const id = slotId(slot);
    const s = this.slots.get(id);
    if (!s || !s.refs.delete(ref) || s.refs.size > 0) return false;
    s.emptySince = this.now();
    this.pending.add(id);
    if (this.opts.debounceMs > 0) return false;
    this.down(id, s);
    return true;
  }

  async tick(): Promise<void> {
    const now = this.now();
    let settled = 0;
    for (const id of this.pending) {
      const s = this.slots.get(id);
      if (!s || s.emptySince === undefined) {
        this.pending.delete(id);
        continue;
      }
      if (now - s.emptySince < this.opts.debounceMs || settled++ >= SETTLE_BATCH) break;
      this.down(id, s);
    }
  }

  async take(max: number): Promise<OutboxEntry[]> {
    const out = this.outbox.splice(0, max);
    for (const e of out) this.bytes -= entrySize(e);
    return out;
  }

  async done(): Promise<void> {}

  async close(): Promise<void> {}

  private down(id: string, s: MemorySlot): void {
    this.slots.delete(id);
    this.pending.delete(id);
    this.record(s.slot, false, `${s.epoch}-2`);
  }

  private record(slot: Slot, up: boolean, id: string): void {
    const entry = { ...this.base(id), slot, up };
    if (!this.full(entry, { slot, up })) this.push(entry);
  }

  private push(entry: OutboxEntry): void {
    this.outbox.push(entry);
    this.bytes += entrySize(entry);
  }

  private full(entry: OutboxEntry, drop: Dropped): boolean {
    const fits =
      this.outbox.length < this.opts.outboxMax && this.bytes + entrySize(entry) <= this.opts.outboxMaxBytes;
    if (fits) return false;
    this.opts.onDrop(drop);
    return true;
  }

  private base(id: string): EntryBase {
    return { handle: String(this.nextHandle++), id, node: this.opts.nodeId, time: this.now() };
  }
}

/**
 * The bytes an outbox entry counts against WEBHOOK_QUEUE_MAX_BYTES: its slot id (a transition) or
 * topic + event + sub + payload JSON (a client event), in UTF-8. The Redis scripts count the same.
 */
export function entrySize(e: OutboxEntry): number {
  return e.client ? clientEventSize(e.client) : Buffer.byteLength(slotId(e.slot));
}

/** A client event's `entrySize`: topic + event + sub + payload JSON, in UTF-8. */
export function clientEventSize({ topic, event, sub, payloadJson }: ClientEvent): number {
  return [topic, event, sub, payloadJson].reduce((n, s) => n + Buffer.byteLength(s), 0);
}

/** What an event dropped because the outbox was full was about (for its count and log line). */
export type Dropped = { slot: Slot; up: boolean } | { client: ClientEvent };

/** A client event's id (its idempotency key): random, so unique across nodes and restarts. */
export function clientEventId(): string {
  return `c-${randomBytes(12).toString('base64url')}`;
}
