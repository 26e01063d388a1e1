// What the deploy's rolling update did to the load test's clients: when it ran within the load window,
// and the rollout scenario's own counts (messages lost, duplicated, reordered; reconnect time; the
// reconnect herd's connects per second). Printed at the end of the rehearsal and in decision.json.
import type { MetricSummary } from '../../../loadtests/lib/summary.js';
import { keyValueTable, type SummarySection } from '../../../pipeline/src/summary/index.js';
import type { RollRecord } from './rolling-update.js';

/** The figures of one rolling update under load. */
export interface RolloutFigures {
  replaced: number;
  /** ms after the load test started: when the roll began and ended. */
  startedAtMs: number;
  endedAtMs: number;
  loadMs: number;
  /** Both ends inside the load test. */
  insideLoad: boolean;
  lost?: number;
  duplicated?: number;
  reordered?: number;
  reconnects?: number;
  reconnectP50Ms?: number;
  reconnectP99Ms?: number;
  connectsPeak1s?: number;
  connectsPeak100ms?: number;
  /** The reconnect herd alone (connects after a server close). */
  reconnectsPeak1s?: number;
  reconnectsPeak100ms?: number;
  recoveryRate?: number;
}

/** The roll against the load test's span and its clients' counts. */
export function rolloutFigures(
  roll: RollRecord,
  load: { startedAt: string; durationMs: number },
  metrics: Record<string, MetricSummary> | undefined,
): RolloutFigures {
  // The load's own end (its clients' last second), not when a later step noticed it.
  const start = Date.parse(load.startedAt);
  const end = start + load.durationMs;
  const v = (metric: string, key: string) => metrics?.[metric]?.values[key];
  const figures: RolloutFigures = {
    replaced: roll.from.length,
    startedAtMs: roll.startedAt - start,
    endedAtMs: roll.endedAt - start,
    loadMs: end - start,
    insideLoad: roll.startedAt >= start && roll.endedAt <= end,
  };
  const set = (key: keyof RolloutFigures, value: number | undefined) => {
    if (value !== undefined) (figures as unknown as Record<string, number>)[key] = value;
  };
  set('lost', v('continuity_messages_lost', 'count'));
  set('duplicated', v('continuity_messages_duplicated', 'count'));
  set('reordered', v('continuity_messages_reordered', 'count'));
  set('reconnects', v('continuity_reconnect_time', 'count'));
  set('reconnectP50Ms', v('continuity_reconnect_time', 'med'));
  set('reconnectP99Ms', v('continuity_reconnect_time', 'p(99)'));
  set('connectsPeak1s', v('continuity_connects', 'peak_1s'));
  set('connectsPeak100ms', v('continuity_connects', 'peak_100ms'));
  set('reconnectsPeak1s', v('continuity_reconnects', 'peak_1s'));
  set('reconnectsPeak100ms', v('continuity_reconnects', 'peak_100ms'));
  set('recoveryRate', v('continuity_recovery_success', 'rate'));
  return figures;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const n = (x: number | undefined, unit = '') => (x === undefined ? 'not counted' : `${Math.round(x)}${unit}`);

/** One line, e.g. for the end of the rehearsal's output. */
export function rolloutLine(f: RolloutFigures): string {
  return (
    `rolling update: ${f.replaced} pods replaced ${s(f.startedAtMs)}-${s(f.endedAtMs)} into the ${s(f.loadMs)} load ` +
    `(${f.insideLoad ? 'inside' : 'NOT inside'} the load window); per client: messages lost ${n(f.lost)}, ` +
    `duplicated ${n(f.duplicated)}, reordered ${n(f.reordered)}; reconnect p99 ${n(f.reconnectP99Ms, ' ms')} ` +
    `(${n(f.reconnects)} reconnects); connects peak ${n(f.connectsPeak1s, '/s')} (${n(f.connectsPeak100ms)} in 100 ms), ` +
    `reconnects alone ${n(f.reconnectsPeak1s, '/s')} (${n(f.reconnectsPeak100ms)} in 100 ms)`
  );
}

/** The job-summary section. */
export function rolloutSection(f: RolloutFigures): SummarySection {
  return {
    heading: `Rolling update under load: ${f.replaced} pods replaced`,
    level: 2,
    table: keyValueTable([
      ['When', `${s(f.startedAtMs)} to ${s(f.endedAtMs)} into the load test (${s(f.loadMs)})`],
      ['Inside the load window', f.insideLoad ? 'yes' : 'NO'],
      ['Messages lost (all clients)', n(f.lost)],
      ['Messages duplicated', n(f.duplicated)],
      ['Messages out of order', n(f.reordered)],
      [
        'Reconnects, p50 / p99',
        `${n(f.reconnects)}, ${n(f.reconnectP50Ms, ' ms')} / ${n(f.reconnectP99Ms, ' ms')}`,
      ],
      [
        'Connects peak',
        `${n(f.connectsPeak1s, '/s')} (1 s buckets), ${n(f.connectsPeak100ms)} in any 100 ms`,
      ],
      [
        'Reconnects peak (the herd alone)',
        `${n(f.reconnectsPeak1s, '/s')} (1 s buckets), ${n(f.reconnectsPeak100ms)} in any 100 ms`,
      ],
      [
        'Rejoins recovered',
        f.recoveryRate === undefined ? 'not counted' : `${(f.recoveryRate * 100).toFixed(1)} %`,
      ],
    ]),
  };
}
