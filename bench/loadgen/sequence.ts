/**
 * One subscriber's account of one topic in one step: which sequence numbers arrived, which are
 * missing, which came twice and which came late (after a higher one). Pure bookkeeping, no I/O.
 *
 * Missing numbers are remembered (up to MAX_TRACKED_GAPS per subscriber, 8 bytes each in a Set) so a
 * late arrival is told from a duplicate. Past the bound, gaps are only counted; a number below the
 * highest seen that is not remembered is then counted as reordered while uncounted gaps remain.
 */

/** Bound on remembered missing numbers per subscriber (about 32 KiB at most). */
export const MAX_TRACKED_GAPS = 4096;

/** What one subscriber saw, once the step's publications are known. */
export interface SequenceVerdict {
  received: number;
  lost: number;
  duplicates: number;
  reordered: number;
}

export class SequenceTracker {
  private highest = -1;
  private gaps: Set<number> | null = null;
  private untrackedGaps = 0;
  received = 0;
  duplicates = 0;
  reordered = 0;

  /** Records delivery of sequence number `seq`. */
  see(seq: number): void {
    if (seq > this.highest) {
      for (let s = this.highest + 1; s < seq; s++) {
        this.gaps ??= new Set();
        if (this.gaps.size < MAX_TRACKED_GAPS) this.gaps.add(s);
        else {
          this.untrackedGaps += seq - s;
          break;
        }
      }
      this.highest = seq;
      this.received++;
    } else if (this.gaps?.delete(seq)) {
      this.reordered++;
      this.received++;
    } else if (this.untrackedGaps > 0) {
      this.untrackedGaps--;
      this.reordered++;
      this.received++;
    } else this.duplicates++;
  }

  /** The account once `published` numbers (0 .. published-1) were sent on the topic. */
  verdict(published: number): SequenceVerdict {
    const tail = Math.max(0, published - 1 - this.highest);
    return {
      received: this.received,
      lost: (this.gaps?.size ?? 0) + this.untrackedGaps + tail,
      duplicates: this.duplicates,
      reordered: this.reordered,
    };
  }
}
