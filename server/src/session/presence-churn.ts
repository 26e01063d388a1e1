/**
 * Presence joins per topic on this node: a token bucket per topic (capacity `burst`, refilled at
 * `perSecond`). Every tracked join is broadcast as a `presence_diff` to every member of the room
 * (and its leave later too), so join/leave churn costs bytes out in proportion to the room's size;
 * this caps that churn whoever causes it. Topics come from clients: they key a Map.
 *
 * Memory: one entry per topic that had a presence join within the last `burst / perSecond`
 * seconds (a refilled bucket is the same as none, so the sweep drops it).
 */
export class PresenceChurnLimiter {
  private readonly buckets = new Map<string, { tokens: number; last: number }>();
  private lastSweep = 0;
  private readonly refillMs: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) {
      throw new RangeError('PresenceChurnLimiter: perSecond must be > 0 and burst >= 1');
    }
    this.refillMs = (burst / perSecond) * 1000;
  }

  /** True when a presence join on `topic` may proceed now (and counts it). */
  take(topic: string, now: number): boolean {
    if (now - this.lastSweep >= this.refillMs) this.sweep(now);
    let b = this.buckets.get(topic);
    if (!b) this.buckets.set(topic, (b = { tokens: this.burst, last: now }));
    else if (now > b.last) {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.last) * this.perSecond) / 1000);
      b.last = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Topics with a bucket (for tests). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [topic, b] of this.buckets) if (now - b.last >= this.refillMs) this.buckets.delete(topic);
  }
}
