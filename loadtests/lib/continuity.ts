/**
 * Per-client continuity of a sequenced stream (the rollout scenario): the publisher of a room numbers
 * its messages n = 1, 2, 3, ... and every client feeds the numbers it receives to a
 * ContinuityTracker, which counts duplicates (an n seen before), reorders (an n that arrives after a
 * later one) and, at the end, losses: the numbers below the highest seen that never arrived. A gap
 * is not a loss while it may still be filled (a late frame, a recovery after a rejoin); only
 * `finish()` makes it certain, after the publishers stopped and the messages in flight arrived.
 */

/** What one received number was. */
export type Arrival = 'in_order' | 'duplicate' | 'reordered' | 'ahead';

/** The counts of one client. */
export interface ContinuityCounts {
  /** Distinct numbers received. */
  delivered: number;
  duplicated: number;
  reordered: number;
  /** Numbers missing below the highest received (certain only after `finish()`). */
  missing: number;
  /** The highest number received (the floor when none was). */
  highest: number;
}

export class ContinuityTracker {
  /** Every n <= floor has been received (or precedes this client's start). */
  private floor: number;
  /** Numbers above the floor that were received. */
  private readonly above = new Set<number>();
  private highestSeen: number;
  private delivered = 0;
  private duplicated = 0;
  private reordered = 0;
  private started: boolean;

  /**
   * `from`: the last number this client is not owed (0 when it joined before the first publish).
   * Undefined: the client joined while messages flowed; the first number it receives sets the start.
   */
  constructor(from?: number) {
    this.started = from !== undefined;
    this.floor = from ?? 0;
    this.highestSeen = this.floor;
  }

  /** Records one received number and says what it was. */
  receive(n: number): Arrival {
    if (!this.started) {
      this.started = true;
      this.floor = n - 1;
      this.highestSeen = this.floor;
    }
    if (n <= this.floor || this.above.has(n)) {
      this.duplicated++;
      return 'duplicate';
    }
    this.delivered++;
    const late = n < this.highestSeen;
    const ahead = n > this.highestSeen + 1;
    this.above.add(n);
    this.highestSeen = Math.max(this.highestSeen, n);
    while (this.above.delete(this.floor + 1)) this.floor++;
    if (late) {
      this.reordered++;
      return 'reordered';
    }
    return ahead ? 'ahead' : 'in_order';
  }

  /** The counts so far (`missing` is a gap that may still be filled). */
  counts(): ContinuityCounts {
    return {
      delivered: this.delivered,
      duplicated: this.duplicated,
      reordered: this.reordered,
      missing: this.highestSeen - this.floor - this.above.size,
      highest: this.highestSeen,
    };
  }
}

/** The position a broadcast to an opted-in join carries in its ref slot: "<epoch>:<offset>". */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/** The official phoenix client's reconnect delays (ms) after the n-th failed try; 5 s after that. */
export const phoenixReconnectSteps = [10, 50, 100, 150, 200, 250, 500, 1000, 2000];

/** phoenix's `reconnectAfterMs(tries)` (tries from 1): 10 ms for the first retry. */
export function phoenixReconnectAfterMs(tries: number): number {
  return phoenixReconnectSteps[tries - 1] ?? 5000;
}
