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

/**
 * A slot went up (first holder anywhere) or down (no holder for the debounce). `id` is the same
 * whichever node reports it, and no two transitions share one: it is the webhook's idempotency key.
 */
export interface Transition {
  slot: Slot;
  up: boolean;
  id: string;
}

/**
 * Holders of slots across every node, and their transitions.
 *
 * Guarantee: each transition is reported by exactly one call on one node (the one whose call made
 * it happen), as long as the ledger's store answers. A slot goes down only after it has had no
 * holder for the whole debounce, so a release followed by a hold within it reports nothing. The
 * holders of a node that stops refreshing (killed) are released by the others' `tick` after the
 * node TTL; their transitions are reported by whichever node's tick made them.
 */
export interface WebhookLedger {
  start(): Promise<void>;
  /** This node holds `slot` under `ref` (a presence phx_ref; '' for occupancy). */
  hold(slot: Slot, ref: string): Promise<Transition | null>;
  /** Undoes `hold`; idempotent. A slot left empty goes down at a later `tick` (or now when the debounce is 0). */
  release(slot: Slot, ref: string): Promise<Transition | null>;
  /** Settles slots whose debounce is over and releases the holders of dead nodes; bounded work per call. */
  tick(): Promise<Transition[]>;
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
 * whole truth. Slots exist only while up: bounded by the topics and presence keys in use.
 */
export class MemoryLedger implements WebhookLedger {
  private readonly slots = new Map<string, MemorySlot>();
  /** Slots that emptied and wait for their debounce (insertion order is emptying order). */
  private readonly pending = new Set<string>();

  constructor(
    private readonly debounceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {}

  async hold(slot: Slot, ref: string): Promise<Transition | null> {
    const id = slotId(slot);
    const s = this.slots.get(id);
    if (s) {
      s.refs.add(ref);
      s.emptySince = undefined;
      this.pending.delete(id);
      return null;
    }
    const epoch = randomBytes(9).toString('base64url');
    this.slots.set(id, { slot, refs: new Set([ref]), epoch, emptySince: undefined });
    return { slot, up: true, id: `${epoch}-1` };
  }

  async release(slot: Slot, ref: string): Promise<Transition | null> {
    const id = slotId(slot);
    const s = this.slots.get(id);
    if (!s || !s.refs.delete(ref) || s.refs.size > 0) return null;
    s.emptySince = this.now();
    this.pending.add(id);
    return this.debounceMs === 0 ? this.down(id, s) : null;
  }

  async tick(): Promise<Transition[]> {
    const out: Transition[] = [];
    const now = this.now();
    for (const id of this.pending) {
      const s = this.slots.get(id);
      if (!s || s.emptySince === undefined) {
        this.pending.delete(id);
        continue;
      }
      if (now - s.emptySince < this.debounceMs) break;
      out.push(this.down(id, s));
      if (out.length >= SETTLE_BATCH) break;
    }
    return out;
  }

  async close(): Promise<void> {}

  private down(id: string, s: MemorySlot): Transition {
    this.slots.delete(id);
    this.pending.delete(id);
    return { slot: s.slot, up: false, id: `${s.epoch}-2` };
  }
}
