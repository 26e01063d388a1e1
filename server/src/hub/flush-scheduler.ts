import { performance } from 'node:perf_hooks';
import { metrics } from '../telemetry/metrics.js';

/** Something with buffered outbound bytes to write (a session). */
export interface Flushable {
  flush(): void;
}

/**
 * Coalesces writes: sessions that received frames are flushed in passes, each session with a
 * single socket write per pass. A pass yields to the event loop every `sliceMs`, so a big room
 * (10,000 sockets take ~150 ms of write syscalls on loopback) neither stalls heartbeats and joins
 * nor holds back the next publication: frames fanned out mid-pass join the queues of the sessions
 * still waiting in this pass, and go to the sessions already written in the next one. A delivery
 * thus waits less than one pass, not up to two.
 *
 * Publish-to-write latency is observed once per publication (not per subscriber, which would cost
 * more than the delivery itself) at the end of the pass that wrote its last subscriber.
 */
const sliceMs = 5;

let dirty: Flushable[] = [];
let pass: Flushable[] = [];
let next = 0;
/** Fan-outs since the current pass started, and those whose last writes the current pass makes. */
let recorded: number[] = [];
let observing: number[] = [];
let scheduled = false;

function runSlice(): void {
  scheduled = false;
  if (next >= pass.length) startPass();
  const started = performance.now();
  while (next < pass.length) {
    pass[next++]!.flush();
    if ((next & 63) === 0 && performance.now() - started >= sliceMs) break;
  }
  if (next < pass.length) schedule();
  else endPass();
}

function startPass(): void {
  [pass, dirty] = [dirty, pass];
  next = 0;
  [observing, recorded] = [recorded, observing];
}

function endPass(): void {
  pass.length = 0;
  next = 0;
  if (observing.length > 0) {
    const now = Date.now();
    for (const t of observing) metrics.deliveryLatency.observe(Math.max(0, now - t) / 1000);
    observing.length = 0;
  }
  if (dirty.length > 0 || recorded.length > 0) schedule();
}

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    setImmediate(runSlice);
  }
}

/** Flushes `target` in the next pass; call once per pass per target (when its queue goes non-empty). */
export function scheduleFlush(target: Flushable): void {
  dirty.push(target);
  schedule();
}

/** Records a publication fanned out now; its latency is observed once every subscriber was written. */
export function recordDelivery(publishedAt: number): void {
  recorded.push(publishedAt);
  schedule();
}
