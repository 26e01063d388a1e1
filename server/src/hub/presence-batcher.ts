import { addMetas, emptyPresenceState, type PresenceDiff } from '../presence/presence.js';

/**
 * Merges presence diffs per topic and hands over one diff per topic every `intervalMs`, so a burst
 * of joins becomes one `presence_diff` broadcast. Joins and leaves are concatenated, never
 * cancelled: a client that got a `presence_state` holding a meta must still see that meta leave.
 */
export class PresenceBatcher {
  private pending = new Map<string, PresenceDiff>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly intervalMs: number,
    private readonly emit: (topic: string, diff: PresenceDiff) => void,
  ) {}

  add(topic: string, diff: PresenceDiff): void {
    let acc = this.pending.get(topic);
    if (!acc) {
      acc = { joins: emptyPresenceState(), leaves: emptyPresenceState() };
      this.pending.set(topic, acc);
    }
    // Keys are user ids (`constructor`, `__proto__`, ...): never index a plain object with them.
    for (const [key, { metas }] of Object.entries(diff.joins)) addMetas(acc.joins, key, metas);
    for (const [key, { metas }] of Object.entries(diff.leaves)) addMetas(acc.leaves, key, metas);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Emits everything pending now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = new Map();
    for (const [topic, diff] of batch) this.emit(topic, diff);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
