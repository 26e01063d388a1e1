import { metrics } from '../telemetry/metrics.js';

/** Something with buffered outbound bytes to write (a session). */
export interface Flushable {
  flush(): void;
}

/**
 * Coalesces writes: sessions that received frames during this event-loop turn are flushed once,
 * in one setImmediate for the whole process, each with a single socket write. Broadcasts fanned
 * out in the same turn report their publish-to-write latency once per publication (not per
 * subscriber, which would cost more than the delivery itself), measured after the writes.
 */
let dirty: Flushable[] = [];
let spare: Flushable[] = [];
const publishedAts: number[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const list = dirty;
  dirty = spare;
  for (let i = 0; i < list.length; i++) list[i]!.flush();
  list.length = 0;
  spare = list;
  if (publishedAts.length > 0) {
    const now = Date.now();
    for (const t of publishedAts) metrics.deliveryLatency.observe(Math.max(0, now - t) / 1000);
    publishedAts.length = 0;
  }
}

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}

/** Flushes `target` at the end of this turn; call once per turn per target (when its queue goes non-empty). */
export function scheduleFlush(target: Flushable): void {
  dirty.push(target);
  schedule();
}

/** Records a publication fanned out this turn; its latency is observed after this turn's writes. */
export function recordDelivery(publishedAt: number): void {
  publishedAts.push(publishedAt);
  schedule();
}
