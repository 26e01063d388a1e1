/**
 * Workload D's bookkeeping on the generator side, one mark per subscriber: when the server cut it,
 * when it was joined again, and when the last publication due before that moment reached it. A
 * subscriber has recovered when nothing of its topic is missing, repeated or out of order over the
 * whole step (SequenceTracker) -- then it was caught up at max(back, last of those arrivals). Pure
 * bookkeeping, no I/O.
 */
import type { SequenceVerdict } from './sequence.js';

export interface StormMark {
  /** When the server closed it (µs since the epoch), 0 while it was not cut. */
  cutAtUs: number;
  /** When it was joined again after the cut, 0 until then. */
  backAtUs: number;
  /** Arrival of the latest publication due before `backAtUs` (or arriving before it), 0 for none. */
  lastOwedAtUs: number;
  /** Connection attempts after the cut. */
  attempts: number;
}

export function newStormMark(): StormMark {
  return { cutAtUs: 0, backAtUs: 0, lastOwedAtUs: 0, attempts: 0 };
}

/** A delivery due at `intendedUs` arrived at `nowUs`: owed to the subscriber if due before it was back. */
export function noteStormDelivery(m: StormMark, intendedUs: number, nowUs: number): void {
  if (m.cutAtUs === 0) return;
  if (m.backAtUs === 0 || intendedUs < m.backAtUs) m.lastOwedAtUs = nowUs;
}

/** One subscriber's outcome: back (or not), recovered (or not) and when it was caught up. */
export interface StormOutcome {
  cut: boolean;
  backAtUs: number | null;
  /** Nothing lost, repeated or reordered over the step. */
  clean: boolean;
  /** max(back, last owed arrival) for a clean subscriber that was cut and is back, else null. */
  caughtUpAtUs: number | null;
}

export function stormOutcome(m: StormMark, v: SequenceVerdict): StormOutcome {
  const cut = m.cutAtUs > 0;
  const back = cut && m.backAtUs > 0 ? m.backAtUs : null;
  const clean = v.lost === 0 && v.duplicates === 0 && v.reordered === 0;
  return {
    cut,
    backAtUs: back,
    clean,
    caughtUpAtUs: clean && back !== null ? Math.max(back, m.lastOwedAtUs) : null,
  };
}

/** What one generator process saw of the storm (messages.ts carries it to the orchestrator). */
export interface StormShardReport {
  subscribers: number;
  cut: number;
  back: number;
  /** Rejoins the server answered as recovered / as not recovered (servers that say so). */
  recoveredAnswers: number;
  refusedAnswers: number;
  /** Clean subscribers (cut or not). */
  clean: number;
  /** Times (µs since the epoch) each cut subscriber was back, and each clean one caught up. */
  backAtUs: number[];
  caughtUpAtUs: number[];
  /** First few distinct reconnect failures, counted. */
  errors: string[];
}

/** Sums one process's subscribers into its report. */
export function stormShardReport(
  subs: { mark: StormMark; verdict: SequenceVerdict; recovered: boolean | null }[],
  errors: Map<string, number>,
): StormShardReport {
  const r: StormShardReport = {
    subscribers: subs.length,
    cut: 0,
    back: 0,
    recoveredAnswers: 0,
    refusedAnswers: 0,
    clean: 0,
    backAtUs: [],
    caughtUpAtUs: [],
    errors: [...errors].slice(0, 5).map(([m, n]) => `${n} x ${m}`),
  };
  for (const s of subs) {
    const o = stormOutcome(s.mark, s.verdict);
    if (o.clean) r.clean++;
    if (!o.cut) continue;
    r.cut++;
    if (o.backAtUs !== null) {
      r.back++;
      r.backAtUs.push(o.backAtUs);
      if (s.recovered === true) r.recoveredAnswers++;
      if (s.recovered === false) r.refusedAnswers++;
    }
    if (o.caughtUpAtUs !== null) r.caughtUpAtUs.push(o.caughtUpAtUs);
  }
  return r;
}
