/** Per-connection inbound rate: `perSecond` frames per second on average, bursts up to `burst`. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * - `ok`: the frame is accepted.
 * - `limited`: rejected; the client is told `rate limited`.
 * - `exceeded`: rejected, and the client kept going: close the connection (4029).
 */
export type RateVerdict = 'ok' | 'limited' | 'exceeded';

/**
 * A token bucket (capacity `burst`, refilled at `perSecond`) plus a leaky count of rejections
 * (drains at `perSecond`, limit `burst`): a client that keeps sending at more than about twice its
 * rate after being refused is `exceeded`; one that slows down is forgiven. Time is passed in
 * (ms), so the bucket is deterministic under test and needs no timer.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private strikes = 0;
  private lastStrike = 0;

  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.last = now;
  }

  take(now: number): RateVerdict {
    const { perSecond, burst } = this.limit;
    if (now > this.last) {
      this.tokens = Math.min(burst, this.tokens + ((now - this.last) * perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'ok';
    }
    this.strikes = Math.max(0, this.strikes - ((now - this.lastStrike) * perSecond) / 1000) + 1;
    this.lastStrike = now;
    return this.strikes > burst ? 'exceeded' : 'limited';
  }
}
