import type { SequencedPublication } from './sequencer.js';

/**
 * Durable history of sequenced publications (epoch and offset already assigned by a Sequencer).
 *
 * Guarantee: best effort, never in the way of delivery. `enqueue` never blocks or throws for I/O;
 * a write may be lost (queue full while the database is away, process killed before a flush), and
 * that is why recovery checks that the offsets it returns are contiguous instead of trusting the
 * store. Reads return what is there, ascending by offset.
 */
export interface HistoryStore {
  /** True when the store keeps history beyond the sequencer's cache (PostgreSQL). */
  readonly durable: boolean;
  /** Prepares the store (migrations when configured). Never rejects because the database is down. */
  start(): Promise<void>;
  /** Queues `pub` for writing; returns at once. Drops (and counts) it when the queue is full. */
  enqueue(pub: SequencedPublication): void;
  /** Up to `limit` publications of `topic` in `epoch` with offset > `afterOffset`, ascending. */
  read(topic: string, epoch: string, afterOffset: number, limit: number): Promise<SequencedPublication[]>;
  /**
   * Bytes (UTF-8 payload text plus event, as `publicationBytes` counts them) of the publications of
   * `topic` in `epoch` with afterOffset < offset <= throughOffset: what `read` of that range would
   * bring into memory, measured by the store without reading it.
   */
  bytes(topic: string, epoch: string, afterOffset: number, throughOffset: number): Promise<number>;
  /** Writes everything queued; resolves true when the queue emptied within `timeoutMs`, else false. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Stops background work and releases connections; does not flush (call flush first). */
  close(): Promise<void>;
}

/** The store when no DATABASE_URL is set: keeps nothing; the sequencer's ring/cache is all the history. */
export class NullHistoryStore implements HistoryStore {
  readonly durable = false;
  async start(): Promise<void> {}
  enqueue(): void {}
  async read(): Promise<SequencedPublication[]> {
    return [];
  }
  async bytes(): Promise<number> {
    return 0;
  }
  async flush(): Promise<boolean> {
    return true;
  }
  async close(): Promise<void> {}
}

/** The size recovery budgets a publication at: its payload text and its event, UTF-8. */
export function publicationBytes(pub: SequencedPublication): number {
  const text =
    pub.payloadJson ?? (typeof pub.payload === 'string' ? pub.payload : JSON.stringify(pub.payload ?? null));
  return Buffer.byteLength(text) + Buffer.byteLength(pub.event);
}
