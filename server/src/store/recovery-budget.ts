/**
 * The bytes of recovered publications one node holds at once (read from the cache or PostgreSQL,
 * not yet written to their clients): HISTORY_RECOVERY_NODE_MAX_BYTES. A recovery reserves the size
 * of its gap before reading it and gives it back once streamed, so N concurrent recovering joins
 * cost at most this much, however large each gap (each is also capped by HISTORY_RECOVERY_MAX_BYTES).
 */
export class RecoveryBudget {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes reserved right now. */
  get reserved(): number {
    return this.used;
  }

  /** Reserves `bytes`; returns the function that gives them back (once), or null when they do not fit. */
  take(bytes: number): (() => void) | null {
    if (bytes > 0 && this.used + bytes > this.maxBytes) return null;
    this.used += bytes;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used -= bytes;
    };
  }
}
