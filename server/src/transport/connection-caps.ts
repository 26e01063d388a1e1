/**
 * Counts open connections per key (a JWT `sub`, a client address) against a cap. Keys come from
 * outside, so they live in a Map; an entry exists only while its count is above zero, so the map
 * holds at most one entry per open connection (bounded by the connections themselves).
 */
export class ConnectionCounter {
  private readonly counts = new Map<string, number>();

  constructor(readonly cap: number) {}

  /** Takes a slot for `key`; false (and nothing taken) when `key` already holds `cap`. */
  tryAcquire(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= this.cap) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.counts.get(key) ?? 0;
    if (n <= 1) this.counts.delete(key);
    else this.counts.set(key, n - 1);
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Keys currently holding a slot. */
  get size(): number {
    return this.counts.size;
  }
}
